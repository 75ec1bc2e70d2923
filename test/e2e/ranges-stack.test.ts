/**
 * The range table loop on the running local stack, as an operator drives it: the stack publishes its table
 * to its config bucket at start-up and the viewer refreshes from there; `registry-edge ranges update
 * --stage local` publishes a table that moves one overlay client (127.0.2.x, aws eu-west-1) to
 * ap-southeast-1, the next blob GET from that client is redirected there, `ranges rollback --stage local
 * --previous` brings it back; no restart, and no endpoint typed (the CLI finds the stack's state file).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_REFRESH_SECONDS, type Stack, startStack } from '../../local/stack';
import { runCliAsync } from '../support/cli';
import { send } from './support/client';

jest.setTimeout(180_000);

const CLIENT = '127.0.2.10';

describe('range updates and rollbacks on the local stack', () => {
  let stack: Stack;
  let work: string;
  let stateFile: string;
  let blobUrl: string;
  let bucketUrl: (region: string) => string;
  const cli = (args: string[]) => runCliAsync(args, { env: { REGISTRY_EDGE_STACK_STATE: stateFile } });

  /** Where a blob GET from CLIENT is sent. */
  const location = async () => (await send(blobUrl, { localAddress: CLIENT })).headers.location;
  /**
   * Asks until the answer is `expected`, for a few refresh intervals at most: a request starts a refresh once
   * refreshSeconds have passed and waits for it within the budget, so one interval and a request suffice.
   */
  async function eventually(expected: string): Promise<string | undefined> {
    const until = Date.now() + 5 * LOCAL_REFRESH_SECONDS * 1000;
    let seen = await location();
    while (seen !== expected && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      seen = await location();
    }
    return seen;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ranges-stack-e2e-'));
    stateFile = join(work, 'local-stack.json');
    stack = await startStack({ port: 0, stateFile });
    const digest = stack.image.blobs[0]!.digest;
    blobUrl = `${stack.endpoint}/v2/${stack.image.repository}/blobs/${digest}`;
    bucketUrl = (region) => `${stack.s3Endpoint}/${stack.buckets.regional[region]}/${stack.config.edge.blobPrefix}${digest}`;
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    if (stateFile) expect(existsSync(stateFile)).toBe(false);
    rmSync(work, { recursive: true, force: true });
  });

  it('publishes its table at start-up and says where its S3 is', () => {
    expect(stack.rangesPublished).toMatchObject({ outcome: 'published', generation: 1 });
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ stage: 'local', pid: process.pid, s3Endpoint: stack.s3Endpoint, configBucket: stack.buckets.config });
  });

  it('moves a client with `ranges update --stage local`, and back with `ranges rollback --stage local --previous`, without a restart', async () => {
    expect(await location()).toBe(bucketUrl('eu-west-1'));

    // The overlay is configuration: the README's example configuration puts 127.0.2.0/24 in ap-southeast-1.
    const moved = join(__dirname, '../../docs/examples/local-moved.json');
    const movedOverlay = JSON.parse(readFileSync(moved, 'utf8')).ranges.overlay;
    expect(movedOverlay).toContainEqual({ cidr: '127.0.2.0/24', cloud: 'aws', region: 'ap-southeast-1' });
    const update = await cli(['ranges', 'update', '--stage', 'local', '--config', moved]);
    expect({ status: update.status, stderr: update.stderr }).toEqual({ status: 0, stderr: '' });
    expect(update.lines).toEqual([expect.objectContaining({ bucket: stack.buckets.config, outcome: 'published', generation: 2 })]);
    const movedKey = (update.lines[0] as { key: string }).key;

    expect(await eventually(bucketUrl('ap-southeast-1'))).toBe(bucketUrl('ap-southeast-1'));

    const rollback = await cli(['ranges', 'rollback', '--stage', 'local', '--previous']);
    expect({ status: rollback.status, stderr: rollback.stderr }).toEqual({ status: 0, stderr: '' });
    expect(rollback.lines).toEqual([expect.objectContaining({ outcome: 'rolled-back', key: (stack.rangesPublished as { key: string }).key, generation: 3, rolledAwayFrom: expect.objectContaining({ key: movedKey, generation: 2 }) })]);

    expect(await eventually(bucketUrl('eu-west-1'))).toBe(bucketUrl('eu-west-1'));

    const status = await cli(['ranges', 'status', '--stage', 'local']);
    expect(status.status).toBe(0);
    expect(status.lines).toEqual([expect.objectContaining({ published: true, key: (stack.rangesPublished as { key: string }).key, generation: 3, verified: true, rollback: expect.objectContaining({ from: movedKey }) })]);

    // With no flags at all the updater compiles the stack's own feeds and configuration: the table that is
    // published again (after the rollback), so nothing to do.
    const again = await cli(['ranges', 'update', '--stage', 'local']);
    expect(again.lines).toEqual([expect.objectContaining({ outcome: 'unchanged', reason: 'same', generation: 3 })]);
  });
});
