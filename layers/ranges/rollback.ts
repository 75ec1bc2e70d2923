/**
 * Rollback: put an earlier table back, everywhere. The earlier table is still in the bucket (tables are
 * content-addressed and never overwritten), so a rollback writes one pointer: the earlier table's, under
 * the published generation + 1. Warm edge instances take any higher generation whose table checks out
 * (refresh.ts), so the rollback reaches every edge within `refreshSeconds` (plus a request to notice).
 *
 * The pointer records the feed version rolled away from (`rolledBackFrom`): the updater refuses to publish
 * that version again until `--force` (rules.ts), so the next scheduled run does not undo the rollback. A
 * newer feed version is judged as usual. Rolling back *to* a version lifts its own record.
 */
import { loadTable } from '../net/load';
import { MAX_ROLLED_BACK, describeTable, type RangePointer, type RolledBack, sha256Hex, tableKey } from './pointer';
import type { RangeStore } from './store';
import { versionOf } from './version';

export type RollbackTarget = { previous: true } | { key: string };

export interface RollbackOptions {
  store: RangeStore;
  target: RollbackTarget;
  now?: () => Date;
  /** Attempts at swinging the pointer while other writers keep getting there first. */
  maxAttempts?: number;
}

export type RollbackRefusal = 'nothing-published' | 'no-previous' | 'same' | 'missing' | 'invalid';

export type RollbackResult =
  | {
      outcome: 'rolled-back';
      key: string;
      generation: number;
      sha256: string;
      syncToken: string;
      gcpSyncToken: string | null;
      rolledAwayFrom: { key: string; generation: number; syncToken: string; gcpSyncToken: string | null };
    }
  | { outcome: 'refused'; reason: RollbackRefusal; message: string; key: string | null; generation: number | null }
  | { outcome: 'failed'; reason: 'store'; message: string; key: string | null; generation: number | null };

const SHA_KEY = /(?:^|\/)([0-9a-f]{64})\.bin$/;

/** The key `--to` names: a table key as `ranges status` prints it, or a bare SHA-256 beside the pointer. */
export function targetKey(pointerKey: string, to: string): string {
  return /^[0-9a-f]{64}$/.test(to) ? tableKey(pointerKey, to) : to;
}

/** The counts a table records about itself (compile.ts writes them); a rough fallback for older tables. */
function countsOf(metadata: Record<string, unknown>): RangePointer['counts'] {
  const recorded = metadata.counts as RangePointer['counts'] | undefined;
  if (recorded && typeof recorded === 'object' && recorded.aws && typeof recorded.entries === 'number') return recorded;
  const prefixes = (feed: unknown) => Number((feed as { prefixes?: unknown } | undefined)?.prefixes ?? 0) || 0;
  return { aws: { v4: prefixes(metadata.aws), v6: 0 }, gcp: metadata.gcp ? { v4: prefixes(metadata.gcp), v6: 0 } : null, overlay: Number(metadata.overlay ?? 0) || 0, entries: 0 };
}

export async function runRangeRollback(options: RollbackOptions): Promise<RollbackResult> {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const maxAttempts = options.maxAttempts ?? 5;
  const refused = (reason: RollbackRefusal, message: string, current: RangePointer | null): RollbackResult => ({
    outcome: 'refused',
    reason,
    message,
    key: current?.key ?? null,
    generation: current?.generation ?? null,
  });
  let current: RangePointer | null = null;
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const read = await store.readPointer();
      current = read.pointer;
      if (current === null) return refused('nothing-published', `${store.location}: ${read.problem ?? 'no table is published'}; there is nothing to roll back`, null);
      let key: string;
      let expectedSha: string | undefined;
      if ('previous' in options.target) {
        if (current.previous === null) return refused('no-previous', `${store.location}: the published pointer (generation ${current.generation}) records no previous table; name one with --to KEY`, current);
        key = current.previous.key;
        expectedSha = current.previous.sha256;
      } else {
        key = targetKey(store.pointerKey, options.target.key);
      }
      if (key === current.key) return refused('same', `${key} is the published table already (generation ${current.generation})`, current);

      const bytes = await store.readTable(key);
      if (bytes === null) return refused('missing', `${store.location}: there is no table ${key}`, current);
      const sha256 = await sha256Hex(bytes);
      expectedSha ??= SHA_KEY.exec(key)?.[1];
      if (expectedSha !== undefined && sha256 !== expectedSha) return refused('invalid', `the table ${key} has SHA-256 ${sha256}, not ${expectedSha}: it will not be published`, current);
      let metadata: Record<string, unknown>;
      try {
        metadata = loadTable(bytes, { check: true }).metadata;
      } catch (error) {
        return refused('invalid', `the table ${key}: ${(error as Error).message}`, current);
      }
      const version = versionOf(metadata);
      if (version === null) return refused('invalid', `the table ${key} records no feed version`, current);

      const at = now();
      const awayFrom: RolledBack = { syncToken: current.syncToken, gcpSyncToken: current.gcp?.syncToken ?? null, key: current.key, at: at.toISOString() };
      const kept = current.rolledBackFrom.filter((r) => !(r.syncToken === version.aws && r.gcpSyncToken === version.gcp) && !(r.syncToken === awayFrom.syncToken && r.gcpSyncToken === awayFrom.gcpSyncToken));
      const pointer: RangePointer = {
        ...describeTable({
          key,
          sha256,
          bytes: bytes.length,
          metadata,
          counts: countsOf(metadata),
          publishedAt: at,
          forced: false,
          replacing: current,
          rolledBackFrom: [...kept, awayFrom].slice(-MAX_ROLLED_BACK),
        }),
        rollback: { from: current.key, at: at.toISOString() },
      };
      if ((await store.swapPointer(pointer, read.etag)) === 'conflict') continue;
      // Read back, as the updater does: a store whose conditional writes are not atomic may have let a
      // pointer of a lower generation in over ours.
      const check = await store.readPointer();
      if (check.pointer === null || check.pointer.generation < pointer.generation) continue;
      return {
        outcome: 'rolled-back',
        key,
        generation: pointer.generation,
        sha256,
        syncToken: version.aws,
        gcpSyncToken: version.gcp,
        rolledAwayFrom: { key: current.key, generation: current.generation, syncToken: awayFrom.syncToken, gcpSyncToken: awayFrom.gcpSyncToken },
      };
    }
  } catch (error) {
    return { outcome: 'failed', reason: 'store', message: `${store.location}: ${(error as Error).message}`, key: current?.key ?? null, generation: current?.generation ?? null };
  }
  return { outcome: 'failed', reason: 'store', message: `${store.location}: the pointer changed under each of ${maxAttempts} attempts`, key: current?.key ?? null, generation: current?.generation ?? null };
}
