/**
 * AWS regions: which partition each belongs to and roughly where it is, to find the nearest region that
 * holds a bucket. Coordinates are those of the region's metro area, good enough to rank distances; regions
 * marked `approximate` had no published location when this table was written (operators can pin their
 * routing with `routing.nearest` in the stage configuration).
 */

import type { Partition } from './partition';

export { type Partition, partitionOf } from './partition';

export interface Region {
  name: string;
  partition: Partition;
  lat: number;
  lon: number;
  approximate?: true;
  /** Regions to prefer, in order, over the distance ranking: where the cables run differs from the map. */
  prefer?: readonly string[];
}

const r = (name: string, lat: number, lon: number, partition: Partition = 'aws', approximate?: true): Region => ({
  name,
  partition,
  lat,
  lon,
  ...(approximate ? { approximate } : {}),
});

export const REGIONS: readonly Region[] = [
  r('us-east-1', 38.9, -77.4), // N. Virginia
  r('us-east-2', 40.0, -83.0), // Ohio
  r('us-west-1', 37.4, -122.0), // N. California
  r('us-west-2', 45.8, -119.7), // Oregon
  r('us-south-1', 32.8, -96.8, 'aws', true), // listed in ip-ranges.json; location not yet published
  r('ca-central-1', 45.5, -73.6), // Montreal
  r('ca-west-1', 51.0, -114.1), // Calgary
  r('mx-central-1', 20.6, -100.4), // Querétaro
  r('sa-east-1', -23.5, -46.6), // São Paulo
  r('sa-west-1', -33.4, -70.6, 'aws', true), // Santiago
  r('eu-west-1', 53.3, -6.3), // Ireland
  r('eu-west-2', 51.5, -0.1), // London
  r('eu-west-3', 48.9, 2.3), // Paris
  r('eu-central-1', 50.1, 8.7), // Frankfurt
  r('eu-central-2', 47.4, 8.5), // Zurich
  r('eu-north-1', 59.3, 18.1), // Stockholm
  r('eu-south-1', 45.5, 9.2), // Milan
  r('eu-south-2', 41.6, -0.9), // Aragón
  r('il-central-1', 32.1, 34.8), // Tel Aviv
  r('me-south-1', 26.1, 50.6), // Bahrain
  r('me-central-1', 24.5, 54.4), // UAE
  r('me-west-1', 24.7, 46.7, 'aws', true), // Saudi Arabia
  // Cape Town is about as far from Singapore as from Dublin, but its cables run to Europe (~150 ms vs ~260 ms).
  { ...r('af-south-1', -33.9, 18.4), prefer: ['eu-west-2', 'eu-west-1', 'eu-central-1', 'eu-south-1', 'eu-west-3'] }, // Cape Town
  r('ap-south-1', 19.1, 72.9), // Mumbai
  r('ap-south-2', 17.4, 78.5), // Hyderabad
  r('ap-east-1', 22.3, 114.2), // Hong Kong
  r('ap-east-2', 25.0, 121.5), // Taipei
  r('ap-northeast-1', 35.7, 139.7), // Tokyo
  r('ap-northeast-2', 37.6, 127.0), // Seoul
  r('ap-northeast-3', 34.7, 135.5), // Osaka
  r('ap-southeast-1', 1.35, 103.8), // Singapore
  r('ap-southeast-2', -33.9, 151.2), // Sydney
  r('ap-southeast-3', -6.2, 106.8), // Jakarta
  r('ap-southeast-4', -37.8, 145.0), // Melbourne
  r('ap-southeast-5', 3.1, 101.7), // Malaysia
  r('ap-southeast-6', -36.8, 174.8), // New Zealand
  r('ap-southeast-7', 13.8, 100.5), // Thailand
  r('us-gov-west-1', 45.6, -121.2, 'aws-us-gov'),
  r('us-gov-east-1', 40.0, -83.0, 'aws-us-gov'),
  r('cn-north-1', 39.9, 116.4, 'aws-cn'), // Beijing
  r('cn-northwest-1', 37.5, 105.2, 'aws-cn'), // Ningxia
  r('eusc-de-east-1', 52.4, 13.1, 'aws-eusc'), // Brandenburg
];

const BY_NAME = new Map(REGIONS.map((region) => [region.name, region]));

export function findRegion(name: string): Region | undefined {
  return BY_NAME.get(name);
}

/** Great-circle distance in km. */
export function distanceKm(a: Region, b: Region): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The candidate nearest to `from`: its own region, else a preferred one, else the closest by great-circle
 * distance (ties: the first in `candidates`). Undefined when `from` has no known location.
 */
export function nearestRegion(from: string, candidates: readonly string[]): string | undefined {
  if (candidates.includes(from)) return from;
  const origin = BY_NAME.get(from);
  if (!origin) return undefined;
  const preferred = origin.prefer?.find((name) => candidates.includes(name));
  if (preferred) return preferred;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of candidates) {
    const candidate = BY_NAME.get(name);
    if (!candidate) continue;
    const d = distanceKm(origin, candidate);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}
