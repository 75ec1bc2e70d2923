/**
 * The configuration the edge functions run with: derived from a stage's configuration at build time and
 * compiled into their bundles (Lambda@Edge has no environment variables). Plain data, no schema library:
 * it was validated before it was written here.
 */

/** Where a class of clients is sent for blobs. */
export type BlobAction =
  /** 307 to the bucket in the client's region, or the nearest region with a bucket. */
  | 'regional'
  /** 307 to the upstream registry. */
  | 'upstream'
  /** Served through CloudFront from the S3 origin nearest the edge. */
  | 'cloudfront'
  /** 307 to the configured CDN (`EdgeConfig.cdn`), another front for the same blobs. */
  | 'cdn';

/** The classes of clients the policy distinguishes, beyond "an AWS region with a known location". */
export interface BlobPolicy {
  /** Clients in GCP (the upstream registry lives there; same-cloud traffic is the cheap path). */
  gcp: Exclude<BlobAction, 'regional'>;
  /** AWS `GLOBAL` ranges (CloudFront, Global Accelerator, ...): they say nothing about where a client is. */
  global: Exclude<BlobAction, 'regional'>;
  /** GovCloud, China and the European Sovereign Cloud are separate partitions; traffic from them to our
   * buckets is internet traffic, so a redirect saves nothing and CloudFront at least caches. */
  'aws-us-gov': BlobAction;
  'aws-cn': BlobAction;
  'aws-eusc': BlobAction;
  /** An AWS region this build has no location for (newer than the topology table). */
  unknownRegion: BlobAction;
  /** Everyone else: not in any published cloud range. */
  internet: Exclude<BlobAction, 'regional'>;
}

export interface EdgeConfig {
  stage: string;
  /** Key prefix of blobs in every bucket, e.g. "containers/images/". */
  blobPrefix: string;
  primaryRegion: string;
  /** Region -> bucket, for every region that holds a copy of the blobs (the primary included). */
  buckets: Record<string, string>;
  /** URL template of a bucket as clients see it (redirects); `{bucket}` and `{region}` are filled in. */
  publicEndpoint: string;
  /** URL template of a bucket's S3 API endpoint (CloudFront origins, reading the range table). */
  apiEndpoint: string;
  /** AWS region -> region whose bucket serves it (itself when it has one). Regions absent: no choice. */
  nearest: Record<string, string>;
  upstream: {
    /** Scheme and host (and port), no path: "https://us-central1-docker.pkg.dev". */
    origin: string;
    /** Repository prefix inserted after /v2/: "k8s-artifacts-prod/images" or "". */
    pathPrefix: string;
  };
  docsUrl: string;
  policy: BlobPolicy;
  verify: {
    /** HEAD the target bucket before redirecting to it. */
    enabled: boolean;
    timeoutMs: number;
    /** Answers kept, positive and negative each (blobs are immutable: once there, always there). */
    cacheEntries: number;
    cacheSeconds: number;
    /** How long a "not there" is believed: briefly, as replication may bring the blob any second. */
    negativeCacheSeconds: number;
  };
  /** The `cdn` target: blob URLs are this base URL (ending in "/") followed by the digest. Null: none. */
  cdn: { baseUrl: string } | null;
  /**
   * What the origin-response function does when both buckets answer 403/404: a 307 to this registry's
   * blob URL (`<origin>/v2/<pathPrefix/><name>/blobs/<digest>`, the upstream by default), or, when off,
   * a 404 BLOB_UNKNOWN.
   */
  fallback: { enabled: boolean; origin: string; pathPrefix: string };
  ranges: {
    /** Look for a newer table at most this often; 0 turns refreshing off. */
    refreshSeconds: number;
    /** Longest a request may wait for a refresh before going on with the current table. */
    refreshBudgetMs: number;
    /** The private bucket the range updater publishes to, and the pointer object's key. */
    configBucket: { name: string; region: string } | null;
    pointerKey: string;
  };
  metrics: {
    /** Seconds between two flushes of an instance's EMF counters (layers/metrics/emf.ts). */
    flushSeconds: number;
  };
}

/** Fills a bucket URL template. */
export function bucketUrl(template: string, bucket: string, region: string): string {
  return template.replaceAll('{bucket}', bucket).replaceAll('{region}', region);
}
