import type { Command } from 'commander';
import { requireTool } from '../../local/processes';
import { smoke, SmokeUsageError } from '../../layers/smoke/smoke';
import { fail, printJson } from '../io';

function parseBoolean(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new SmokeUsageError(`--tls-verify ${value}: true or false`);
}

export function registerSmoke(program: Command): void {
  program
    .command('smoke')
    .description(
      'Pull an image through a deployed endpoint with skopeo, check every digest, and report where each blob was served from (one JSON object per blob, then a summary). Exits 1 on any problem.',
    )
    .requiredOption('--endpoint <url>', 'the distribution, e.g. https://d111111abcdef8.cloudfront.net')
    .requiredOption('--image <name:tag>', 'an image the endpoint serves, NAME:TAG or NAME@DIGEST')
    .option('--tls-verify <boolean>', "check the endpoint's certificate (always off for http://)", parseBoolean, true)
    .option('--timeout <seconds>', 'longest the pull may take', (v) => Number(v), 600)
    .action(async (options: { endpoint: string; image: string; tlsVerify: boolean; timeout: number }) => {
      const skopeo = requireTool('skopeo', 'skopeo');
      const summary = await smoke({
        endpoint: options.endpoint,
        image: options.image,
        tlsVerify: options.tlsVerify,
        skopeo,
        timeoutMs: options.timeout * 1000,
        onBlob: (report) => printJson(report),
      });
      printJson(summary);
      if (!summary.ok) fail(1);
    });
}
