import { createRateLimiter, parseRate } from '../../../layers/registry/rate-limit';

describe('parseRate', () => {
  test.each([
    ['20', 20],
    ['20/s', 20],
    ['0.5/s', 0.5],
    [' 5 / s ', 5],
  ])('%j is %d per second', (text, value) => {
    expect(parseRate(text)).toBe(value);
  });

  test.each(['0', '-1/s', 'fast', '20/m', '', '1e3'])('%j is refused', (text) => {
    expect(() => parseRate(text)).toThrow(/rate/);
  });
});

describe('createRateLimiter', () => {
  test('spaces requests evenly, queueing concurrent callers in order', async () => {
    let now = 1000;
    const waits: number[] = [];
    const limiter = createRateLimiter(10, { now: () => now, sleep: async (ms) => void waits.push(ms) });
    await Promise.all([limiter.take(), limiter.take(), limiter.take(), limiter.take()]);
    expect(waits).toEqual([100, 200, 300]);
    // Time passes: a request long after the last slot goes at once.
    now += 10_000;
    waits.length = 0;
    await limiter.take();
    expect(waits).toEqual([]);
  });

  test('an aborted signal stops the wait', async () => {
    const limiter = createRateLimiter(1);
    await limiter.take();
    const controller = new AbortController();
    const waiting = limiter.take(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });

  test.each([0, -1, Infinity, NaN])('refuses a rate of %d', (rate) => {
    expect(() => createRateLimiter(rate)).toThrow(RangeError);
  });
});
