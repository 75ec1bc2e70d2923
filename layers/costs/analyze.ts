/**
 * Reads every input once: lines → records → attribution → usage. Malformed lines are counted by reason,
 * with the first few kept as examples (file and line number), and skipped. Memory does not grow with the
 * input: sizes are looked up as lines are read, routes are memoised in a bounded cache, and what grows
 * with distinct values (days, unknown digests) is capped or counted approximately (./usage.ts).
 *
 * Optionally also the blob buckets' S3 server access logs: the bytes each bucket sent straight to a
 * client, measured, in place of the blob sizes the CloudFront log's 307s imply.
 */
import { AccessLogParser, type LogRecord, type MalformedReason } from './access-log';
import { type Attribution, attribute, clientClassOf, type Route, type Router } from './attribute';
import { type LogInput, type LogLine, readLineBatches } from './log-files';
import { MAX_OBJECT_BYTES, parseS3LogLine, type S3MalformedReason } from './s3-access-log';
import { digestOfKey, NO_SIZES, type SizeLookup } from './sizes';
import { UsageTally } from './usage';

export interface Malformed<R extends string = MalformedReason> {
  lines: number;
  reasons: Partial<Record<R, number>>;
  /** The first few, to find them: "logs/E2X.2026-11-27-16.abcd.gz:17". */
  examples: { where: string; reason: R; detail: string }[];
}

export interface S3LogSummary {
  files: number;
  /** Non-empty lines. */
  lines: number;
  /** Blob GETs a bucket answered to a client (not to CloudFront): the measured downloads. */
  downloads: number;
  bytes: number;
  /** Lines read but not downloads, by why: "REST.PUT.OBJECT", "via CloudFront", "other bucket", ... */
  ignored: Record<string, number>;
  malformed: Malformed<S3MalformedReason>;
}

export interface Analysis {
  tally: UsageTally;
  files: number;
  /** Non-empty, non-comment lines. */
  lines: number;
  records: number;
  malformed: Malformed;
  s3?: S3LogSummary;
}

export interface S3LogsOptions {
  inputs: readonly LogInput[];
  /** Bucket name → region, for every bucket of the stage. */
  bucketRegions: Readonly<Record<string, string>>;
  /** Key prefix of the blobs ("containers/images/"). */
  blobPrefix: string;
}

export interface AnalyzeOptions {
  sizes?: SizeLookup;
  s3Logs?: S3LogsOptions;
  /** Sees every record with its route and attribution, and the download's bytes when known (plan-regions). */
  observe?: (record: LogRecord, route: Route, attribution: Attribution, bytes: number | undefined) => void;
}

const MAX_EXAMPLES = 5;
/** Room for a response's headers on top of the largest blob. */
const HEADER_ALLOWANCE = 64 * 1024;

function noteMalformed<R extends string>(malformed: Malformed<R>, where: string, reason: R, detail: string) {
  malformed.lines++;
  malformed.reasons[reason] = (malformed.reasons[reason] ?? 0) + 1;
  if (malformed.examples.length < MAX_EXAMPLES) malformed.examples.push({ where, reason, detail });
}

export async function analyzeLogs(inputs: readonly LogInput[], router: Router, options: AnalyzeOptions = {}): Promise<Analysis> {
  const sizes = options.sizes ?? NO_SIZES;
  const tally = new UsageTally({ sizes, measuredRegional: options.s3Logs !== undefined });
  const malformed: Malformed = { lines: 0, reasons: {}, examples: [] };
  // Nothing CloudFront sends can be larger than the largest blob (with its headers); without a catalogue,
  // than the largest object S3 can hold.
  const maxScBytes = sizes.size > 0 ? sizes.maxBytes + HEADER_ALLOWANCE : MAX_OBJECT_BYTES;
  let lines = 0;
  let records = 0;
  for (const input of inputs) {
    const parser = new AccessLogParser();
    // A line's name ("file:17") is built only for a line that is skipped, not for every line.
    const where = (line: LogLine) => `${input.name}:${line.number}`;
    for await (const batch of readLineBatches(input)) for (const line of batch) {
      const outcome = parser.line(line.text, line.tooLong);
      if (outcome.kind === 'skip') continue;
      lines++;
      if (outcome.kind === 'malformed') {
        noteMalformed(malformed, where(line), outcome.reason, outcome.detail);
        continue;
      }
      const record = outcome.record;
      if (record.scBytes !== undefined && record.scBytes > maxScBytes) {
        noteMalformed(malformed, where(line), 'implausible-bytes', `sc-bytes ${record.scBytes}, more than the largest blob (${sizes.size > 0 ? sizes.maxBytes : MAX_OBJECT_BYTES} bytes) could take`);
        continue;
      }
      if (!tally.acceptsDate(record.timestamp)) {
        noteMalformed(malformed, where(line), 'too-many-days', `${record.timestamp}: the log spans more days than a report keeps`);
        continue;
      }
      records++;
      const route = router.route(record);
      const attribution = attribute(record, route);
      const bytes = tally.add(record, attribution);
      options.observe?.(record, route, attribution, bytes);
    }
  }
  const analysis: Analysis = { tally, files: inputs.length, lines, records, malformed };
  if (options.s3Logs) analysis.s3 = await analyzeS3Logs(options.s3Logs, router, tally, sizes);
  return analysis;
}

async function analyzeS3Logs(options: S3LogsOptions, router: Router, tally: UsageTally, sizes: SizeLookup): Promise<S3LogSummary> {
  const summary: S3LogSummary = { files: options.inputs.length, lines: 0, downloads: 0, bytes: 0, ignored: {}, malformed: { lines: 0, reasons: {}, examples: [] } };
  const ignore = (why: string) => (summary.ignored[why] = (summary.ignored[why] ?? 0) + 1);
  for (const input of options.inputs) {
    for await (const batch of readLineBatches(input)) for (const line of batch) {
      const outcome = parseS3LogLine(line.text, line.tooLong);
      if (outcome.kind === 'skip') continue;
      summary.lines++;
      const where = `${input.name}:${line.number}`;
      if (outcome.kind === 'malformed') {
        noteMalformed(summary.malformed, where, outcome.reason, outcome.detail);
        continue;
      }
      const r = outcome.record;
      const region = options.bucketRegions[r.bucket];
      if (region === undefined) {
        ignore('another bucket');
        continue;
      }
      if (r.operation !== 'REST.GET.OBJECT') {
        ignore(r.operation);
        continue;
      }
      const digest = r.key.startsWith(options.blobPrefix) ? digestOfKey(r.key) : undefined;
      if (!digest) {
        ignore('not a blob key');
        continue;
      }
      if (r.status !== 200 && r.status !== 206) {
        ignore(`status ${r.status}`);
        continue;
      }
      // What a bucket sends CloudFront (a miss) is free and already in the CloudFront path.
      const place = router.place(r.remoteIp);
      if (r.userAgent === 'Amazon CloudFront' || (place?.cloud === 'aws' && place.region === 'GLOBAL')) {
        ignore('via CloudFront');
        continue;
      }
      const known = sizes.get(digest);
      if (known !== undefined && r.bytesSent > known) {
        noteMalformed(summary.malformed, where, 'implausible-bytes', `${r.bytesSent} bytes sent of ${digest}, a blob of ${known}`);
        continue;
      }
      if (!tally.acceptsDate(r.timestamp)) {
        ignore('beyond the days a report keeps');
        continue;
      }
      const same = place?.cloud === 'aws' && place.region === region;
      tally.addMeasured(same ? 'regionalSameRegion' : 'regionalCrossRegion', clientClassOf(place), r.bytesSent, r.timestamp);
      summary.downloads++;
      summary.bytes += r.bytesSent;
    }
  }
  return summary;
}


