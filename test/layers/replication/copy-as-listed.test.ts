/**
 * The replicator's back-fill path (targets a listing showed without the key): the requests it makes and
 * what it decides, against a scripted S3 client. The same path runs against moto in
 * test/e2e/replication-reconcile.test.ts.
 */
import { createHash } from 'node:crypto';
import { type Bucket, createReplicator, type ReplicateHints } from '../../../layers/replication/replicate';
import type { S3Client } from '../../../layers/s3/client';
import { copySource } from '../../../layers/s3/copy';

const PREFIX = 'containers/images/';
const BYTES = Buffer.from('the blob');
const HEX = createHash('sha256').update(BYTES).digest('hex');
const KEY = `${PREFIX}sha256:${HEX}`;
const GOOD = createHash('sha256').update(BYTES).digest('base64');
const BAD = createHash('sha256').update('other bytes').digest('base64');
const LISTED = { size: BYTES.length, etag: 'source-etag' };
const COPY = { multipartThresholdBytes: 1024, partSizeBytes: 5 * 1024 ** 2, partConcurrency: 2 };

interface Sent {
  command: string;
  input: Record<string, unknown>;
}

type Script = (sent: Sent) => unknown;

/** A client that records every command and answers with `script` (a thrown value is the S3 error). */
function scriptedClient(sent: Sent[], script: Script): S3Client {
  return {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const entry = { command: command.constructor.name.replace(/Command$/, ''), input: command.input };
      sent.push(entry);
      return script(entry);
    },
  } as unknown as S3Client;
}

const s3Error = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

/** Source and two targets; each bucket's client records into the same list. */
function setup(script: Script, options: { dryRun?: boolean } = {}) {
  const sent: Sent[] = [];
  const client = scriptedClient(sent, script);
  const bucket = (name: string): Bucket => ({ bucket: name, region: 'us-east-1', client });
  const [source, eu, ap] = [bucket('primary'), bucket('eu'), bucket('ap')];
  const replicator = createReplicator({ source, targets: [eu, ap], blobPrefix: PREFIX, copy: COPY, propagateDeletes: false, dryRun: options.dryRun ?? false });
  const absent: ReplicateHints = { absentFrom: new Set(['eu', 'ap']), listed: LISTED };
  return { sent, replicator, eu, ap, absent, commands: () => sent.map((s) => `${s.command} ${s.input.Bucket}`) };
}

/** Copies answer with `checksum` (per target bucket); tags and deletes succeed; HEADs see the source. */
const answers =
  (checksum: (bucket: string) => string | undefined, more: Script = () => undefined): Script =>
  (sent) => {
    const handled = more(sent);
    if (handled !== undefined) return handled;
    switch (sent.command) {
      case 'CopyObject': {
        const value = checksum(String(sent.input.Bucket));
        return { CopyObjectResult: { ETag: `"copy-of-${sent.input.Bucket}"`, ...(value ? { ChecksumSHA256: value } : {}) } };
      }
      case 'HeadObject':
        return { ContentLength: BYTES.length, ETag: '"source-etag"', ChecksumSHA256: GOOD, ChecksumType: 'FULL_OBJECT', Metadata: {} };
      case 'GetObjectTagging':
        return { TagSet: [] };
      default:
        return {};
    }
  };

describe('the back-fill path: verify the copy, not the source', () => {
  test('one CopyObject per target and nothing else: pinned to the listed ETag, metadata copied, S3 asked for the SHA-256', async () => {
    const { sent, replicator, absent } = setup(answers(() => GOOD));

    const report = await replicator.replicate(KEY, undefined, absent);

    expect(sent.map((s) => s.command)).toEqual(['CopyObject', 'CopyObject']);
    for (const { input } of sent) {
      expect(input).toMatchObject({ Key: KEY, CopySource: copySource('primary', KEY), CopySourceIfMatch: '"source-etag"', MetadataDirective: 'COPY', ChecksumAlgorithm: 'SHA256' });
    }
    expect(report.quarantined).toBe(false);
    expect(report.targets.map((t) => t.outcome)).toEqual([
      { status: 'copied', method: 'single', bytes: BYTES.length },
      { status: 'copied', method: 'single', bytes: BYTES.length },
    ]);
  });

  test('a copy that hashes to another digest is deleted at once (If-Match its ETag) and the source quarantined', async () => {
    const { sent, replicator, absent, commands } = setup(answers(() => BAD));

    const report = await replicator.replicate(KEY, undefined, absent);

    expect(commands().sort()).toEqual(['CopyObject ap', 'CopyObject eu', 'DeleteObject ap', 'DeleteObject eu', 'GetObjectTagging primary', 'PutObjectTagging primary']);
    for (const bucket of ['eu', 'ap']) {
      expect(sent.find((s) => s.command === 'DeleteObject' && s.input.Bucket === bucket)?.input).toMatchObject({ Key: KEY, IfMatch: `"copy-of-${bucket}"` });
    }
    const tagging = sent.find((s) => s.command === 'PutObjectTagging')!.input;
    expect(tagging).toMatchObject({ Key: KEY, Tagging: { TagSet: [{ Key: 'registry-edge-quarantine', Value: 'digest-mismatch' }] } });
    expect(report.quarantined).toBe(true);
    expect(report.verification).toMatchObject({ ok: false, method: 'copy', expected: `sha256:${HEX}`, actual: `sha256:${Buffer.from(BAD, 'base64').toString('hex')}` });
    expect(report.targets.map((t) => t.outcome.status)).toEqual(['quarantined', 'quarantined']);
  });

  test('a bad copy that cannot be deleted is a failure that names the object to delete', async () => {
    const { replicator, absent } = setup(
      answers(
        () => BAD,
        (sent) => {
          if (sent.command === 'DeleteObject' && sent.input.Bucket === 'ap') throw s3Error('InternalError', 500);
          return undefined;
        },
      ),
    );

    const report = await replicator.replicate(KEY, undefined, absent);

    expect(report.quarantined).toBe(true);
    expect(report.targets[0]!.outcome).toEqual({ status: 'quarantined' });
    expect(report.targets[1]!.outcome).toMatchObject({ status: 'failed' });
    expect((report.targets[1]!.outcome as { error: string }).error).toContain(`delete s3://ap/${KEY} by hand`);
  });

  test('a target whose copy failed is settled as quarantined when another copy proved the source bad', async () => {
    const { replicator, absent, commands } = setup(
      answers(
        () => BAD,
        (sent) => {
          if (sent.command === 'CopyObject' && sent.input.Bucket === 'ap') throw s3Error('InternalError', 500);
          return undefined;
        },
      ),
    );

    const report = await replicator.replicate(KEY, undefined, absent);

    expect(report.targets.map((t) => t.outcome.status)).toEqual(['quarantined', 'quarantined']);
    // Nothing was written to ap, so nothing is deleted there.
    expect(commands()).not.toContain('DeleteObject ap');
  });

  test('a copy failure with no verdict elsewhere stays a failure', async () => {
    const { replicator, absent } = setup(
      answers(
        () => GOOD,
        (sent) => {
          if (sent.command === 'CopyObject' && sent.input.Bucket === 'ap') throw s3Error('InternalError', 500);
          return undefined;
        },
      ),
    );

    const report = await replicator.replicate(KEY, undefined, absent);

    expect(report.targets.map((t) => t.outcome.status)).toEqual(['copied', 'failed']);
  });

  test('a source replaced since the listing (412) goes the verified way: HEAD, then a copy of what the HEAD saw', async () => {
    let firstCopy = true;
    const { sent, replicator, absent, commands } = setup(
      answers(
        () => GOOD,
        (s) => {
          if (s.command === 'CopyObject' && s.input.Bucket === 'eu' && firstCopy) {
            firstCopy = false;
            throw s3Error('PreconditionFailed', 412);
          }
          return undefined;
        },
      ),
    );

    const report = await replicator.replicate(KEY, undefined, absent);

    expect(commands()).toEqual(['CopyObject eu', 'CopyObject ap', 'HeadObject primary', 'CopyObject eu']);
    // The verified path's copy: REPLACE, with the verified digest as a mark.
    expect(sent.at(-1)!.input).toMatchObject({ MetadataDirective: 'REPLACE', Metadata: { 'registry-edge-digest': `sha256:${HEX}` } });
    expect(report.targets.map((t) => t.outcome.status)).toEqual(['copied', 'copied']);
  });

  test('a server that returns no checksum for a copy: the copy itself is verified (its HEAD)', async () => {
    const { replicator, absent, commands } = setup(answers(() => undefined));

    const report = await replicator.replicate(KEY, undefined, absent);

    expect(commands()).toEqual(['CopyObject eu', 'CopyObject ap', 'HeadObject eu', 'HeadObject ap']);
    expect(report.targets.map((t) => t.outcome.status)).toEqual(['copied', 'copied']);
  });

  test("no checksum for a copy, and the copy's HEAD shows other bytes: deleted and quarantined all the same", async () => {
    const { replicator, absent, commands } = setup(
      answers(
        () => undefined,
        (sent) => {
          if (sent.command === 'HeadObject' && sent.input.Bucket !== 'primary') return { ContentLength: BYTES.length, ETag: `"copy-of-${sent.input.Bucket}"`, ChecksumSHA256: BAD, ChecksumType: 'FULL_OBJECT' };
          return undefined;
        },
      ),
    );

    const report = await replicator.replicate(KEY, undefined, absent);

    expect(commands()).toEqual(expect.arrayContaining(['DeleteObject eu', 'DeleteObject ap', 'PutObjectTagging primary']));
    expect(report).toMatchObject({ quarantined: true, verification: { ok: false, method: 'checksum' } });
    expect(report.targets.map((t) => t.outcome.status)).toEqual(['quarantined', 'quarantined']);
  });

  test.each([
    ['a target that holds the key differently', { absentFrom: new Set(['eu']), listed: LISTED }, {}],
    ['no listing', { absentFrom: new Set(['eu', 'ap']) }, {}],
    ['a blob above the multipart threshold', { absentFrom: new Set(['eu', 'ap']), listed: { ...LISTED, size: 4096 } }, {}],
    ['a dry run (which writes nothing, so cannot copy to verify)', { absentFrom: new Set(['eu', 'ap']), listed: LISTED }, { dryRun: true }],
  ])('%s: the source is verified first (HEAD), as before', async (_name, hints, options) => {
    const { replicator, commands } = setup(answers(() => GOOD), options);

    await replicator.replicate(KEY, undefined, hints as ReplicateHints);

    expect(commands()[0]).toBe('HeadObject primary');
  });

  test('a sha512 blob: S3 computes no SHA-512 for a copy, so the source is verified first', async () => {
    const sha512Key = `${PREFIX}sha512:${'ab'.repeat(64)}`;
    const { replicator, absent, commands } = setup(answers(() => GOOD));

    await replicator.replicate(sha512Key, undefined, absent);

    expect(commands()[0]).toBe('HeadObject primary');
  });
});
