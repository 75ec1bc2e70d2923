/**
 * The edge's side of range updates: start from the table compiled into the bundle, and take up newer
 * tables the updater publishes to the config bucket, without a redeploy.
 *
 * - A refresh is due at cold start and then at most every `refreshSeconds`. It reads the pointer (a
 *   conditional GET: usually a 304), and only when the pointer names a newer table, the table itself.
 * - A request waits for a refresh in flight at most `refreshBudgetMs`; past that it goes on with the
 *   current table and the refresh carries on, for a later request to find finished. (A Lambda is frozen
 *   between invocations, so a refresh makes progress while requests run; waiting a little helps it along.)
 * - A table is taken only if its pointer's generation is higher than the current table's, its bytes match
 *   the pointer's SHA-256, it decodes with every structural check, and it says the same feed version as
 *   the pointer. The generation decides, not the feed tokens: a rollback republishes an older table under
 *   a higher generation, and warm instances must take it. The embedded table counts as generation 0, so
 *   whatever is published wins over it. A pointer of a lower generation than the current table's is
 *   refused (someone put an old pointer back by hand; `ranges rollback` is the way). A pointer written
 *   before generations existed (generation 0) is judged by feed tokens, as it was.
 *   On any error the current table stays and the next attempt backs off.
 *
 * Requests to the private bucket are signed (SigV4, ../http/sigv4.ts) with the credentials the Lambda
 * runtime puts in the environment; with none (a local S3 without auth) they go unsigned. No AWS SDK, no
 * schema library, no fetch (the edge's own client, ../http/client.ts): this module is in the viewer's bundle.
 */
import { bucketUrl, type EdgeConfig } from '../config/edge';
import { BodyTooLarge, type HttpClient, type HttpResponse, httpRequest } from '../http/client';
import { type Credentials, signS3Read } from '../http/sigv4';
import type { TableMetadata } from '../net/codec';
import { type LoadedTable, loadTable } from '../net/load';
import type { RangeTable } from '../net/table';
import { MAX_POINTER_BYTES, parsePointer, pointerVersion, readableFormat, sha256Hex } from './pointer';
import { supersedes, type TableVersion, versionOf } from './version';

export type { Credentials };

/** The Lambda runtime's credentials (set for edge functions too, unlike user environment variables). */
export function credentialsFromEnv(env: Record<string, string | undefined>): Credentials | undefined {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

export interface RefresherOptions {
  /** The table to start from (the one compiled into the bundle). */
  initial: LoadedTable;
  config: Pick<EdgeConfig, 'ranges' | 'apiEndpoint'>;
  credentials?: () => Credentials | undefined;
  /** The HTTP client (the edge's own by default). */
  http?: HttpClient;
  now?: () => number;
  /** Receives a record when a table is taken up or a refresh fails. */
  log?: (record: Record<string, unknown>) => void;
  /** A refresh still running after this long is abandoned (it counts as a failure). */
  timeoutMs?: number;
}

export interface RefreshStatus {
  /** "embedded", or the key of the table taken from the bucket. */
  source: string;
  version: TableVersion | null;
  /** The generation of the pointer the current table came from; 0 for the embedded table. */
  generation: number;
  metadata: TableMetadata;
  /** Refreshes that ended, tables taken up, failures in a row, and the last failure. */
  refreshes: number;
  swaps: number;
  failures: number;
  lastError: string | null;
  /** When the next refresh may start (epoch ms); 0 before the first. */
  nextRefreshAt: number;
}

export interface RangeRefresher {
  table(): RangeTable;
  /**
   * Starts a refresh when one is due and waits for one in flight, at most the budget. Never throws.
   * Returns nothing when there is nothing to wait for (most requests), so that they await nothing.
   * `at`: the request's arrival (epoch ms), when the caller has read the clock already.
   */
  beforeRequest(at?: number): Promise<void> | undefined;
  status(): RefreshStatus;
  /** Resolves when no refresh is in flight (tests and benchmarks). */
  idle(): Promise<void>;
}

/** A failure that another attempt at the same pointer would repeat (bad checksum, unreadable table). */
class Rejected extends Error {}

/** Backoff after `failures` failures in a row: doubling from the refresh interval, at most an hour. */
function backoffMs(refreshMs: number, failures: number): number {
  return Math.min(refreshMs * 2 ** Math.min(failures - 1, 10), Math.max(refreshMs, 3_600_000));
}

const defaultLog = (record: Record<string, unknown>) => console.log(JSON.stringify(record));

export function createRangeRefresher(options: RefresherOptions): RangeRefresher {
  const { ranges, apiEndpoint } = options.config;
  const http = options.http ?? httpRequest;
  const now = options.now ?? Date.now;
  const log = options.log ?? defaultLog;
  // Generous: a refresh blocks no request beyond the budget, and a frozen instance's clock runs on.
  const timeoutMs = options.timeoutMs ?? 30_000;
  const refreshMs = ranges.refreshSeconds * 1000;
  const bucket = ranges.configBucket;
  const enabled = refreshMs > 0 && bucket !== null;
  const base = bucket ? bucketUrl(apiEndpoint, bucket.name, bucket.region) : '';

  let current = { table: options.initial.table, metadata: options.initial.metadata, version: versionOf(options.initial.metadata), source: 'embedded', generation: 0 };
  /** ETag of the last pointer dealt with for good (taken up, not newer, or rejected). */
  let pointerEtag: string | null = null;
  let inflight: Promise<void> | null = null;
  let nextRefreshAt = 0;
  let refreshes = 0;
  let swaps = 0;
  let failures = 0;
  let lastError: string | null = null;

  function get(key: string, signal: AbortSignal, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const url = `${base}/${key}`;
    const credentials = options.credentials?.();
    return http(url, { headers: credentials ? signS3Read({ method: 'GET', url, headers, credentials, region: bucket!.region }) : headers, signal });
  }

  /**
   * Reads a body of at most `limit` bytes, as delivered: the client inflates a gzip-encoded table on the
   * way in, and checks the limit while reading (a small compressed body may inflate to anything).
   */
  async function body(response: HttpResponse, limit: number, what: string): Promise<Uint8Array> {
    try {
      return await response.body(limit);
    } catch (error) {
      if (error instanceof BodyTooLarge) throw new Rejected(`${what} is larger than ${limit} bytes`);
      throw error;
    }
  }

  /** Whether a pointer of `generation` announcing `version` replaces the current table (see the top). */
  function takes(generation: number, version: TableVersion): boolean {
    if (generation > 0 || current.generation > 0) return generation > current.generation;
    return supersedes(version, current.version);
  }

  async function attempt(signal: AbortSignal): Promise<void> {
    const pointerResponse = await get(ranges.pointerKey, signal, pointerEtag ? { 'if-none-match': pointerEtag } : {});
    if (pointerResponse.status === 304) return;
    if (pointerResponse.status !== 200) {
      pointerResponse.discard();
      throw new Error(`pointer ${ranges.pointerKey}: HTTP ${pointerResponse.status}`);
    }
    const etag = pointerResponse.header('etag') ?? null;
    const settle = () => {
      pointerEtag = etag;
    };
    try {
      const pointer = parsePointer(new TextDecoder().decode(await body(pointerResponse, MAX_POINTER_BYTES, 'the pointer')));
      if (typeof pointer === 'string') throw new Rejected(`pointer ${ranges.pointerKey}: ${pointer}`);
      if (!readableFormat(pointer)) throw new Rejected(`table format ${pointer.tableFormat} is not readable by this build`);
      const announced = pointerVersion(pointer);
      if (!takes(pointer.generation, announced)) {
        if (pointer.generation < current.generation) {
          settle();
          throw new Rejected(`pointer ${ranges.pointerKey} has generation ${pointer.generation}, lower than the current table's ${current.generation} (${current.source}); refused`);
        }
        return settle();
      }

      const tableResponse = await get(pointer.key, signal);
      if (tableResponse.status !== 200) {
        tableResponse.discard();
        throw new Error(`table ${pointer.key}: HTTP ${tableResponse.status}`);
      }
      const bytes = await body(tableResponse, pointer.bytes, `table ${pointer.key}`);
      if (bytes.length !== pointer.bytes) throw new Rejected(`table ${pointer.key} is ${bytes.length} bytes, the pointer says ${pointer.bytes}`);
      const sha256 = sha256Hex(bytes);
      if (sha256 !== pointer.sha256) throw new Rejected(`table ${pointer.key} has SHA-256 ${sha256}, the pointer says ${pointer.sha256}`);
      let loaded: LoadedTable;
      try {
        loaded = loadTable(bytes, { check: true });
      } catch (error) {
        throw new Rejected(`table ${pointer.key}: ${(error as Error).message}`);
      }
      const version = versionOf(loaded.metadata);
      if (version === null || version.aws !== announced.aws || version.gcp !== announced.gcp) throw new Rejected(`table ${pointer.key} is not the version its pointer announces`);
      // Checked again: another refresh cannot have run meanwhile, but the rule is cheap and must hold.
      if (!takes(pointer.generation, version)) return settle();
      const previous = current;
      current = { table: loaded.table, metadata: loaded.metadata, version, source: pointer.key, generation: pointer.generation };
      swaps++;
      settle();
      log({
        event: 'ranges-refresh',
        outcome: 'swapped',
        key: pointer.key,
        generation: pointer.generation,
        syncToken: version.aws,
        gcpSyncToken: version.gcp,
        previousSyncToken: previous.version?.aws ?? null,
        previousGeneration: previous.generation,
      });
    } catch (error) {
      if (error instanceof Rejected) settle();
      throw error;
    }
  }

  async function refresh(): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await attempt(signal);
      failures = 0;
      lastError = null;
    } catch (error) {
      failures++;
      lastError = signal.aborted ? `no answer within ${timeoutMs} ms` : (error as Error).message;
      nextRefreshAt = now() + backoffMs(refreshMs, failures);
      log({ event: 'ranges-refresh', outcome: 'error', error: lastError, failures, retryInSeconds: Math.round((nextRefreshAt - now()) / 1000) });
    } finally {
      refreshes++;
    }
  }

  return {
    table: () => current.table,

    beforeRequest(at?: number) {
      if (!enabled) return undefined;
      const arrived = at ?? now();
      if (inflight === null && arrived >= nextRefreshAt) {
        nextRefreshAt = arrived + refreshMs;
        inflight = refresh().finally(() => {
          inflight = null;
        });
      }
      if (inflight === null) return undefined;
      const running = inflight;
      return (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const budget = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ranges.refreshBudgetMs);
        });
        await Promise.race([running, budget]);
        clearTimeout(timer);
      })();
    },

    status: () => ({ source: current.source, version: current.version, generation: current.generation, metadata: current.metadata, refreshes, swaps, failures, lastError, nextRefreshAt }),

    idle: async () => {
      while (inflight !== null) await inflight;
    },
  };
}
