/**
 * The viewer-request handler, assembled from its parts: classify the viewer, decide, verify a redirect
 * target, answer in CloudFront's shape. The function in `functions/edge-viewer-request` only supplies the
 * configuration and table compiled into its bundle.
 */
import type { EdgeConfig } from '../config/edge';
import type { RangeTable } from '../net/table';
import type { Place } from '../net/types';
import { type BlobChecker, createBlobChecker } from '../routing/blob-check';
import { type Decision, plannerFor, respondError } from '../routing/policy';
import { applyDecision, type CloudFrontRequest, type CloudFrontRequestEvent, type CloudFrontResultResponse } from './events';

export interface ViewerRequestDeps {
  config: EdgeConfig;
  /** The current range table (it may be swapped by a refresh between requests). */
  table: () => RangeTable;
  /** Called before each request; may refresh the table within the configured time budget (a promise then). */
  beforeRequest?: () => Promise<void> | undefined;
  checker?: BlobChecker;
  /**
   * Told what was planned and what was done for each request (planned null: it failed), and the bucket
   * region when the plan was a redirect to a bucket (so that the metrics need not find it in the Location).
   */
  observe?: (planned: Decision | null, decision: Decision, plannedBucketRegion?: string | null) => void;
  /** Receives one structured record per request (the function logs it). */
  log?: (record: Record<string, unknown>) => void;
}

export type ViewerRequestHandler = (event: CloudFrontRequestEvent) => Promise<CloudFrontResultResponse | CloudFrontRequest>;

/** The viewer's place. `clientIp` is CloudFront's, well-formed: the lazy lookup is safe for it. */
export function placeOf(table: RangeTable, clientIp: string): Place | null {
  const slot = table.lookupClientIp(clientIp);
  return slot < 0 ? null : table.place(slot);
}

export function createViewerRequestHandler(deps: ViewerRequestDeps): ViewerRequestHandler {
  const { config } = deps;
  const checker = deps.checker ?? createBlobChecker(config.verify);
  const planner = plannerFor(config);
  return async (event) => {
    const request = event?.Records?.[0]?.cf?.request;
    if (!request) return applyDecision(respondError({ status: 400, code: 'UNSUPPORTED', message: 'malformed request' }), {} as CloudFrontRequest);
    try {
      // Most requests have nothing to wait for: no promise, no await (each costs a turn of the microtask queue).
      const refreshing = deps.beforeRequest?.();
      if (refreshing) await refreshing;
      const place = placeOf(deps.table(), request.clientIp);
      const planned = planner.plan(request, place);
      let decision = planned;
      let verified: boolean | undefined;
      const check = planned.action === 'redirect' ? planned.verify : undefined;
      if (check !== undefined) {
        const known = checker.exists(check.url, check.digest, check.bucketRegion);
        verified = typeof known === 'boolean' ? known : await known;
        if (!verified) decision = check.fallback;
      }
      deps.observe?.(planned, decision, check?.bucketRegion ?? null);
      deps.log?.({ uri: request.uri, method: request.method, cloud: place?.cloud ?? null, region: place?.region ?? null, action: decision.action, status: 'status' in decision ? decision.status : undefined, verified });
      return applyDecision(decision, request);
    } catch (error) {
      // Nothing above should throw; if it does, the client gets a clear error rather than a CloudFront 503.
      deps.log?.({ uri: request.uri, error: (error as Error).message });
      const failed = respondError({ status: 500, code: 'UNSUPPORTED', message: 'internal error' });
      deps.observe?.(null, failed);
      return applyDecision(failed, request);
    }
  };
}
