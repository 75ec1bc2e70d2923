import { copySource, MAX_PARTS, MIN_PART_BYTES, partSizeFor } from '../../../layers/s3/copy';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('partSizeFor', () => {
  test.each([
    ['a small object keeps the configured size', 600 * MiB, 64 * MiB, 64 * MiB],
    ['never below S3\'s 5 MiB minimum', 100 * MiB, 1 * MiB, MIN_PART_BYTES],
    // 5 TiB in 64 MiB parts would be 81,920 parts: grown to fit 10,000, in whole MiB.
    ['grown to stay within 10,000 parts', 5 * 1024 * GiB, 64 * MiB, 525 * MiB],
  ])('%s', (_name, size, configured, expected) => {
    const part = partSizeFor(size, configured);
    expect(part).toBe(expected);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PARTS);
  });
});

describe('copySource', () => {
  test.each([
    ['primary', 'containers/images/sha256:ab', 'primary/containers/images/sha256%3Aab'],
    ['b', 'a b/c+d?e#f', 'b/a%20b/c%2Bd%3Fe%23f'],
  ])('%s / %s', (bucket, key, expected) => {
    expect(copySource(bucket, key)).toBe(expected);
  });
});
