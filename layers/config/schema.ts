/**
 * One schema for a stage's configuration (`config/<stage>.json`), validated once at build time. Every
 * error names the field. Unknown fields are errors too: a typo must not silently fall back to a default.
 */
import { z } from 'zod';
import { findRegion, nearestRegion, REGIONS } from '../topology/regions';
import { bucketUrl, type EdgeConfig } from './edge';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/;

/** https everywhere; plain http only for loopback hosts (the local stack). */
const webUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
  } catch {
    return false;
  }
}, 'must be an https URL (http only for loopback)');

const commercialRegion = z.string().refine((name) => findRegion(name)?.partition === 'aws', {
  error: (issue) => `"${String(issue.input)}" is not a known commercial AWS region (known: ${REGIONS.filter((r) => r.partition === 'aws').map((r) => r.name).join(', ')})`,
});

const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name (3-63 of a-z 0-9 . -)')
  .refine((name) => !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name), 'must be a valid S3 bucket name');

const endpointTemplate = z
  .string()
  .refine((t) => t.includes('{bucket}'), 'must contain {bucket}')
  .refine((t) => webUrl.safeParse(bucketUrl(t, 'bucket', 'us-east-1')).success, 'must give an https URL (http only for loopback)');

const action = z.enum(['regional', 'upstream', 'cloudfront', 'cdn']);
/** Classes with no region to be near to. */
const placelessAction = z.enum(['upstream', 'cloudfront', 'cdn']);

const policySchema = z
  .strictObject({
    gcp: placelessAction.default('upstream'),
    global: placelessAction.default('cloudfront'),
    'aws-us-gov': action.default('cloudfront'),
    'aws-cn': action.default('cloudfront'),
    'aws-eusc': action.default('cloudfront'),
    unknownRegion: action.default('cloudfront'),
    internet: placelessAction.default('cloudfront'),
  })
  .prefault({});

/** A registry's base: scheme and host, nothing else (a repository prefix goes in its own field). */
const registryOrigin = webUrl.refine((u) => {
  const url = new URL(u);
  return url.pathname === '/' && !url.search && !url.hash;
}, 'must be scheme and host only; put a repository prefix in pathPrefix');
const repositoryPrefix = z.string().regex(/^([a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*)?$/, 'must be a repository path like "org/images" (or empty)');

const overlayRange = z.strictObject({
  cidr: z.string(),
  cloud: z.enum(['aws', 'gcp']),
  region: z.string().min(1).max(64),
});

export const StageConfigSchema = z.strictObject({
  stage: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, 'must be lower case letters, digits and -, at most 16'),
  service: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/).default('registry-edge'),
  docsUrl: webUrl,
  /** Who may deploy the stage from GitHub Actions: the ci-role stack's OIDC trust (tools/stacks/ci-role-stack.ts). */
  ci: z
    .strictObject({
      /** owner/name of the repository whose workflows deploy this stage. */
      repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be a GitHub repository, owner/name').default('registry-edge/registry-edge'),
      /** The GitHub environment the deploy job runs in (its OIDC subject); defaults to the stage's name. */
      environment: z.string().regex(/^[A-Za-z0-9_.-]{1,255}$/, 'must be a GitHub environment name').optional(),
      /** The account's GitHub OIDC provider, when it exists already (an account holds one per URL); else the stack creates it. */
      oidcProviderArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/, 'must be the ARN of the token.actions.githubusercontent.com OIDC provider').optional(),
    })
    .prefault({}),
  upstream: z.strictObject({
    url: registryOrigin,
    pathPrefix: repositoryPrefix.default(''),
  }),
  buckets: z.strictObject({
    /** Buckets are named <prefix>-<stage>-<region> unless `names` says otherwise. */
    prefix: z.string().regex(/^[a-z0-9][a-z0-9-]{1,30}$/, 'must be 2-31 of a-z 0-9 -'),
    primaryRegion: commercialRegion,
    /** Every region holding a copy of the blobs, the primary's included. */
    regions: z.array(commercialRegion).min(1),
    names: z.record(z.string(), bucketName).default({}),
    /** The primary bucket exists already (the image promoter's); do not create it. */
    primaryExisting: z.boolean().default(false),
    blobPrefix: z.string().regex(/^([a-z0-9-]+\/)+$/, 'must be path segments ending in "/"').default('containers/images/'),
    publicEndpoint: endpointTemplate.default('https://{bucket}.s3.dualstack.{region}.amazonaws.com'),
    apiEndpoint: endpointTemplate.default('https://{bucket}.s3.{region}.amazonaws.com'),
  }),
  routing: z
    .strictObject({
      policy: policySchema,
      /** Pins the bucket region for client regions, overriding the distance-based choice. */
      nearest: z.record(z.string(), commercialRegion).default({}),
      verify: z
        .strictObject({
          enabled: z.boolean().default(true),
          timeoutMs: z.number().int().min(10).max(2000).default(300),
          cacheEntries: z.number().int().min(0).max(1_000_000).default(20_000),
          cacheSeconds: z.number().int().min(0).max(86_400).default(3_600),
          /** "Not there" answers: a few seconds, well under a new push's replication time. */
          negativeCacheSeconds: z.number().int().min(0).max(60).default(3),
        })
        .prefault({}),
      /** The `cdn` policy target: a CDN in front of the same blobs; blob URLs are baseUrl + digest. */
      cdn: z
        .strictObject({
          baseUrl: webUrl.refine((u) => {
            const url = new URL(u);
            return url.pathname.endsWith('/') && !url.search && !url.hash && !url.username && !url.password;
          }, 'must be a URL ending in "/" (the digest is appended), with no query, fragment or credentials'),
        })
        .optional(),
      /** Blobs both buckets lack (S3 403/404 on the CloudFront path): 307 to a registry, by default the upstream. */
      fallback: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Another registry instead of the upstream (scheme and host). */
          url: registryOrigin.optional(),
          pathPrefix: repositoryPrefix.optional(),
        })
        .refine((f) => f.pathPrefix === undefined || f.url !== undefined, { message: 'applies only with fallback.url (the upstream uses upstream.pathPrefix)', path: ['pathPrefix'] })
        .prefault({}),
    })
    .prefault({}),
  ranges: z
    .strictObject({
      awsUrl: webUrl.default('https://ip-ranges.amazonaws.com/ip-ranges.json'),
      gcpUrl: webUrl.or(z.literal('')).default('https://www.gstatic.com/ipranges/cloud.json'),
      schedule: z.string().default('rate(1 hour)'),
      /** Refuse a feed that lost more than this fraction of its prefixes (unless forced). */
      maxShrink: z.number().min(0).max(1).default(0.1),
      /** Refuse a feed whose covered address space (per family) grew more than this many times at once (unless forced). */
      maxGrowth: z.number().min(1).max(1_000_000).default(4),
      /**
       * The shortest prefix a feed may list, per family (a plausibility rule, layers/ranges/plausibility.ts).
       * Today's feeds list nothing shorter than /11 and /32; /0 is never accepted.
       */
      shortestPrefix: z
        .strictObject({
          ipv4: z.number().int().min(1).max(32).default(8),
          ipv6: z.number().int().min(1).max(128).default(16),
        })
        .prefault({}),
      refreshSeconds: z.number().int().min(0).max(86_400).default(300),
      refreshBudgetMs: z.number().int().min(10).max(2_000).default(500),
      configBucket: bucketName.optional(),
      pointerKey: z.string().regex(/^[a-z0-9/._-]+$/).default('ranges/current.json'),
      /** Extra ranges on top of the published ones (the local stack's loopback "clouds"). */
      overlay: z.array(overlayRange).default([]),
    })
    .prefault({}),
  replication: z
    .strictObject({
      /** Above this size copies use multipart UploadPartCopy (CopyObject stops at 5 GiB). */
      multipartThresholdBytes: z.number().int().min(5 * 1024 * 1024).max(5 * 1024 ** 3).default(512 * 1024 * 1024),
      partSizeBytes: z.number().int().min(5 * 1024 * 1024).max(5 * 1024 ** 3).default(64 * 1024 * 1024),
      concurrency: z.number().int().min(1).max(64).default(8),
      /** Parts copied at once within one multipart copy (on top of `concurrency` objects at once). */
      partConcurrency: z.number().int().min(1).max(64).default(8),
      propagateDeletes: z.boolean().default(false),
      reconcileSchedule: z.string().default('cron(0 3 * * ? *)'),
    })
    .prefault({}),
  distribution: z
    .strictObject({
      priceClass: z.enum(['PriceClass_100', 'PriceClass_200', 'PriceClass_All']).default('PriceClass_All'),
      aliases: z.array(z.string().regex(/^[a-z0-9.-]+$/)).default([]),
      certificateArn: z.string().regex(/^arn:aws:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]+$/, 'must be an ACM certificate ARN in us-east-1').optional(),
      /** Requests per 5 minutes from one IP before WAF blocks it. */
      wafRateLimit: z.number().int().min(10).max(2_000_000_000).default(3_000),
      /** CloudFront's additional distribution metrics (per-status error rates, origin latency, cache hit rate); billed per distribution. */
      additionalMetrics: z.boolean().default(false),
      /**
       * CloudFront standard logs (what `registry-edge cost-report` reads): gzip files in S3, delivered a few
       * times an hour. Present means on. Without `bucket` the main stack creates `<prefix>-<stage>-logs`.
       */
      accessLogs: z
        .strictObject({
          /** An existing bucket instead (it must have ACLs enabled: CloudFront delivers logs through an ACL grant). */
          bucket: bucketName.optional(),
          /** Key prefix of the log files. */
          prefix: z.string().regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'must be path segments ending in "/", or empty').max(200).default('cloudfront/'),
          /** Days the bucket the stack creates keeps log files (default 90). */
          expireDays: z.number().int().min(1).max(3650).optional(),
        })
        .refine((l) => l.bucket === undefined || l.expireDays === undefined, {
          message: 'applies only to the bucket the stack creates; set the lifecycle of your own bucket there',
          path: ['expireDays'],
        })
        .optional(),
    })
    .refine((d) => d.aliases.length === 0 || d.certificateArn !== undefined, { message: 'aliases need a certificateArn (CloudFront serves its own certificate only for *.cloudfront.net)', path: ['aliases'] })
    .prefault({}),
  /** The edge functions' CloudWatch metrics (EMF lines, gathered in memory between flushes). */
  edgeMetrics: z
    .strictObject({
      /** Seconds between two flushes of an edge instance's counters (on the first request after them). */
      flushSeconds: z.number().int().min(1).max(60).default(10),
    })
    .prefault({}),
  alarms: z
    .strictObject({
      email: z.email().optional(),
      /** Alarm when the published range table is older than this. */
      tableMaxAgeHours: z.number().min(1).default(48),
      /** Alarm when more than this percentage of viewer requests get a 5xx over 10 of 15 minutes. */
      serverErrorRatePercent: z.number().gt(0).max(100).default(5),
    })
    .prefault({}),
});

export type StageConfigInput = z.input<typeof StageConfigSchema>;
export type StageConfig = z.output<typeof StageConfigSchema>;

/** A stage's configuration, validated and with everything derived from it. */
export interface ResolvedConfig {
  stage: StageConfig;
  edge: EdgeConfig;
  primaryBucket: string;
  /** Buckets that receive copies from the primary (every region but the primary's). */
  replicaBuckets: { region: string; name: string }[];
  configBucket: string;
  /** Hosts a `Location` header may point at. */
  redirectHosts: string[];
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Validates `input` and derives the edge configuration; throws ConfigError naming the field. */
export function resolveConfig(input: unknown, source = 'configuration'): ResolvedConfig {
  const parsed = StageConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    throw new ConfigError(source, `${issue.path.join('.') || '(root)'}: ${issue.message}${more}`);
  }
  const stage = parsed.data;
  const fail = (field: string, message: string): never => {
    throw new ConfigError(source, `${field}: ${message}`);
  };
  const { buckets } = stage;
  if (new Set(buckets.regions).size !== buckets.regions.length) fail('buckets.regions', 'lists a region twice');
  if (!buckets.regions.includes(buckets.primaryRegion)) fail('buckets.primaryRegion', `"${buckets.primaryRegion}" is not in buckets.regions`);
  for (const region of Object.keys(buckets.names)) {
    if (!buckets.regions.includes(region)) fail(`buckets.names.${region}`, 'names a region that is not in buckets.regions');
  }
  const nameOf = (region: string) => buckets.names[region] ?? `${buckets.prefix}-${stage.stage}-${region}`;
  const bucketMap: Record<string, string> = {};
  for (const region of buckets.regions) {
    const name = nameOf(region);
    if (!bucketName.safeParse(name).success) fail('buckets.prefix', `gives the invalid bucket name "${name}"`);
    bucketMap[region] = name;
  }
  if (new Set(Object.values(bucketMap)).size !== buckets.regions.length) fail('buckets.names', 'gives two regions the same bucket');

  for (const [kind, target] of Object.entries(stage.routing.policy)) {
    if (target === 'cdn' && !stage.routing.cdn) fail(`routing.policy.${kind}`, 'is "cdn" but routing.cdn.baseUrl is not set');
  }
  for (const [from, to] of Object.entries(stage.routing.nearest)) {
    if (!findRegion(from)) fail(`routing.nearest.${from}`, 'is not a known AWS region');
    if (!buckets.regions.includes(to)) fail(`routing.nearest.${from}`, `"${to}" holds no bucket`);
  }

  // Every known region gets a bucket region, so the edge does no distance maths per request. Partitions
  // other than "aws" get one too: their policy decides whether it is used.
  const nearest: Record<string, string> = {};
  for (const region of REGIONS) {
    const choice = stage.routing.nearest[region.name] ?? nearestRegion(region.name, buckets.regions);
    if (choice) nearest[region.name] = choice;
  }

  const configBucket = stage.ranges.configBucket ?? `${buckets.prefix}-${stage.stage}-config`;
  const upstreamOrigin = new URL(stage.upstream.url).origin;
  const edge: EdgeConfig = {
    stage: stage.stage,
    blobPrefix: buckets.blobPrefix,
    primaryRegion: buckets.primaryRegion,
    buckets: bucketMap,
    publicEndpoint: buckets.publicEndpoint,
    apiEndpoint: buckets.apiEndpoint,
    nearest,
    upstream: { origin: upstreamOrigin, pathPrefix: stage.upstream.pathPrefix },
    docsUrl: stage.docsUrl,
    policy: stage.routing.policy,
    verify: stage.routing.verify,
    cdn: stage.routing.cdn ? { baseUrl: stage.routing.cdn.baseUrl } : null,
    fallback: {
      enabled: stage.routing.fallback.enabled,
      origin: stage.routing.fallback.url ? new URL(stage.routing.fallback.url).origin : upstreamOrigin,
      pathPrefix: stage.routing.fallback.url ? (stage.routing.fallback.pathPrefix ?? '') : stage.upstream.pathPrefix,
    },
    ranges: {
      refreshSeconds: stage.ranges.refreshSeconds,
      refreshBudgetMs: stage.ranges.refreshBudgetMs,
      configBucket: { name: configBucket, region: buckets.primaryRegion },
      pointerKey: stage.ranges.pointerKey,
    },
    metrics: { flushSeconds: stage.edgeMetrics.flushSeconds },
  };
  const redirectHosts = [
    ...new Set([
      ...buckets.regions.map((region) => new URL(bucketUrl(buckets.publicEndpoint, bucketMap[region]!, region)).host),
      new URL(upstreamOrigin).host,
      new URL(stage.docsUrl).host,
      ...(edge.cdn ? [new URL(edge.cdn.baseUrl).host] : []),
      ...(edge.fallback.enabled ? [new URL(edge.fallback.origin).host] : []),
    ]),
  ];
  return {
    stage,
    edge,
    primaryBucket: bucketMap[buckets.primaryRegion]!,
    replicaBuckets: buckets.regions.filter((r) => r !== buckets.primaryRegion).map((region) => ({ region, name: bucketMap[region]! })),
    configBucket,
    redirectHosts,
  };
}
