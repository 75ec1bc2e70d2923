/**
 * Collects the JSON lines a bundled Lambda prints (Powertools logs go to stdout, errors and warnings to
 * stderr, EMF metrics to stdout), so tests can assert on them and the test output stays readable. Other
 * output passes through.
 */
export interface CapturedOutput {
  lines: Record<string, unknown>[];
  /** EMF documents' metric values, summed by name (only those captured after line `from`). */
  metrics(from?: number): Record<string, number>;
  logs(level?: string, from?: number): Record<string, unknown>[];
  restore(): void;
}

/** Powertools' notice when an invocation adds no metric (concurrent test invocations share one Metrics). */
const NOTICES = [/^No application metrics to publish/];

function intercept(stream: NodeJS.WriteStream, lines: Record<string, unknown>[]): () => void {
  const original = stream.write.bind(stream);
  let partial = '';
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = partial + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    const passThrough: string[] = [];
    for (const line of parts) {
      if (NOTICES.some((notice) => notice.test(line))) continue;
      try {
        const value = JSON.parse(line);
        if (value && typeof value === 'object') lines.push(value);
        else passThrough.push(line);
      } catch {
        passThrough.push(line);
      }
    }
    if (passThrough.length > 0) return (original as (c: string, ...r: unknown[]) => boolean)(`${passThrough.join('\n')}\n`, ...rest);
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write;
  return () => {
    stream.write = original as typeof stream.write;
  };
}

export function captureJsonOutput(): CapturedOutput {
  const lines: Record<string, unknown>[] = [];
  const restores = [intercept(process.stdout, lines), intercept(process.stderr, lines)];
  return {
    lines,
    metrics(from = 0) {
      const sums: Record<string, number> = {};
      for (const line of lines.slice(from)) {
        const aws = line._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined;
        for (const group of aws?.CloudWatchMetrics ?? []) {
          for (const { Name } of group.Metrics) {
            const value = line[Name];
            const values = Array.isArray(value) ? value : [value];
            sums[Name] = (sums[Name] ?? 0) + values.reduce((a: number, b) => a + Number(b), 0);
          }
        }
      }
      return sums;
    },
    logs(level, from = 0) {
      return lines.slice(from).filter((l) => typeof l.level === 'string' && (!level || l.level === level));
    },
    restore() {
      for (const restore of restores) restore();
    },
  };
}
