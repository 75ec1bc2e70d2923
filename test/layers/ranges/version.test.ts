import { awsCreateDateMs, compareTokens, compareVersions, supersedes, versionOf } from '../../../layers/ranges/version';

describe('compareTokens', () => {
  test.each([
    ['1', '2', -1],
    ['10', '9', 1],
    ['1785313625', '1785313625', 0],
    ['0001', '1', 0],
    ['99999999999999999999', '99999999999999999998', 1], // beyond 2^53: compared exactly
    ['1785333953849', '1785313625', 1], // GCP tokens are milliseconds: longer is larger
  ])('%s vs %s → %i', (a, b, sign) => {
    expect(Math.sign(compareTokens(a, b))).toBe(sign);
  });
});

describe('compareVersions (the updater\'s rule)', () => {
  const v = (aws: string, gcp: string | null = null) => ({ aws, gcp });
  test.each([
    ['AWS forward', v('2', '5'), v('1', '5'), 'newer'],
    ['GCP forward', v('1', '6'), v('1', '5'), 'newer'],
    ['both forward', v('2', '6'), v('1', '5'), 'newer'],
    ['GCP added', v('1', '5'), v('1'), 'newer'],
    ['nothing moved', v('1', '5'), v('1', '5'), 'same'],
    ['AWS back', v('1', '5'), v('2', '5'), 'older'],
    ['GCP dropped', v('1'), v('1', '5'), 'older'],
    ['AWS forward, GCP back', v('2', '4'), v('1', '5'), 'mixed'],
    ['AWS forward, GCP dropped', v('2'), v('1', '5'), 'mixed'],
  ])('%s', (_name, next, current, expected) => {
    expect(compareVersions(next, current)).toBe(expected);
  });
});

describe('supersedes (the edge\'s rule)', () => {
  const v = (aws: string, gcp: string | null = null) => ({ aws, gcp });
  test.each([
    ['a newer AWS token', v('2', '1'), v('1', '5'), true],
    ['an older AWS token, whatever GCP says', v('1', '9'), v('2', '5'), false],
    ['the same version', v('1', '5'), v('1', '5'), false],
    ['the same AWS token and a newer GCP one', v('1', '6'), v('1', '5'), true],
    ['the same AWS token without GCP', v('1'), v('1', '5'), false],
    ['anything over a table without a version', v('1'), null, true],
  ])('%s: %s', (_name, next, current, expected) => {
    expect(supersedes(next, current)).toBe(expected);
  });
});

test('versionOf reads the sync tokens compileRanges records, and nothing else', () => {
  expect(versionOf({ aws: { syncToken: '1785313625' }, gcp: { syncToken: '1785333953849' } })).toEqual({ aws: '1785313625', gcp: '1785333953849' });
  expect(versionOf({ aws: { syncToken: '1785313625' } })).toEqual({ aws: '1785313625', gcp: null });
  expect(versionOf({ aws: { syncToken: 1785313625 } })).toBeNull();
  expect(versionOf({})).toBeNull();
});

test('awsCreateDateMs reads AWS\'s createDate as UTC', () => {
  expect(new Date(awsCreateDateMs('2026-07-29-08-27-05')).toISOString()).toBe('2026-07-29T08:27:05.000Z');
  expect(awsCreateDateMs('2026-07-29T08:27:05Z')).toBeNaN();
});
