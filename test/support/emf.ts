/**
 * Reading CloudWatch Embedded Metric Format lines in tests: each line is checked against the parts of the
 * specification CloudWatch enforces (a document it cannot read is dropped without a word), then the
 * points are summed by metric and dimension values so a test can compare them with what it sent.
 */
export interface EmfPoint {
  namespace: string;
  timestamp: number;
  metric: string;
  unit: string | undefined;
  dimensions: Record<string, string>;
  value: number;
}

/** Parses one line as an EMF document and returns its points; throws, naming the fault, if it is not one. */
export function parseEmf(line: string): EmfPoint[] {
  const doc = JSON.parse(line) as Record<string, unknown>;
  const aws = doc._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (!aws || typeof aws !== 'object') throw new Error(`no _aws object: ${line}`);
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp) || aws.Timestamp < 1e12) throw new Error(`_aws.Timestamp is not epoch milliseconds: ${line}`);
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) throw new Error(`_aws.CloudWatchMetrics is not a non-empty array: ${line}`);
  const points: EmfPoint[] = [];
  for (const directive of aws.CloudWatchMetrics as Record<string, unknown>[]) {
    const { Namespace, Dimensions, Metrics } = directive;
    if (typeof Namespace !== 'string' || Namespace.length === 0) throw new Error(`Namespace missing: ${line}`);
    if (!Array.isArray(Dimensions) || !Dimensions.every((set) => Array.isArray(set) && set.length <= 30 && set.every((d) => typeof d === 'string'))) throw new Error(`Dimensions is not an array of name arrays: ${line}`);
    if (!Array.isArray(Metrics) || Metrics.length === 0 || Metrics.length > 100) throw new Error(`Metrics is not an array of 1 to 100 entries: ${line}`);
    for (const set of Dimensions as string[][]) {
      const dimensions: Record<string, string> = {};
      for (const name of set) {
        const value = doc[name];
        if (typeof value !== 'string' || value.length === 0) throw new Error(`dimension ${name} has no string value at the top level: ${line}`);
        dimensions[name] = value;
      }
      for (const metric of Metrics as { Name?: unknown; Unit?: unknown }[]) {
        if (typeof metric.Name !== 'string') throw new Error(`a metric has no Name: ${line}`);
        const value = doc[metric.Name];
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`metric ${metric.Name} has no number value at the top level: ${line}`);
        points.push({ namespace: Namespace, timestamp: aws.Timestamp, metric: metric.Name, unit: typeof metric.Unit === 'string' ? metric.Unit : undefined, dimensions, value });
      }
    }
  }
  return points;
}

/** Lines that carry an `_aws` key, parsed and checked; other lines (plain JSON logs) are left out. */
export function emfPoints(lines: readonly string[]): EmfPoint[] {
  return lines.filter((line) => line.includes('"_aws"')).flatMap(parseEmf);
}

/** Sum of a metric's values over the points whose dimensions include those of `where`. */
export function total(points: readonly EmfPoint[], metric: string, where: Record<string, string> = {}): number {
  return points
    .filter((p) => p.metric === metric && Object.entries(where).every(([k, v]) => p.dimensions[k] === v))
    .reduce((sum, p) => sum + p.value, 0);
}
