import { basename } from 'node:path';
import type { Command } from 'commander';
import { describeResult, splitUri, viewerRequestEvent } from '../../layers/cloudfront/events';
import { ROOT } from '../../tools/build';
import { buildTemporary } from '../../tools/bundles';
import { printJson } from '../io';

interface RouteOptions {
  aws?: string;
  gcp?: string;
  config?: string;
  ip: string;
  method: string;
  verify?: boolean;
}

export function registerRoute(program: Command): void {
  program
    .command('route')
    .description('Run the bundled viewer-request handler on one request and print what CloudFront would do.')
    .argument('<uri>', 'request path, optionally with ?query')
    .requiredOption('--ip <ip>', 'the viewer address (cf.request.clientIp)')
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--config <file>', 'stage configuration', `${ROOT}/config/prod.json`)
    .option('--aws <file>', 'AWS ip-ranges.json (default: the embedded snapshot)')
    .option('--gcp <file>', 'GCP cloud.json (default: the embedded snapshot)')
    .option('--verify', 'check that a redirect target holds the blob (a network call)')
    .action(async (uriWithQuery: string, options: RouteOptions) => {
      const stage = basename(options.config!, '.json');
      // No network unless asked: no existence check and no range refresh.
      const build = await buildTemporary({
        stage,
        configPath: options.config,
        override: { routing: { verify: { enabled: Boolean(options.verify) } }, ranges: { refreshSeconds: 0 } },
        ...(options.aws ? { awsFeed: options.aws } : {}),
        ...(options.gcp ? { gcpFeed: options.gcp } : {}),
        only: ['edge-viewer-request'],
      });
      try {
        const handler = build.load('edge-viewer-request');
        const { uri, querystring } = splitUri(uriWithQuery);
        const result = await handler(viewerRequestEvent({ clientIp: options.ip, method: options.method.toUpperCase(), uri, querystring }));
        printJson(describeResult(result));
      } finally {
        build.dispose();
      }
    });
}
