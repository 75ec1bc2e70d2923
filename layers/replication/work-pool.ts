/**
 * At most `size` tasks running, and a producer that waits for a free slot before it starts another. Unlike
 * a limiter (which queues every task it is given), nothing waits in a queue here: the producer itself is
 * held back, so a fast listing cannot run ahead of slow copies and pile up keys.
 *
 * Slots are handed over by callbacks rather than Promise.race over the running tasks: each race leaves a
 * reaction on every task still running, so one long copy (a multi-GB blob) would collect one per blob
 * started meanwhile, memory growing with the catalogue after all.
 */
export interface WorkPool {
  /** Starts `task` once a slot is free; resolves when it has started (not when it ends). */
  start(task: () => Promise<void>): Promise<void>;
  /** Resolves when every started task has settled; rejects with the first task error, if any. */
  drain(): Promise<void>;
  readonly running: number;
}

export function createWorkPool(size: number): WorkPool {
  if (!Number.isInteger(size) || size < 1) throw new Error(`concurrency must be a positive integer, not ${size}`);
  let running = 0;
  let failure: { error: unknown } | undefined;
  const slotWaiters: (() => void)[] = [];
  const drainWaiters: (() => void)[] = [];
  const finished = () => {
    running--;
    slotWaiters.shift()?.();
    if (running === 0) for (const wake of drainWaiters.splice(0)) wake();
  };
  return {
    async start(task) {
      while (running >= size) await new Promise<void>((resolve) => slotWaiters.push(resolve));
      running++;
      // Kept for drain(), so that a failure neither goes unhandled nor stops the tasks already running.
      Promise.resolve()
        .then(task)
        .catch((error) => {
          failure ??= { error };
        })
        .finally(finished);
    },
    async drain() {
      if (running > 0) await new Promise<void>((resolve) => drainWaiters.push(resolve));
      if (failure) throw failure.error;
    },
    get running() {
      return running;
    },
  };
}
