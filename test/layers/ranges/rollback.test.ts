/**
 * `ranges rollback` against an in-memory store: an earlier table republished under a new generation, the
 * version rolled away from refused by the updater until --force, and every refusal naming its reason.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePointer, type RangePointer } from '../../../layers/ranges/pointer';
import { runRangeRollback } from '../../../layers/ranges/rollback';
import { runRangeUpdate } from '../../../layers/ranges/update';
import { memoryStore, type MemoryStore } from '../../support/memory-store';
import { AWS_LATER_TOKEN, AWS_TOKEN, awsFeedText } from '../../support/range-feeds';

const NOW = new Date('2026-12-01T09:00:00Z');
const DATA = join(__dirname, '../../../data');
const EARLIER = join(DATA, 'aws-ip-ranges.json');
const LATER = join(DATA, 'aws-ip-ranges-2026-08-22.json');
const GCP = join(DATA, 'gcp-cloud.json');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'registry-edge-rollback-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const update = (store: MemoryStore, aws: string, extra: { force?: boolean } = {}) => runRangeUpdate({ store, sources: { aws, gcp: GCP }, maxShrink: 0.1, now: () => NOW, ...extra });
const pointer = (store: MemoryStore): RangePointer => parsePointer(store.pointerText()!) as RangePointer;

/** Earlier, then later, published: generations 1 and 2. */
async function twoPublished(): Promise<{ store: MemoryStore; earlier: RangePointer; later: RangePointer }> {
  const store = memoryStore();
  expect(await update(store, EARLIER)).toMatchObject({ outcome: 'published', generation: 1 });
  const earlier = pointer(store);
  expect(await update(store, LATER)).toMatchObject({ outcome: 'published', generation: 2, syncToken: AWS_LATER_TOKEN });
  return { store, earlier, later: pointer(store) };
}

describe('ranges rollback', () => {
  test('--previous republishes the table the published one replaced, one generation on, and records what it rolled away from', async () => {
    const { store, earlier, later } = await twoPublished();
    const result = await runRangeRollback({ store, target: { previous: true }, now: () => NOW });
    expect(result).toEqual({
      outcome: 'rolled-back',
      key: earlier.key,
      generation: 3,
      sha256: earlier.sha256,
      syncToken: AWS_TOKEN,
      gcpSyncToken: earlier.gcp!.syncToken,
      rolledAwayFrom: { key: later.key, generation: 2, syncToken: AWS_LATER_TOKEN, gcpSyncToken: later.gcp!.syncToken },
    });
    expect(pointer(store)).toMatchObject({
      key: earlier.key,
      sha256: earlier.sha256,
      bytes: earlier.bytes,
      syncToken: AWS_TOKEN,
      counts: earlier.counts,
      coverage: earlier.coverage,
      generation: 3,
      previous: { key: later.key, generation: 2 },
      rolledBackFrom: [{ syncToken: AWS_LATER_TOKEN, gcpSyncToken: later.gcp!.syncToken, key: later.key, at: NOW.toISOString() }],
      rollback: { from: later.key, at: NOW.toISOString() },
    });
  });

  test('the updater then refuses the version rolled away from until --force; a newer one is judged as usual', async () => {
    const { store, later } = await twoPublished();
    await runRangeRollback({ store, target: { previous: true }, now: () => NOW });
    const before = store.pointerText();
    const again = await update(store, LATER);
    expect(again).toMatchObject({ outcome: 'refused', reason: 'rolled-back', generation: 3, message: expect.stringContaining(`AWS ${AWS_LATER_TOKEN} / GCP ${later.gcp!.syncToken} was rolled back from (${later.key}`) });
    expect(store.pointerText()).toBe(before);

    const newer = join(dir, 'newer.json');
    writeFileSync(newer, awsFeedText((f) => (f.syncToken = String(Number(AWS_LATER_TOKEN) + 60)), 'aws-ip-ranges-2026-08-22.json'));
    const judged = memoryStore();
    judged.setPointer(JSON.parse(before!));
    for (const [key, bytes] of store.tables) judged.tables.set(key, bytes);
    expect(await update(judged, newer)).toMatchObject({ outcome: 'published', generation: 4, forcedPast: [] });

    expect(await update(store, LATER, { force: true })).toMatchObject({ outcome: 'published', generation: 4, forcedPast: ['rolled-back'] });
  });

  test('--to KEY (or its SHA-256) puts that table back; rolling back to a version lifts its own record', async () => {
    const { store, earlier, later } = await twoPublished();
    expect(await runRangeRollback({ store, target: { key: earlier.key } })).toMatchObject({ outcome: 'rolled-back', key: earlier.key, generation: 3 });
    expect(await runRangeRollback({ store, target: { key: later.sha256 } })).toMatchObject({ outcome: 'rolled-back', key: later.key, generation: 4 });
    expect(pointer(store)).toMatchObject({ key: later.key, rolledBackFrom: [{ syncToken: AWS_TOKEN, key: earlier.key }] });
    expect(await update(store, LATER)).toMatchObject({ outcome: 'unchanged', reason: 'same' });
  });

  test.each<[string, (store: MemoryStore, pointers: { earlier: RangePointer; later: RangePointer }) => Promise<void> | void, { previous: true } | { key: string }, string, string]>([
    ['the published table itself', () => undefined, { key: 'LATER' }, 'same', 'is the published table already (generation 2)'],
    ['a table that is not in the bucket', () => undefined, { key: `ranges/${'0'.repeat(64)}.bin` }, 'missing', `there is no table ranges/${'0'.repeat(64)}.bin`],
    ['a table whose bytes do not match its name', (store, { earlier }) => {
      const bytes = store.tables.get(earlier.key)!;
      bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 1;
    }, { previous: true }, 'invalid', 'it will not be published'],
    ['a table that is not one', (store) => void store.tables.set('ranges/garbage.bin', new Uint8Array(64).fill(7)), { key: 'ranges/garbage.bin' }, 'invalid', 'the table ranges/garbage.bin:'],
  ])('refuses to roll back to %s, and leaves the pointer', async (_name, arrange, target, reason, message) => {
    const { store, earlier, later } = await twoPublished();
    await arrange(store, { earlier, later });
    const before = store.pointerText();
    const resolved = 'key' in target && target.key === 'LATER' ? { key: later.key } : target;
    expect(await runRangeRollback({ store, target: resolved })).toMatchObject({ outcome: 'refused', reason, message: expect.stringContaining(message), key: later.key, generation: 2 });
    expect(store.pointerText()).toBe(before);
  });

  test('with nothing published, or no previous table recorded, says so', async () => {
    const empty = memoryStore();
    expect(await runRangeRollback({ store: empty, target: { previous: true } })).toMatchObject({ outcome: 'refused', reason: 'nothing-published', key: null, generation: null });
    const one = memoryStore();
    await update(one, EARLIER);
    expect(await runRangeRollback({ store: one, target: { previous: true } })).toMatchObject({ outcome: 'refused', reason: 'no-previous', generation: 1 });
  });

  test('the updater republishes when only the configuration (the overlay) changed, under a new generation', async () => {
    const store = memoryStore();
    await update(store, EARLIER);
    const moved = await runRangeUpdate({ store, sources: { aws: EARLIER, gcp: GCP }, maxShrink: 0.1, now: () => NOW, overlay: [{ cidr: '127.0.2.0/24', cloud: 'aws', region: 'ap-southeast-1' }] });
    expect(moved).toMatchObject({ outcome: 'published', generation: 2, syncToken: AWS_TOKEN });
    expect(await update(store, EARLIER)).toMatchObject({ outcome: 'published', generation: 3 });
    expect(await update(store, EARLIER)).toMatchObject({ outcome: 'unchanged', reason: 'same' });
  });
});
