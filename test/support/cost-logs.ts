/**
 * Generated CloudFront standard logs with a known answer, for the cost-report and plan-regions tests
 * and the bench: clients placed by the stage configuration's range overlay (as the local stack places
 * 127.0.x addresses), so the CLI compiles the real feed snapshots under the real feed rules, and log lines
 * written the way CloudFront writes them (layers/costs/access-log.ts formats them, as the emulator does).
 *
 * Stage: the test configuration (test/support/configs.ts) with that overlay: buckets in us-east-1
 * (primary), eu-west-1 and ap-southeast-1.
 */
import { createHash } from 'node:crypto';
import type { ResolvedConfig } from '../../layers/config/schema';
import { formatLogLine, logHeader } from '../../layers/costs/access-log';
import { createRouter, type Router } from '../../layers/costs/attribute';
import { loadTable } from '../../layers/net/load';
import { compileStageRanges } from '../../tools/build';
import { TEST_CONFIG, testConfig } from './configs';

/** One /24 per place. */
export const COST_OVERLAY = [
  { cidr: '127.0.11.0/24', cloud: 'aws', region: 'us-east-1' },
  { cidr: '127.0.12.0/24', cloud: 'aws', region: 'eu-west-1' },
  { cidr: '127.0.13.0/24', cloud: 'aws', region: 'ap-south-1' },
  { cidr: '127.0.14.0/24', cloud: 'aws', region: 'sa-east-1' },
  { cidr: '127.0.15.0/24', cloud: 'aws', region: 'ap-southeast-1' },
  { cidr: '127.0.16.0/24', cloud: 'aws', region: 'GLOBAL' },
  { cidr: '127.0.17.0/24', cloud: 'gcp', region: 'us-central1' },
] as const;

/** The stage configuration file the CLI tests write (`--config`). */
export const COST_STAGE_CONFIG = { ...TEST_CONFIG, ranges: { overlay: COST_OVERLAY } };

export const costConfig = (): ResolvedConfig => testConfig({ ranges: { overlay: COST_OVERLAY } });

/** The router the CLI builds for that configuration (the data/ snapshots and the overlay). */
export function costRouter(config: ResolvedConfig = costConfig()): Router {
  return createRouter(config.edge, loadTable(compileStageRanges(config).bytes).table);
}

/** One client address per place. */
export const CLIENTS = {
  usEast: '127.0.11.10',
  euWest: '127.0.12.10',
  apSouth: '127.0.13.10', // no bucket: ap-southeast-1 is nearest
  saEast: '127.0.14.10', // no bucket
  apSoutheast: '127.0.15.10',
  cloudfront: '127.0.16.10', // GLOBAL: CloudFront's own addresses
  gcp: '127.0.17.10',
  internet: '127.0.0.1', // in no range
} as const;

export const digestOf = (seed: string) => `sha256:${createHash('sha256').update(seed).digest('hex')}`;
export const blobUri = (digest: string) => `/v2/org/app/blobs/${digest}`;

export interface LogLineSpec {
  at: Date;
  ip: string;
  uri: string;
  status: number;
  scBytes: number;
  method?: string;
  resultType?: string;
}

export function cloudFrontLine(l: LogLineSpec): string {
  const iso = l.at.toISOString();
  return formatLogLine({
    date: iso.slice(0, 10),
    time: iso.slice(11, 19),
    'x-edge-location': 'IAD89-C1',
    'c-ip': l.ip,
    'cs-method': l.method ?? 'GET',
    'cs(Host)': 'd111111abcdef8.cloudfront.net',
    'cs-uri-stem': l.uri,
    'sc-status': l.status,
    'sc-bytes': l.scBytes,
    'cs(User-Agent)': 'containerd/1.7.24',
    'x-edge-result-type': l.resultType ?? (l.status === 307 ? 'LambdaGeneratedResponse' : 'Miss'),
    'x-edge-request-id': createHash('md5').update(`${iso}${l.ip}${l.uri}`).digest('base64url'),
    'cs-protocol': 'https',
  });
}

export { logHeader };

/** `count` redirected downloads of `digest` by `ip`, spread evenly over [from, from + days). */
export function redirects(ip: string, digest: string, count: number, from: Date, days: number): LogLineSpec[] {
  const span = days * 86_400_000;
  return Array.from({ length: count }, (_, i) => ({ at: new Date(from.getTime() + Math.floor((i * span) / count)), ip, uri: blobUri(digest), status: 307, scBytes: 450 }));
}

/** A whole log file, its lines in time order. */
export function logText(lines: LogLineSpec[]): string {
  return logHeader() + [...lines].sort((a, b) => a.at.getTime() - b.at.getTime()).map(cloudFrontLine).join('');
}
