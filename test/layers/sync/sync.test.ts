import type { Readable } from 'node:stream';
import { RegistryClient } from '../../../layers/registry/client';
import { runSync, type SyncEvent, type SyncOptions } from '../../../layers/sync/sync';
import type { BlobTarget } from '../../../layers/sync/target';
import { FakeRegistry, sha256 } from '../registry/fake-registry';

/** A target that honours the BlobTarget contract: a blob is stored only when its body ends. */
class MemoryTarget implements BlobTarget {
  readonly objects = new Map<string, Buffer>();
  readonly puts: string[] = [];
  describe = (digest: string) => `memory://${digest}`;
  async stat(digest: string) {
    const object = this.objects.get(digest);
    return object ? { size: object.length } : undefined;
  }
  async put(digest: string, _size: number, body: Readable) {
    this.puts.push(digest);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    this.objects.set(digest, Buffer.concat(chunks));
  }
}

/** Two repositories, Docker and OCI, a multi-arch index, layers shared across images and repositories. */
function buildRegistry() {
  const registry = new FakeRegistry();
  const amd = registry.addImage('library/alpine', undefined, ['base-amd', 'alpine-amd'], { docker: true, name: 'amd' });
  const arm = registry.addImage('library/alpine', undefined, ['base-arm', 'alpine-arm'], { docker: true, name: 'arm' });
  const index = registry.addIndex('library/alpine', '3.19', [amd.descriptor, arm.descriptor], true);
  registry.tags.get('library/alpine')!.set('latest', index.digest);
  const tool = registry.addImage('tools/kubectl', 'v1.30', ['base-amd', 'kubectl'], { name: 'kubectl' });
  // The same multi-arch image mirrored in a third repository: nothing new to copy.
  registry.tags.set('mirror/alpine', new Map([['3.19', index.digest]]));
  const distinct = new Set([...amd.blobs, ...arm.blobs, ...tool.blobs].map((b) => b.digest));
  return { registry, distinct, tool };
}

async function sync(registry: FakeRegistry, target: MemoryTarget, options: Partial<SyncOptions> = {}) {
  const client = new RegistryClient({ url: registry.origin, fetch: registry.fetch, sleep: async () => {}, retries: 0 });
  const events: SyncEvent[] = [];
  const result = await runSync({ client, target, retryDelayMs: 0, onEvent: (e) => events.push(e), ...options });
  const { checked, copied, skipped, quarantined, failed } = result.summary;
  // The summary's identity holds in every run.
  expect(checked).toBe(copied + skipped + quarantined + failed + result.missing);
  return { ...result, events, problems: events.filter((e) => e.type === 'problem').map((e) => (e as { message: string }).message) };
}

const verified = (target: MemoryTarget) => [...target.objects].every(([digest, bytes]) => sha256(bytes) === digest);

describe('runSync', () => {
  test('copies each distinct blob once, verified; a second run skips them all', async () => {
    const { registry, distinct } = buildRegistry();
    const target = new MemoryTarget();
    const first = await sync(registry, target);
    expect(first.summary).toEqual({ checked: distinct.size, copied: distinct.size, skipped: 0, quarantined: 0, failed: 0 });
    expect(first.interrupted).toBe(false);
    expect(new Set(target.objects.keys())).toEqual(distinct);
    expect(target.puts).toHaveLength(distinct.size);
    expect(verified(target)).toBe(true);

    const second = await sync(registry, target);
    expect(second.summary).toEqual({ checked: distinct.size, copied: 0, skipped: distinct.size, quarantined: 0, failed: 0 });
    expect(target.puts).toHaveLength(distinct.size);
  });

  test('named repositories only', async () => {
    const { registry, tool } = buildRegistry();
    const target = new MemoryTarget();
    const result = await sync(registry, target, { repositories: ['tools/kubectl'] });
    expect(result.summary.copied).toBe(tool.blobs.length);
    expect(new Set(target.objects.keys())).toEqual(new Set(tool.blobs.map((b) => b.digest)));
    expect(registry.requests.some((r) => r.url.pathname === '/v2/_catalog')).toBe(false);
  });

  test('dry run: reports what is missing, stores nothing', async () => {
    const { registry, distinct } = buildRegistry();
    const target = new MemoryTarget();
    const [one] = distinct;
    target.objects.set(one!, registry.blobs.get(one!)!);
    const result = await sync(registry, target, { dryRun: true });
    expect(result.missing).toBe(distinct.size - 1);
    expect(result.summary).toMatchObject({ checked: distinct.size, copied: 0, skipped: 1 });
    expect(target.puts).toEqual([]);
    expect(registry.requests.some((r) => r.url.pathname.includes('/blobs/'))).toBe(false);
  });

  test('bytes that do not match their digest are quarantined, never stored', async () => {
    const { registry, distinct, tool } = buildRegistry();
    const bad = tool.blobs[1]!; // the kubectl layer
    registry.blobs.set(bad.digest, Buffer.from('X'.repeat(bad.size))); // same size, other bytes
    const target = new MemoryTarget();
    const result = await sync(registry, target);
    expect(result.summary).toEqual({ checked: distinct.size, copied: distinct.size - 1, skipped: 0, quarantined: 1, failed: 0 });
    expect(target.objects.has(bad.digest)).toBe(false);
    expect(verified(target)).toBe(true);
  });

  test('a Content-Length that disagrees with the descriptor is quarantined before any byte is stored', async () => {
    const { registry, tool } = buildRegistry();
    const bad = tool.blobs[1]!;
    registry.blobs.set(bad.digest, Buffer.concat([bad.bytes, Buffer.from('trailing')]));
    const target = new MemoryTarget();
    const result = await sync(registry, target);
    expect(result.summary.quarantined).toBe(1);
    expect(target.puts).not.toContain(bad.digest);
  });

  test('transient registry errors on a blob are retried; a 404 is not', async () => {
    const { registry, distinct, tool } = buildRegistry();
    const flaky = tool.blobs[0]!;
    const gone = tool.blobs[1]!;
    let flakes = 2;
    registry.hook = (r) => {
      if (r.url.pathname.endsWith(flaky.digest) && flakes-- > 0) return new Response('busy', { status: 503 });
      if (r.url.pathname.endsWith(gone.digest)) return new Response('{}', { status: 404 });
      return undefined;
    };
    const target = new MemoryTarget();
    const result = await sync(registry, target, { attempts: 3 });
    expect(target.objects.has(flaky.digest)).toBe(true);
    expect(result.summary).toEqual({ checked: distinct.size, copied: distinct.size - 1, skipped: 0, quarantined: 0, failed: 1 });
    expect(registry.requests.filter((r) => r.url.pathname.endsWith(gone.digest))).toHaveLength(1);
    expect(result.problems).toEqual([]);
    expect(result.events.some((e) => e.type === 'blob' && e.outcome === 'failed' && e.message?.includes('404'))).toBe(true);
  });

  test('a stored blob whose size disagrees with the descriptor is a failure, left untouched', async () => {
    const { registry, tool } = buildRegistry();
    const target = new MemoryTarget();
    const odd = Buffer.from('not what the manifest says');
    target.objects.set(tool.blobs[1]!.digest, odd);
    const result = await sync(registry, target);
    expect(result.summary.failed).toBe(1);
    expect(target.objects.get(tool.blobs[1]!.digest)).toBe(odd);
  });

  test('what cannot be walked counts as failed; the rest is still copied', async () => {
    const { registry, tool } = buildRegistry();
    registry.tags.get('tools/kubectl')!.set('broken', `sha256:${'0'.repeat(64)}`);
    registry.tags.set('../../etc', new Map()); // a hostile catalog entry
    registry.tags.set('empty', new Map());
    const target = new MemoryTarget();
    const result = await sync(registry, target);
    expect(result.summary.failed).toBe(2); // the broken tag and the hostile name
    expect(result.problems.some((m) => m.includes('../../etc') && m.includes('not a valid repository name'))).toBe(true);
    expect(registry.requests.some((r) => r.url.pathname.includes('etc'))).toBe(false);
    expect(result.events.some((e) => e.type === 'warning' && e.message.includes('empty'))).toBe(true);
    for (const blob of tool.blobs) expect(target.objects.has(blob.digest)).toBe(true);
  });

  test('a named repository that does not exist is a failure', async () => {
    const { registry } = buildRegistry();
    const result = await sync(registry, new MemoryTarget(), { repositories: ['no/such'] });
    expect(result.summary).toMatchObject({ checked: 1, failed: 1 });
  });

  test('interrupted mid-transfer: nothing partial is stored, and a rerun copies exactly what is missing', async () => {
    const { registry, distinct, tool } = buildRegistry();
    const slow = tool.blobs[1]!;
    const controller = new AbortController();
    // The slow blob sends half its bytes, then stalls until the run is stopped.
    registry.hook = (r) => {
      if (!r.url.pathname.endsWith(slow.digest) || !r.signal) return undefined;
      const signal = r.signal;
      const body = new ReadableStream<Uint8Array>({
        start(stream) {
          stream.enqueue(slow.bytes.subarray(0, slow.size >> 1));
          signal.addEventListener('abort', () => stream.error(signal.reason));
          setImmediate(() => controller.abort());
        },
      });
      return new Response(body, { headers: { 'content-length': String(slow.size) } });
    };
    const target = new MemoryTarget();
    const first = await sync(registry, target, { signal: controller.signal, concurrency: 1 });
    expect(first.interrupted).toBe(true);
    expect(first.summary.failed).toBe(0);
    expect(target.objects.has(slow.digest)).toBe(false);
    expect(verified(target)).toBe(true);
    const before = target.objects.size;
    expect(before).toBeLessThan(distinct.size);

    registry.hook = undefined;
    const second = await sync(registry, target);
    expect(second.summary).toEqual({ checked: distinct.size, copied: distinct.size - before, skipped: before, quarantined: 0, failed: 0 });
    expect(new Set(target.objects.keys())).toEqual(distinct);
    // Every blob was stored exactly once across both runs (the interrupted one never completed a put).
    const completed = target.puts.filter((d) => d !== slow.digest);
    expect(new Set(completed).size).toBe(completed.length);
  });

  test('progress events: every found blob ends with exactly one outcome', async () => {
    const { registry, distinct } = buildRegistry();
    const result = await sync(registry, new MemoryTarget());
    const found = result.events.filter((e) => e.type === 'blob-found').map((e) => (e as { digest: string }).digest);
    const finished = result.events.filter((e) => e.type === 'blob').map((e) => (e as { digest: string }).digest);
    expect(new Set(found)).toEqual(distinct);
    expect(finished.sort()).toEqual([...found].sort());
    const bytes = result.events.filter((e) => e.type === 'bytes').reduce((n, e) => n + (e as { count: number }).count, 0);
    expect(bytes).toBe(result.bytes);
  });
});
