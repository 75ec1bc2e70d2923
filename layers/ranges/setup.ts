/**
 * A stage's range-update settings, from its resolved configuration: where the feeds come from, which
 * bucket and pointer to publish to, the shrink guard and overlay. The Lambda and `registry-edge ranges`
 * both start here, so they run the same update.
 */
import type { ResolvedConfig } from '../config/schema';
import { clientOptionsForTemplate, createS3Client, type S3Client } from '../s3/client';
import type { OverlayRange } from './compile';
import type { FeedRules } from './plausibility';
import { type RangeStore, s3RangeStore } from './store';

export interface RangeUpdateSetup {
  sources: { aws: string; gcp: string | null };
  store: RangeStore;
  bucket: { name: string; region: string };
  maxShrink: number;
  maxGrowth: number;
  feedRules: FeedRules;
  overlay: OverlayRange[];
}

/** `client` defaults to one for the stage's `buckets.apiEndpoint` in the config bucket's region. */
export function rangeUpdateSetup(config: ResolvedConfig, client?: S3Client): RangeUpdateSetup {
  const { ranges, buckets } = config.stage;
  const bucket = { name: config.configBucket, region: buckets.primaryRegion };
  const s3 = client ?? createS3Client(clientOptionsForTemplate(buckets.apiEndpoint, bucket.region));
  return {
    sources: { aws: ranges.awsUrl, gcp: ranges.gcpUrl === '' ? null : ranges.gcpUrl },
    store: s3RangeStore(s3, bucket.name, ranges.pointerKey),
    bucket,
    maxShrink: ranges.maxShrink,
    maxGrowth: ranges.maxGrowth,
    feedRules: { shortestPrefix: { ...ranges.shortestPrefix } },
    overlay: ranges.overlay,
  };
}
