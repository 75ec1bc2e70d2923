/** The vendored snapshot compiled once per test file: the same table the edge bundle embeds. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTable } from '../../layers/net/load';
import { ReferenceClassifier } from '../../layers/net/reference';
import type { RangeTable } from '../../layers/net/table';
import { type CompiledRanges, compileRanges } from '../../layers/ranges/compile';
import { parseAwsFeed, parseGcpFeed } from '../../layers/ranges/feeds';

export const DATA = join(__dirname, '../../data');

export interface Snapshot {
  compiled: CompiledRanges;
  table: RangeTable;
  reference: ReferenceClassifier;
}

let cached: Snapshot | undefined;

export function snapshot(): Snapshot {
  if (!cached) {
    const compiled = compileRanges({
      aws: parseAwsFeed(readFileSync(join(DATA, 'aws-ip-ranges.json'), 'utf8')),
      gcp: parseGcpFeed(readFileSync(join(DATA, 'gcp-cloud.json'), 'utf8')),
    });
    cached = { compiled, table: loadTable(compiled.bytes).table, reference: new ReferenceClassifier(compiled.data) };
  }
  return cached;
}
