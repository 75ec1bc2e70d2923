import { createLimiter, mapLimit } from '../../../layers/s3/limit';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

test('createLimiter never runs more than n tasks at once, and runs them all', async () => {
  const limit = createLimiter(3);
  let active = 0;
  let peak = 0;
  const done: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      limit(async () => {
        active++;
        peak = Math.max(peak, active);
        await tick();
        active--;
        done.push(i);
      }),
    ),
  );
  expect(peak).toBe(3);
  expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
});

test('a failing task frees its slot', async () => {
  const limit = createLimiter(1);
  await expect(limit(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  await expect(limit(async () => 'next')).resolves.toBe('next');
});

test('createLimiter refuses a nonsensical bound', () => {
  expect(() => createLimiter(0)).toThrow(/positive integer/);
});

test('mapLimit keeps input order', async () => {
  const out = await mapLimit([30, 10, 20], 2, async (ms) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  });
  expect(out).toEqual([30, 10, 20]);
});

test('mapLimit starts nothing after a failure, and rejects only once the started tasks settled', async () => {
  const started: number[] = [];
  let running = 0;
  const outcome = mapLimit([0, 1, 2, 3, 4, 5], 2, async (i) => {
    started.push(i);
    running++;
    await tick();
    running--;
    if (i === 1) throw new Error('part 2 failed');
    return i;
  });
  await expect(outcome).rejects.toThrow('part 2 failed');
  expect(running).toBe(0);
  // 0 and 1 ran together; 2 started when 0 finished (before 1 failed); nothing after the failure.
  expect(started).toEqual([0, 1, 2]);
});
