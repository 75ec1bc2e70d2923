import type { Command } from 'commander';
import { loadTable } from '../../layers/net/load';
import type { RangeTable } from '../../layers/net/table';
import { compileFeedFiles } from '../../tools/build';
import { fail, printJson, readStdin } from '../io';

export interface FeedOptions {
  aws?: string;
  gcp?: string;
}

/** The range table from --aws/--gcp, each defaulting to the snapshot the edge bundle embeds. */
export function tableFromFeeds(options: FeedOptions): RangeTable {
  return loadTable(compileFeedFiles(options.aws, options.gcp).bytes).table;
}

export function registerClassify(program: Command): void {
  program
    .command('classify')
    .description('Print the cloud, region and matched prefix of each IP address (one JSON object per line).')
    .argument('<ip...>', 'addresses, or - to read one per line from standard input')
    .option('--aws <file>', 'AWS ip-ranges.json (default: the embedded snapshot)')
    .option('--gcp <file>', 'GCP cloud.json (default: the embedded snapshot)')
    .action(async (ips: string[], options: FeedOptions) => {
      const table = tableFromFeeds(options);
      const inputs: string[] = [];
      for (const ip of ips) {
        if (ip === '-') inputs.push(...(await readStdin()).split('\n').map((line) => line.trim()).filter(Boolean));
        else inputs.push(ip);
      }
      let invalid = 0;
      for (const ip of inputs) {
        const answer = table.classify(ip);
        if (answer === undefined) {
          invalid++;
          printJson({ ip, error: 'not an IPv4 or IPv6 address' });
        } else {
          printJson({ ip, cloud: answer?.cloud ?? null, region: answer?.region ?? null, prefix: answer?.prefix ?? null });
        }
      }
      if (invalid > 0) fail(1);
    });
}
