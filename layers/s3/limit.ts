/**
 * At most `n` tasks at once. Tasks queue in call order; a failing task frees its slot like any other.
 * Used for copies, parts and listings, which would otherwise open a connection each.
 */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

export function createLimiter(n: number): Limiter {
  if (!Number.isInteger(n) || n < 1) throw new Error(`concurrency must be a positive integer, not ${n}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      const wake = waiting.shift();
      if (wake) wake();
      else active--;
    }
  };
}

/**
 * Runs `fn` over `items` with at most `n` at once; results in input order. After a failure no further item
 * is started; rejects with the first error once every started task has settled (nothing left running).
 */
export async function mapLimit<T, R>(items: readonly T[], n: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const limit = createLimiter(n);
  let firstError: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    items.map((item, index) =>
      limit(async () => {
        if (firstError) throw firstError.error;
        try {
          return await fn(item, index);
        } catch (error) {
          firstError ??= { error };
          throw error;
        }
      }),
    ),
  );
  if (firstError) throw firstError.error;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}
