/** Shapes shared by the range compiler, the wire format and the runtime table. */
import type { Cidr } from './ip';

export type Cloud = 'aws' | 'gcp';
export const CLOUDS: readonly Cloud[] = ['aws', 'gcp'];

/** Where a prefix lives: a cloud and its region (AWS `region`, GCP `scope`). */
export interface Place {
  cloud: Cloud;
  region: string;
}

export interface RangeEntry {
  cidr: Cidr;
  /** Index into the table's places. */
  place: number;
}

/** The prefixes a table is compiled from. */
export interface RangeTableData {
  places: Place[];
  entries: RangeEntry[];
}

export interface Classification {
  cloud: Cloud;
  region: string;
  /** The published CIDR that matched. */
  prefix: string;
}

/** Higher wins when an address falls in prefixes of two clouds (AWS is where our buckets are). */
export const CLOUD_PRIORITY: Record<Cloud, number> = { aws: 1, gcp: 0 };

/**
 * The lookup form: sorted, disjoint interval starts per family and, per interval, who wins there, packed
 * as `place | length << 8` (`NO_MATCH` where no prefix covers the interval). IPv6 starts take four words
 * each, most significant first.
 */
export interface Intervals {
  v4Starts: Uint32Array;
  v4Info: Uint16Array;
  v6Starts: Uint32Array;
  v6Info: Uint16Array;
}

export const NO_MATCH = 0xffff;
/** Places are stored in one byte of the interval info; 0xff is reserved for `NO_MATCH`. */
export const MAX_PLACES = 0xff;
