/**
 * Generated CloudFront standard logs with a known answer, for the cost-report and plan-regions tests
 * and the bench: a small range feed in which each documentation prefix is one place, and log lines
 * written the way CloudFront writes them (layers/costs/access-log.ts formats them, as the emulator does).
 *
 * Stage: the test configuration (test/support/configs.ts): buckets in us-east-1 (primary), eu-west-1 and
 * ap-southeast-1.
 */
import { createHash } from 'node:crypto';
import { formatLogLine, logHeader } from '../../layers/costs/access-log';
import type { AwsFeed, GcpFeed } from '../../layers/ranges/feeds';

const aws = (ip_prefix: string, region: string) => ({ ip_prefix, region, service: 'EC2' });

export const COST_AWS_FEED = {
  syncToken: '1764201600',
  createDate: '2026-11-27-00-00-00',
  prefixes: [aws('192.0.2.0/26', 'us-east-1'), aws('192.0.2.64/26', 'eu-west-1'), aws('192.0.2.128/26', 'ap-south-1'), aws('192.0.2.192/26', 'sa-east-1'), aws('198.51.100.0/26', 'ap-southeast-1'), aws('198.51.100.64/26', 'GLOBAL')],
  ipv6_prefixes: [{ ipv6_prefix: '2001:db8:1::/48', region: 'eu-west-1', service: 'EC2' }],
} as unknown as AwsFeed;
export const COST_GCP_FEED = { syncToken: '1', creationTime: '2026-11-27T00:00:00', prefixes: [{ ipv4Prefix: '203.0.113.0/24', scope: 'us-central1' }] } as unknown as GcpFeed;

/** One client address per place. */
export const CLIENTS = {
  usEast: '192.0.2.10',
  euWest: '192.0.2.70',
  apSouth: '192.0.2.130', // no bucket: ap-southeast-1 is nearest
  saEast: '192.0.2.200', // no bucket
  apSoutheast: '198.51.100.10',
  cloudfront: '198.51.100.70', // GLOBAL: CloudFront's own addresses
  gcp: '203.0.113.5',
  internet: '8.8.8.8',
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
