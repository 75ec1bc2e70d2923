/**
 * Modules the build supplies (tools/build.ts): configuration and data compiled into a function's bundle,
 * because Lambda@Edge has no environment variables.
 */
declare module 'registry-edge:edge-config' {
  import type { EdgeConfig } from '../layers/config/edge';
  export const edgeConfig: EdgeConfig;
}

declare module 'registry-edge:stage-config' {
  import type { ResolvedConfig } from '../layers/config/schema';
  /** The whole resolved stage configuration (regular Lambdas only; the edge gets `edgeConfig`). */
  export const stageConfig: Omit<ResolvedConfig, 'stage'> & { stage: ResolvedConfig['stage'] };
}

declare module 'registry-edge:ranges' {
  /** The range table compiled from the snapshot at build time (`ranges.bin` beside the bundle). */
  export const embeddedTable: Uint8Array;
}
