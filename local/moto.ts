/**
 * moto_server: the S3 (and SQS) API on loopback, for the local stack and the tests. It keeps objects in
 * memory, checks bucket policies for anonymous requests, and delivers S3 event notifications to SQS.
 */
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { type ManagedProcess, requireTool, startProcess } from './processes';

export interface Moto {
  endpoint: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Credentials moto accepts (it does not check signatures). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'registry-edge-local', secretAccessKey: 'registry-edge-local' };

export async function startMoto(port: number, host = '127.0.0.1'): Promise<Moto> {
  const command = requireTool('moto_server', 'python3-moto (or pip install "moto[server]")');
  const proc = await startProcess({ name: 'moto_server', command, args: ['-H', host, '-p', String(port)], listen: { host, port } });
  return { endpoint: `http://${host}:${port}`, port, process: proc, stop: () => proc.stop() };
}

/** An S3 client for a local endpoint: path-style addressing, fixed credentials. */
export function localS3Client(endpoint: string, region = 'us-east-1'): S3Client {
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: LOCAL_CREDENTIALS,
    // moto answers with checksums only when asked; the SDK's default of always computing them would also
    // make plain PUTs aws-chunked, which some local servers store verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Creates `bucket`; with `publicPrefix`, anyone may GET objects under it (as regional buckets allow for
 * blobs) and nothing else, which is what makes anonymous redirects work against moto too.
 */
export async function createBucket(client: S3Client, bucket: string, options: { publicPrefix?: string } = {}): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if ((error as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw error;
  }
  if (options.publicPrefix) {
    const policy = {
      Version: '2012-10-17',
      // moto authorises an anonymous HEAD as "s3:HeadObject" (S3 itself as s3:GetObject, and refuses the
      // former in a policy), so the local policy names both.
      Statement: [
        { Sid: 'PublicReadBlobs', Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:HeadObject'], Resource: `arn:aws:s3:::${bucket}/${options.publicPrefix}*` },
      ],
    };
    await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
  }
}
