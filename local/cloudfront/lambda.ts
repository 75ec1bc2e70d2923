/**
 * Runs one bundled Lambda@Edge function as Lambda would: in an isolate of its own (a worker thread) with
 * its own environment, its memory and time limits, loaded once and kept warm. A timeout or a crash ends
 * the isolate (Lambda discards such an execution environment too) and the next invocation cold-starts.
 *
 * The worker shares nothing with the emulator but messages: the event goes in, the result comes out,
 * both structured-cloned like Lambda's JSON round trip. So a handler that leans on state outside its
 * bundle fails here as it would at the edge.
 */
import { randomUUID } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FunctionLimits } from './rules';

export interface LambdaOptions {
  /** The bundle (`dist/<stage>/<fn>/index.js`); its export `handler` is called. */
  file: string;
  /** Function name, for the context object and logs (default: the bundle's folder name). */
  name?: string;
  /** The whole environment the function sees. */
  env: Record<string, string>;
  limits: FunctionLimits;
  /** Receives each line the function writes to stdout/stderr. */
  log?: (line: string) => void;
}

export type Invocation =
  | { ok: true; result: unknown; durationMs: number }
  /** CloudFront's LambdaExecutionError: the function threw, timed out or died. */
  | { ok: false; reason: 'error' | 'timeout' | 'crash'; message: string; durationMs: number };

interface Pending {
  resolve: (outcome: Invocation) => void;
  timer: NodeJS.Timeout;
  started: number;
}

// The worker's whole program. Plain CommonJS: it runs the bundle, not our TypeScript.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let handler;
let initError;
try {
  handler = require(workerData.file).handler;
  if (typeof handler !== 'function') initError = 'the bundle ' + workerData.file + ' exports no handler function';
} catch (error) {
  initError = 'cannot load ' + workerData.file + ': ' + ((error && error.stack) || error);
}
parentPort.postMessage(initError ? { type: 'init-error', message: initError } : { type: 'ready' });
const describe = (error) => (error && error.stack) || String(error);
parentPort.on('message', ({ id, event, context }) => {
  let settled = false;
  const reply = (error, result) => {
    if (settled) return;
    settled = true;
    if (error) return parentPort.postMessage({ id, error: describe(error) });
    try {
      parentPort.postMessage({ id, result });
    } catch (cloneError) {
      parentPort.postMessage({ id, error: 'the result cannot be serialised: ' + cloneError.message });
    }
  };
  const ctx = {
    ...context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, context.deadline - Date.now()),
    succeed: (result) => reply(null, result),
    fail: (error) => reply(error || new Error('failed')),
    done: (error, result) => reply(error, result),
  };
  try {
    const out = handler(event, ctx, reply);
    if (out && typeof out.then === 'function') out.then((result) => reply(null, result), (error) => reply(error || new Error('the handler rejected')));
  } catch (error) {
    reply(error);
  }
});
`;

export class EdgeLambda {
  readonly name: string;
  private worker: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped = false;
  /** Cold starts so far (1 after the first invocation or warm-up). */
  coldStarts = 0;

  constructor(private readonly options: LambdaOptions) {
    this.name = options.name ?? basename(dirname(options.file));
  }

  /** Loads the function now instead of at the first request (CloudFront users see no cold start here). */
  async warm(): Promise<void> {
    await this.ensureWorker();
  }

  private ensureWorker(): Promise<Worker> {
    if (this.stopped) return Promise.reject(new Error(`${this.name} is stopped`));
    if (this.worker) return Promise.resolve(this.worker);
    this.starting ??= this.startWorker().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private startWorker(): Promise<Worker> {
    const { limits } = this.options;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: this.options.file },
      env: { ...this.options.env },
      // Lambda's memory covers everything; the emulator can only bound the V8 heap, the part a runaway
      // handler grows. (V8 aborts the whole process, not just the worker, when one single allocation is
      // larger than what is left: an emulator limit, not something Lambda does.)
      resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb, maxYoungGenerationSizeMb: Math.max(4, Math.floor(limits.memoryMb / 8)) },
      stdout: true,
      stderr: true,
    });
    this.coldStarts += 1;
    for (const stream of [worker.stdout, worker.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          this.options.log?.(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
      });
    }
    return new Promise<Worker>((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: { type?: string; id?: number; result?: unknown; error?: string; message?: string }) => {
        if (message.type === 'ready') {
          ready = true;
          this.worker = worker;
          resolve(worker);
          return;
        }
        if (message.type === 'init-error') {
          reject(new Error(message.message));
          void worker.terminate();
          return;
        }
        const call = this.pending.get(message.id!);
        if (!call) return; // answered after its timeout: Lambda would have dropped it too
        this.pending.delete(message.id!);
        clearTimeout(call.timer);
        const durationMs = performance.now() - call.started;
        call.resolve(message.error !== undefined ? { ok: false, reason: 'error', message: message.error, durationMs } : { ok: true, result: message.result, durationMs });
      });
      const died = (message: string) => {
        if (this.worker === worker) this.worker = null;
        if (!ready) reject(new Error(`${this.name} failed to start: ${message}`));
        this.failAll('crash', `${this.name} crashed: ${message}`);
      };
      worker.on('error', (error) => died(error.message));
      worker.on('exit', (code) => {
        if (this.worker === worker || !ready) died(`exited with code ${code}`);
      });
    });
  }

  private failAll(reason: 'crash' | 'timeout', message: string) {
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      call.resolve({ ok: false, reason, message, durationMs: performance.now() - call.started });
      this.pending.delete(id);
    }
  }

  async invoke(event: unknown): Promise<Invocation> {
    const started = performance.now();
    let worker: Worker;
    try {
      worker = await this.ensureWorker();
    } catch (error) {
      return { ok: false, reason: 'crash', message: (error as Error).message, durationMs: performance.now() - started };
    }
    const id = this.nextId++;
    const { timeoutMs, memoryMb } = this.options.limits;
    const context = {
      functionName: `us-east-1.${this.name}`,
      functionVersion: '1',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:us-east-1.${this.name}:1`,
      memoryLimitInMB: String(memoryMb),
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/us-east-1.${this.name}`,
      logStreamName: 'local',
      deadline: Date.now() + timeoutMs,
    };
    return new Promise<Invocation>((resolve) => {
      const timer = setTimeout(() => {
        // Lambda stops a timed-out environment; so do we, failing whatever else was running in it.
        this.pending.delete(id);
        resolve({ ok: false, reason: 'timeout', message: `${this.name} timed out after ${timeoutMs} ms`, durationMs: performance.now() - started });
        if (this.worker === worker) this.worker = null;
        this.failAll('timeout', `${this.name} was stopped: another invocation in its environment timed out`);
        void worker.terminate();
      }, timeoutMs);
      this.pending.set(id, { resolve, timer, started });
      try {
        worker.postMessage({ id, event, context });
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve({ ok: false, reason: 'error', message: `the event cannot be serialised: ${(error as Error).message}`, durationMs: 0 });
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.failAll('crash', `${this.name} was stopped`);
    const worker = this.worker ?? (await this.starting?.catch(() => null)) ?? null;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}
