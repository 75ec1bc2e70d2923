/**
 * S3 clients for the replication code, the CLI and the tests: one place that knows how to reach a bucket
 * (AWS itself, or a local S3 such as moto_server) and how patient to be with it.
 */
import { S3Client } from '@aws-sdk/client-s3';

export type { S3Client };

export interface S3ClientOptions {
  /** The bucket's region (AWS); any value for a local endpoint. */
  region?: string;
  /** A non-AWS endpoint ("http://127.0.0.1:4566"): path-style addressing. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Requests are retried (with backoff) this many times in all, on throttling, 5xx and dropped connections. */
  maxAttempts?: number;
  /** A connection idle this long is abandoned and retried. S3 keeps long copies alive with whitespace. */
  requestTimeoutMs?: number;
  /** Parallel connections per client (copies, parts and listings share them). */
  maxSockets?: number;
  /** Without a known region (the CLI), let the SDK follow S3's "wrong region" answers. */
  followRegionRedirects?: boolean;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/;

/** Local S3 servers check no signatures; a fixed key spares developers an AWS profile. */
const LOOPBACK_CREDENTIALS = { accessKeyId: 'registry-edge-local', secretAccessKey: 'registry-edge-local' };

export function isLoopbackEndpoint(endpoint: string): boolean {
  try {
    return LOOPBACK.test(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const local = options.endpoint !== undefined && isLoopbackEndpoint(options.endpoint);
  const credentials = options.credentials ?? (local ? LOOPBACK_CREDENTIALS : undefined);
  const agent = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
  return new S3Client({
    region: options.region ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    ...(credentials ? { credentials } : {}),
    maxAttempts: options.maxAttempts ?? 4,
    followRegionRedirects: options.followRegionRedirects ?? false,
    // We ask for checksums where we want them (copies, verification). Computing one for every request would
    // also turn plain uploads into aws-chunked ones, which some S3-compatible servers store verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: 5_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      httpAgent: agent,
      httpsAgent: agent,
    },
  });
}

/**
 * Client options for a bucket in `region`, from the stage's `buckets.apiEndpoint` template
 * ("https://{bucket}.s3.{region}.amazonaws.com" on AWS, "http://127.0.0.1:4566/{bucket}" locally).
 * AWS endpoints give the SDK's own (regional) endpoint; others must be path-style (`{bucket}` as the first
 * path segment), which is how every local S3 server is addressed.
 */
export function clientOptionsForTemplate(template: string, region: string): S3ClientOptions {
  const marker = 'registry-edge-bucket-marker';
  const url = new URL(template.replaceAll('{bucket}', marker).replaceAll('{region}', region));
  if (url.hostname.endsWith('.amazonaws.com')) return { region };
  if (url.hostname.includes(marker)) {
    throw new Error(`buckets.apiEndpoint "${template}": a non-AWS endpoint must put {bucket} in the path (path-style)`);
  }
  const at = url.pathname.indexOf(`/${marker}`);
  if (at < 0) throw new Error(`buckets.apiEndpoint "${template}" does not contain {bucket}`);
  return { region, endpoint: `${url.origin}${url.pathname.slice(0, at)}` };
}

/** One client per region, made on first use (a Lambda keeps them, and their connections, warm). */
export function clientsByRegion(make: (region: string) => S3Client): (region: string) => S3Client {
  const clients = new Map<string, S3Client>();
  return (region) => {
    let client = clients.get(region);
    if (!client) {
      client = make(region);
      clients.set(region, client);
    }
    return client;
  };
}
