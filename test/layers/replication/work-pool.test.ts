import { createWorkPool } from '../../../layers/replication/work-pool';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createWorkPool', () => {
  test('runs at most its size at once, and holds the producer back while full', async () => {
    const pool = createWorkPool(3);
    const release: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const task = () =>
      new Promise<void>((resolve) => {
        running++;
        most = Math.max(most, running);
        release.push(() => {
          running--;
          resolve();
        });
      });
    for (let i = 0; i < 3; i++) await pool.start(task);
    let fourthStarted = false;
    const fourth = pool.start(task).then(() => (fourthStarted = true));
    await tick();
    expect(fourthStarted).toBe(false);
    expect(pool.running).toBe(3);
    release.shift()!();
    await fourth;
    expect(fourthStarted).toBe(true);
    while (release.length) release.shift()!();
    await pool.drain();
    expect(most).toBe(3);
    expect(pool.running).toBe(0);
  });

  test("drain waits for every task, then reports the first task's error", async () => {
    const pool = createWorkPool(2);
    let finished = 0;
    await pool.start(async () => {
      await tick();
      throw new Error('first');
    });
    await pool.start(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      finished++;
    });
    await expect(pool.drain()).rejects.toThrow('first');
    expect(finished).toBe(1);
  });

  test('refuses a size that is not a positive whole number', () => {
    expect(() => createWorkPool(0)).toThrow('concurrency must be a positive integer, not 0');
  });

  test('a task that throws before its first await counts as a failed task, not a failed start', async () => {
    const pool = createWorkPool(1);
    await pool.start((() => {
      throw new Error('at once');
    }) as unknown as () => Promise<void>);
    await expect(pool.drain()).rejects.toThrow('at once');
  });

  test('one long task does not hold up the others, and the pool keeps its bound throughout', async () => {
    const pool = createWorkPool(2);
    let releaseLong!: () => void;
    await pool.start(() => new Promise<void>((resolve) => (releaseLong = resolve)));
    let short = 0;
    for (let i = 0; i < 1000; i++) {
      await pool.start(async () => {
        await tick();
        short++;
      });
      expect(pool.running).toBeLessThanOrEqual(2);
    }
    releaseLong();
    await pool.drain();
    expect(short).toBe(1000);
  });
});
