import { RegistryClient } from '../../../layers/registry/client';
import { walkImage, type WalkItem } from '../../../layers/registry/walk';
import { FakeRegistry } from './fake-registry';

async function walk(registry: FakeRegistry, repository: string, reference: string, seen = new Set<string>()) {
  const client = new RegistryClient({ url: registry.origin, fetch: registry.fetch, sleep: async () => {}, retries: 0 });
  const items: WalkItem[] = [];
  for await (const item of walkImage(client, repository, reference, { seen, maxDepth: 2 })) items.push(item);
  return items;
}

describe('walkImage', () => {
  test('an index: each child manifest, then its config and layers', async () => {
    const registry = new FakeRegistry();
    const amd = registry.addImage('a', undefined, ['base', 'amd'], { name: 'amd' });
    const arm = registry.addImage('a', undefined, ['base', 'arm'], { name: 'arm' });
    const index = registry.addIndex('a', 'v1', [amd.descriptor, arm.descriptor], true);
    const items = await walk(registry, 'a', 'v1');
    expect(items.filter((i) => i.kind === 'manifest').map((i) => (i as { digest: string }).digest)).toEqual([index.digest, amd.descriptor.digest, arm.descriptor.digest]);
    expect(items.filter((i) => i.kind === 'blob').map((i) => (i as { descriptor: { digest: string } }).descriptor.digest)).toEqual([...amd.blobs, ...arm.blobs].map((b) => b.digest));
  });

  test('a manifest already seen (another tag, another repository) is not walked again', async () => {
    const registry = new FakeRegistry();
    const image = registry.addImage('a', 'v1', ['x']);
    registry.tags.get('a')!.set('latest', image.descriptor.digest);
    const seen = new Set<string>();
    expect((await walk(registry, 'a', 'v1', seen)).length).toBeGreaterThan(0);
    expect(await walk(registry, 'a', 'latest', seen)).toEqual([]);
  });

  test('a broken child is reported and its siblings still walked', async () => {
    const registry = new FakeRegistry();
    const good = registry.addImage('a', undefined, ['good']);
    const missing = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 10 };
    registry.addIndex('a', 'v1', [missing, good.descriptor]);
    const items = await walk(registry, 'a', 'v1');
    expect(items.filter((i) => i.kind === 'error').map((i) => (i as { reference: string }).reference)).toEqual([missing.digest]);
    expect(items.filter((i) => i.kind === 'blob')).toHaveLength(2);
  });

  test('index nesting deeper than maxDepth is reported, not followed', async () => {
    const registry = new FakeRegistry();
    // inner -> deeper -> deepest (an index), beyond maxDepth 2
    const deepest = registry.addIndex('a', undefined as unknown as string, []);
    const deeper = registry.addIndex('a', 'deeper', [deepest]);
    const inner = registry.addIndex('a', 'inner', [deeper]);
    registry.addIndex('a', 'top', [inner]);
    const items = await walk(registry, 'a', 'top');
    expect(items.filter((i) => i.kind === 'error')).toHaveLength(1);
    expect(items.filter((i) => i.kind === 'manifest')).toHaveLength(3);
  });
});
