/**
 * A bounded set of concurrent tasks. Tasks may add more tasks (the walk does); idle() resolves once none
 * is running or queued. Tasks must handle their own errors: a task that throws is a bug, reported through
 * `onError` rather than lost.
 */
export class TaskPool {
  private readonly queue: Array<() => Promise<void>> = [];
  private running = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly onError: (error: unknown) => void,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }

  add(task: () => Promise<void>): void {
    this.queue.push(task);
    this.pump();
  }

  /** Drops every task not yet started (on interruption). */
  clear(): void {
    this.queue.length = 0;
    this.settle();
  }

  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.running++;
      void (async () => {
        try {
          await task();
        } catch (error) {
          this.onError(error);
        } finally {
          this.running--;
          this.pump();
          this.settle();
        }
      })();
    }
  }

  private settle(): void {
    if (this.running > 0 || this.queue.length > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
