import { TaskPool } from '../../../layers/sync/pool';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('TaskPool', () => {
  test('never runs more than its concurrency, and idle() waits for tasks added by tasks', async () => {
    const pool = new TaskPool(3, (e) => {
      throw e;
    });
    let running = 0;
    let peak = 0;
    let done = 0;
    const task = (children: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      for (let i = 0; i < children; i++) pool.add(task(0));
      running--;
      done++;
    };
    for (let i = 0; i < 5; i++) pool.add(task(2));
    await pool.idle();
    expect(done).toBe(15);
    expect(peak).toBe(3);
  });

  test('clear() drops queued tasks; running ones finish', async () => {
    const pool = new TaskPool(1, () => {});
    const ran: number[] = [];
    for (let i = 0; i < 4; i++)
      pool.add(async () => {
        await tick();
        ran.push(i);
      });
    pool.clear();
    await pool.idle();
    expect(ran).toEqual([0]);
  });

  test('a throwing task is reported, and the pool goes on', async () => {
    const errors: unknown[] = [];
    const pool = new TaskPool(2, (e) => errors.push(e));
    let ok = 0;
    pool.add(async () => {
      throw new Error('bug');
    });
    pool.add(async () => void ok++);
    await pool.idle();
    expect(errors).toHaveLength(1);
    expect(ok).toBe(1);
  });

  test.each([0, 1.5, -1])('refuses a concurrency of %d', (n) => {
    expect(() => new TaskPool(n, () => {})).toThrow(RangeError);
  });
});
