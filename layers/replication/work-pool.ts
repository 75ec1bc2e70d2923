/**
 * At most `size` tasks running, and a producer that waits for a free slot before it starts another. Unlike
 * a limiter (which queues every task it is given), nothing waits in a queue here: the producer itself is
 * held back, so a fast listing cannot run ahead of slow copies and pile up keys.
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
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  return {
    async start(task) {
      while (running.size >= size) await Promise.race(running);
      // Kept for drain(), so that a failure neither goes unhandled nor stops the tasks already running.
      const done: Promise<void> = task()
        .catch((error) => {
          failure ??= { error };
        })
        .finally(() => running.delete(done));
      running.add(done);
    },
    async drain() {
      while (running.size > 0) await Promise.race(running);
      if (failure) throw failure.error;
    },
    get running() {
      return running.size;
    },
  };
}
