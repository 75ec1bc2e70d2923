import type { EdgeConfig } from '../../layers/config/edge';

/** The edge configuration, compiled into the bundle by tools/build.ts. */
export declare const edgeConfig: EdgeConfig;
