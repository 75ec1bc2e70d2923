/** A stage configuration for tests: three bucket regions, an upstream with a path prefix. */
import { mergeConfig } from '../../tools/build';
import { type ResolvedConfig, resolveConfig } from '../../layers/config/schema';

export const TEST_CONFIG = {
  stage: 'test',
  docsUrl: 'https://docs.example.org/registry',
  upstream: { url: 'https://upstream.example.org', pathPrefix: 'org/images' },
  buckets: { prefix: 'edge', primaryRegion: 'us-east-1', regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1'] },
};

export function testConfig(override: Record<string, unknown> = {}): ResolvedConfig {
  return resolveConfig(mergeConfig(TEST_CONFIG, override), 'test config');
}
