/**
 * How old the published table is, two ways: since its AWS feed was published (the feed's syncToken, its
 * publication time in epoch seconds) and since the table itself was published (the pointer's
 * publishedAt). Neither is clamped: a negative age means a time in the future, a fault the alarm and
 * `ranges status` must show rather than read as "fresh".
 */
import type { RangePointer } from './pointer';
import { tokenMs } from './version';

export interface TableAges {
  /** Seconds since the AWS feed behind the table was published; null when its token is not a time. */
  feedAgeSeconds: number | null;
  /** Seconds since the table was published. */
  publishedAgeSeconds: number | null;
}

const seconds = (fromMs: number, nowMs: number) => (Number.isFinite(fromMs) ? Math.round((nowMs - fromMs) / 1000) : null);

export function tableAges(pointer: Pick<RangePointer, 'syncToken' | 'publishedAt'>, nowMs: number): TableAges {
  return { feedAgeSeconds: seconds(tokenMs(pointer.syncToken, 'seconds'), nowMs), publishedAgeSeconds: seconds(Date.parse(pointer.publishedAt), nowMs) };
}
