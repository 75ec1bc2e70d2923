/**
 * Which AWS partition a region name belongs to, by its name alone: AWS names the regions of its separate
 * partitions with their own prefixes (`us-gov-`, `cn-`, `eusc-`), so this holds for regions newer than any
 * table too. Apart from regions.ts (its table of locations agrees with this, and its test checks it) so
 * that the viewer's bundle, which needs the partition and no location, leaves the table out: it costs a
 * cold start its parse and build (about 0.1 ms of module init here) and is never read at the edge.
 */

/** Partitions are separate clouds: traffic between them is internet traffic, priced as such. */
export type Partition = 'aws' | 'aws-us-gov' | 'aws-cn' | 'aws-eusc';

/** The partition a region name belongs to, also for regions newer than the topology table. */
export function partitionOf(name: string): Partition {
  if (name.startsWith('us-gov-')) return 'aws-us-gov';
  if (name.startsWith('cn-')) return 'aws-cn';
  if (name.startsWith('eusc-')) return 'aws-eusc';
  return 'aws';
}
