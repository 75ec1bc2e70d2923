/**
 * Reads every input once: lines → records → attribution → usage. Malformed lines are counted by reason,
 * with the first few kept as examples (file and line number), and skipped.
 */
import { AccessLogParser, type MalformedReason } from './access-log';
import { attribute, type Router } from './attribute';
import { type LogInput, readLines } from './log-files';
import { UsageTally } from './usage';

export interface Malformed {
  lines: number;
  reasons: Partial<Record<MalformedReason, number>>;
  /** The first few, to find them: "logs/E2X.2026-11-27-16.abcd.gz:17". */
  examples: { where: string; reason: MalformedReason; detail: string }[];
}

export interface Analysis {
  tally: UsageTally;
  files: number;
  /** Non-empty, non-comment lines. */
  lines: number;
  records: number;
  malformed: Malformed;
}

const MAX_EXAMPLES = 5;

export async function analyzeLogs(inputs: readonly LogInput[], router: Router): Promise<Analysis> {
  const tally = new UsageTally();
  const malformed: Malformed = { lines: 0, reasons: {}, examples: [] };
  let lines = 0;
  let records = 0;
  for (const input of inputs) {
    const parser = new AccessLogParser();
    for await (const line of readLines(input)) {
      const outcome = parser.line(line.text, line.tooLong);
      if (outcome.kind === 'skip') continue;
      lines++;
      if (outcome.kind === 'malformed') {
        malformed.lines++;
        malformed.reasons[outcome.reason] = (malformed.reasons[outcome.reason] ?? 0) + 1;
        if (malformed.examples.length < MAX_EXAMPLES) malformed.examples.push({ where: `${input.name}:${line.number}`, reason: outcome.reason, detail: outcome.detail });
        continue;
      }
      records++;
      tally.add(outcome.record, attribute(outcome.record, router.route(outcome.record)));
    }
  }
  return { tally, files: inputs.length, lines, records, malformed };
}
