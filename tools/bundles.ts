/**
 * Builds a stage's functions into a temporary directory and loads them, for the CLI's `route`, the
 * handler tests and the local CloudFront emulator: always the bundled artefact, never the sources.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudFrontRequest, CloudFrontRequestEvent, CloudFrontResultResponse } from '../layers/cloudfront/events';
import { type BuildOptions, type BuildResult, buildStage } from './build';

export type EdgeHandler = (event: CloudFrontRequestEvent) => Promise<CloudFrontResultResponse | CloudFrontRequest>;

export interface TemporaryBuild extends BuildResult {
  /** `require`s a built function and returns its `handler`. */
  load(name: string): EdgeHandler;
  dispose(): void;
}

export async function buildTemporary(options: Omit<BuildOptions, 'outDir'>): Promise<TemporaryBuild> {
  const outDir = mkdtempSync(join(tmpdir(), `registry-edge-${options.stage}-`));
  try {
    const result = await buildStage({ ...options, outDir });
    return {
      ...result,
      load(name) {
        const fn = result.functions[name];
        if (!fn) throw new Error(`function ${name} was not built`);
        return require(fn.file).handler as EdgeHandler;
      },
      dispose() {
        for (const fn of Object.values(result.functions)) delete require.cache[require.resolve(fn.file)];
        rmSync(outDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(outDir, { recursive: true, force: true });
    throw error;
  }
}
