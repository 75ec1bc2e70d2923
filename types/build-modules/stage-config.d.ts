import type { ResolvedConfig } from '../../layers/config/schema';

/** The whole resolved stage configuration (regular Lambdas only; the edge gets `edgeConfig`). */
export declare const stageConfig: ResolvedConfig;
