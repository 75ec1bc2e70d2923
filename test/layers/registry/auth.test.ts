import { parseChallenges, TokenCache } from '../../../layers/registry/auth';

describe('parseChallenges', () => {
  test.each([
    [
      'Docker Hub style',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }],
    ],
    ['spaces and unquoted values', 'Bearer realm = "https://a/t" , service=reg', [{ scheme: 'bearer', params: { realm: 'https://a/t', service: 'reg' } }]],
    ['escaped quote', 'Bearer realm="https://a/t",error="say \\"hi\\""', [{ scheme: 'bearer', params: { realm: 'https://a/t', error: 'say "hi"' } }]],
    ['two challenges', 'Basic realm="x", Bearer realm="https://a/t"', [{ scheme: 'basic', params: { realm: 'x' } }, { scheme: 'bearer', params: { realm: 'https://a/t' } }]],
    ['a comma inside quotes', 'Bearer scope="repository:a:pull,push",realm="r"', [{ scheme: 'bearer', params: { scope: 'repository:a:pull,push', realm: 'r' } }]],
    ['scheme only', 'Basic', [{ scheme: 'basic', params: {} }]],
    ['empty', '', []],
    ['absent', null, []],
  ])('%s', (_name, header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });

  test('hostile input ends', () => {
    expect(Array.isArray(parseChallenges('Bearer realm="unterminated'))).toBe(true);
    expect(parseChallenges('x'.repeat(10_000))).toEqual([]);
    expect(Array.isArray(parseChallenges('=,=,=,"""'))).toBe(true);
  });
});

describe('TokenCache', () => {
  test('a token is reused until shortly before it expires', () => {
    let now = 0;
    const cache = new TokenCache(() => now);
    cache.set('realm', 'svc', 'repository:a:pull', 'tok', 300);
    expect(cache.get('realm', 'svc', 'repository:a:pull')).toBe('tok');
    expect(cache.get('realm', 'svc', 'repository:b:pull')).toBeUndefined();
    expect(cache.get('realm', 'other', 'repository:a:pull')).toBeUndefined();
    now = 289_000;
    expect(cache.get('realm', 'svc', 'repository:a:pull')).toBe('tok');
    now = 291_000;
    expect(cache.get('realm', 'svc', 'repository:a:pull')).toBeUndefined();
  });

  test('a short-lived token is refreshed at half its life', () => {
    let now = 0;
    const cache = new TokenCache(() => now);
    cache.set('realm', undefined, 's', 'tok', 4);
    now = 1999;
    expect(cache.get('realm', undefined, 's')).toBe('tok');
    now = 2000;
    expect(cache.get('realm', undefined, 's')).toBeUndefined();
  });
});
