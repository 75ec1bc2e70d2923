import { RegistryClient, retryAfter } from '../../../layers/registry/client';
import { RegistryError } from '../../../layers/registry/errors';
import { FakeRegistry, json, recordingSleep, sha256 } from './fake-registry';

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
};

const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RegistryError) return error.code;
    throw error;
  }
  return 'resolved';
};

function setup(options: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) {
  const registry = new FakeRegistry();
  const { sleep, waits } = recordingSleep();
  const client = new RegistryClient({ url: registry.origin, fetch: registry.fetch, sleep, ...options });
  return { registry, client, waits };
}

describe('RegistryClient: registry URL', () => {
  test.each([
    ['http to a public host', 'http://registry.example'],
    ['a path', 'https://registry.example/v2/'],
    ['credentials in the URL', 'https://user:pw@registry.example'],
    ['not a URL', 'registry.example'],
  ])('refuses %s', (_name, url) => {
    expect(() => new RegistryClient({ url })).toThrow(RegistryError);
  });

  test.each([['https', 'https://registry.example'], ['http on loopback', 'http://127.0.0.1:5000'], ['trailing slash', 'https://registry.example/']])('accepts %s', (_name, url) => {
    expect(new RegistryClient({ url }).url).toBe(new URL(url).origin);
  });
});

describe('RegistryClient: names, tags and digests never become odd paths', () => {
  test.each([
    ['parent segment', '../etc', 'latest'],
    ['parent inside', 'library/../admin', 'latest'],
    ['encoded slash', 'library%2falpine', 'latest'],
    ['upper case', 'Library/alpine', 'latest'],
    ['query', 'alpine?x=1', 'latest'],
    ['tag with slash', 'alpine', '../../x'],
    ['tag with query', 'alpine', 'latest?x'],
    ['digest with path', 'alpine', 'sha256:../../etc'],
    ['unverifiable digest algorithm', 'alpine', `md5:${'a'.repeat(32)}`],
    ['upper-case hex', 'alpine', `sha256:${'A'.repeat(64)}`],
  ])('%s is refused before any request', async (_name, name, reference) => {
    const { client, registry } = setup();
    expect(await codeOf(client.manifest(name, reference))).toBe('INVALID_REFERENCE');
    expect(await codeOf(client.blob(name, reference))).toBe('INVALID_REFERENCE');
    expect(registry.requests).toHaveLength(0);
  });
});

describe('RegistryClient: Bearer token flow', () => {
  test('a 401 challenge gets a token for the repository scope, which is reused', async () => {
    const { client, registry } = setup();
    registry.bearer = true;
    const image = registry.addImage('library/alpine', 'latest', ['layer']);
    await client.manifest('library/alpine', 'latest');
    await client.manifest('library/alpine', image.descriptor.digest);
    const blob = await client.blob('library/alpine', image.blobs[1]!.digest);
    blob.body.resume();
    expect(registry.tokens).toEqual([{ scope: 'repository:library/alpine:pull', token: 'token-1' }]);
    // One 401 (the first request), then every registry request carries the token.
    const toRegistry = registry.requests.filter((r) => r.url.origin === registry.origin);
    expect(toRegistry.map((r) => r.headers.authorization ?? 'none')).toEqual(['none', 'Bearer token-1', 'Bearer token-1', 'Bearer token-1']);
  });

  test('after ping, each new scope gets its token before its first request (no 401 round trip)', async () => {
    const { client, registry } = setup();
    registry.bearer = true;
    registry.addImage('a', 'v1', ['x']);
    registry.addImage('b', 'v1', ['y']);
    await client.ping();
    await collect(client.catalog());
    await client.manifest('a', 'v1');
    await client.manifest('b', 'v1');
    expect(registry.tokens.map((t) => t.scope)).toEqual(['registry:catalog:*', 'repository:a:pull', 'repository:b:pull']);
    const unauthenticated = registry.requests.filter((r) => r.url.origin === registry.origin && !r.headers.authorization);
    expect(unauthenticated.map((r) => r.url.pathname)).toEqual(['/v2/']);
  });

  test('parallel requests of one scope share one token request', async () => {
    const { client, registry } = setup();
    registry.bearer = true;
    registry.addImage('a', 'v1', ['x']);
    await client.ping();
    await Promise.all([client.manifest('a', 'v1'), client.manifest('a', 'v1'), client.manifest('a', 'v1')]);
    expect(registry.tokens).toHaveLength(1);
  });

  test('credentials go to the realm as Basic auth, never to the registry', async () => {
    const { client, registry } = setup({ credentials: { username: 'u', password: 'p' } });
    registry.bearer = true;
    registry.addImage('a', 'v1', ['x']);
    await client.manifest('a', 'v1');
    const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
    expect(registry.requests.filter((r) => r.headers.authorization === basic).map((r) => r.url.origin)).toEqual(['https://auth.test']);
  });

  test('a refused token is an UNAUTHORIZED error, not a loop', async () => {
    const { client, registry } = setup();
    registry.hook = (r) => (r.url.origin === registry.origin ? new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.test/token"' } }) : undefined);
    expect(await codeOf(client.manifest('a', 'v1'))).toBe('UNAUTHORIZED');
    expect(registry.requests.filter((r) => r.url.origin === registry.origin)).toHaveLength(2);
  });

  test.each([
    ['plain http to a public host', 'http://169.254.169.254/latest/meta-data'],
    ['credentials in the realm', 'https://user:pw@auth.test/token'],
  ])('a realm over %s is refused', async (_name, realm) => {
    const { client, registry } = setup();
    registry.hook = (r) => (r.url.origin === registry.origin ? new Response('', { status: 401, headers: { 'www-authenticate': `Bearer realm="${realm}"` } }) : undefined);
    expect(await codeOf(client.manifest('a', 'v1'))).toBe('UNSAFE_URL');
    expect(registry.requests.some((r) => r.url.origin !== registry.origin)).toBe(false);
  });
});

describe('RegistryClient: pagination', () => {
  test('the catalog and tag lists follow Link headers to the end', async () => {
    const { client, registry } = setup();
    registry.pageSize = 2;
    for (const name of ['a', 'b', 'c', 'd', 'e']) registry.addImage(name, 'v1', [name]);
    for (const tag of ['t1', 't2', 't3']) registry.addManifest('a', tag, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
    expect(await collect(client.catalog({ pageSize: 2 }))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await collect(client.tags('a', { pageSize: 2 }))).toEqual(['t1', 't2', 't3', 'v1']);
    expect(registry.requests.filter((r) => r.url.pathname === '/v2/_catalog')).toHaveLength(3);
  });

  test.each([
    ['another origin', '<https://evil.test/v2/_catalog?last=a>; rel="next"', 'UNSAFE_URL'],
    ['another path', '</v2/secret/tags/list>; rel="next"', 'UNSAFE_URL'],
    ['the same page again', '</v2/_catalog?n=1000>; rel="next"', 'INVALID_RESPONSE'],
  ])('a next link to %s is refused', async (_name, link, code) => {
    const { client, registry } = setup();
    registry.hook = (r) => (r.url.pathname === '/v2/_catalog' ? json({ repositories: ['a'] }, 200, { link }) : undefined);
    expect(await codeOf(collect(client.catalog()))).toBe(code);
    expect(registry.requests.every((r) => r.url.origin === registry.origin)).toBe(true);
  });

  test('a tag list that is not a list of strings is an error', async () => {
    const { client, registry } = setup();
    registry.hook = (r) => (r.url.pathname.endsWith('/tags/list') ? json({ name: 'a', tags: [{ evil: true }] }) : undefined);
    expect(await codeOf(collect(client.tags('a')))).toBe('INVALID_RESPONSE');
  });

  test('Distribution\'s "tags": null is an empty list', async () => {
    const { client, registry } = setup();
    registry.hook = (r) => (r.url.pathname.endsWith('/tags/list') ? json({ name: 'a', tags: null }) : undefined);
    expect(await collect(client.tags('a'))).toEqual([]);
  });
});

describe('RegistryClient: manifests are verified and bounded', () => {
  test('by tag: the digest is computed, media type and content parsed', async () => {
    const { client, registry } = setup();
    const image = registry.addImage('a', 'v1', ['x', 'y'], { docker: true });
    const manifest = await client.manifest('a', 'v1');
    expect(manifest.digest).toBe(image.descriptor.digest);
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(manifest.content.kind).toBe('image');
  });

  test('by digest: bytes that hash to something else are refused', async () => {
    const { client, registry } = setup();
    const image = registry.addImage('a', 'v1', ['x']);
    const other = registry.addImage('a', 'v2', ['other']);
    registry.hook = (r) => (r.url.pathname.endsWith(image.descriptor.digest) ? new Response(registry.manifests.get(other.descriptor.digest)!.bytes) : undefined);
    expect(await codeOf(client.manifest('a', image.descriptor.digest))).toBe('DIGEST_MISMATCH');
  });

  test('by tag: a Docker-Content-Digest that does not match the bytes is refused', async () => {
    const { client, registry } = setup();
    const image = registry.addImage('a', 'v1', ['x']);
    registry.hook = (r) =>
      r.url.pathname.endsWith('/manifests/v1') ? new Response(registry.manifests.get(image.descriptor.digest)!.bytes, { headers: { 'docker-content-digest': sha256('something else') } }) : undefined;
    expect(await codeOf(client.manifest('a', 'v1'))).toBe('DIGEST_MISMATCH');
  });

  test.each([
    ['announced by Content-Length', true],
    ['streamed without a length', false],
  ])('a manifest larger than the limit is refused (%s)', async (_name, announce) => {
    const { client, registry } = setup({ maxManifestBytes: 1000 });
    const big = Buffer.alloc(5000, 32);
    registry.hook = (r) => {
      if (!r.url.pathname.includes('/manifests/')) return undefined;
      const body = announce ? big : new ReadableStream({ start: (c) => (c.enqueue(big), c.close()) });
      return new Response(body, { headers: announce ? { 'content-length': String(big.length) } : {} });
    };
    expect(await codeOf(client.manifest('a', 'v1'))).toBe('TOO_LARGE');
  });

  test('asks for every manifest kind it can walk', async () => {
    const { client, registry } = setup();
    registry.addImage('a', 'v1', ['x']);
    await client.manifest('a', 'v1');
    const accept = registry.requests.at(-1)!.headers.accept!;
    for (const type of ['oci.image.index.v1', 'oci.image.manifest.v1', 'manifest.list.v2', 'distribution.manifest.v2']) expect(accept).toContain(type);
  });
});

describe('RegistryClient: retries and rate limit', () => {
  test('429 with Retry-After, then success: waits at least what the registry asked', async () => {
    const { client, registry, waits } = setup();
    registry.addImage('a', 'v1', ['x']);
    let refusals = 2;
    registry.hook = () => (refusals-- > 0 ? new Response('slow down', { status: 429, headers: { 'retry-after': '3' } }) : undefined);
    await client.manifest('a', 'v1');
    expect(waits).toHaveLength(2);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(3000);
  });

  test('5xx beyond the retry budget is an HTTP_STATUS error carrying the status', async () => {
    const { client, registry, waits } = setup({ retries: 2 });
    registry.hook = () => new Response('down', { status: 503 });
    const error = await client.manifest('a', 'v1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).status).toBe(503);
    expect(waits).toHaveLength(2);
    expect(registry.requests).toHaveLength(3);
  });

  test('network errors are retried, then reported as NETWORK', async () => {
    const { client, registry } = setup({ retries: 1 });
    registry.hook = () => {
      throw new TypeError('fetch failed');
    };
    expect(await codeOf(client.manifest('a', 'v1'))).toBe('NETWORK');
    expect(registry.requests).toHaveLength(2);
  });

  test('a 404 is not retried', async () => {
    const { client, registry } = setup();
    expect(await codeOf(client.manifest('a', 'v1'))).toBe('HTTP_STATUS');
    expect(registry.requests).toHaveLength(1);
  });

  test('every attempt, retries and token requests included, takes a rate slot', async () => {
    let taken = 0;
    const { client, registry } = setup({ limiter: { take: async () => void taken++ } });
    registry.bearer = true;
    registry.addImage('a', 'v1', ['x']);
    let refusals = 1;
    registry.hook = (r) => (r.url.origin === registry.origin && r.headers.authorization && refusals-- > 0 ? new Response('', { status: 503 }) : undefined);
    await client.manifest('a', 'v1');
    expect(taken).toBe(registry.requests.length);
    expect(taken).toBe(4); // 401, token, 503, 200
  });

  test.each([
    ['seconds', '7', 7000],
    ['an HTTP date', new Date(Date.UTC(2030, 0, 1, 0, 0, 5)).toUTCString(), 5000],
    ['capped', '86400', 60000],
    ['garbage', 'soon', 0],
  ])('Retry-After as %s', (_name, header, ms) => {
    expect(retryAfter(header, Date.UTC(2030, 0, 1))).toBe(ms);
  });
});

describe('RegistryClient: blobs', () => {
  test('streams the bytes and reports Content-Length', async () => {
    const { client, registry } = setup();
    const blob = registry.addBlob('hello blob');
    const response = await client.blob('a', blob.digest);
    expect(response.size).toBe(blob.size);
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello blob');
  });

  test('follows a redirect to storage without sending the token there', async () => {
    const { client, registry } = setup();
    registry.bearer = true;
    const blob = registry.addBlob('stored elsewhere');
    registry.hook = (r) => {
      if (r.url.origin === 'https://storage.test') return new Response(blob.bytes);
      if (r.url.pathname.includes('/blobs/') && r.headers.authorization) return new Response(null, { status: 307, headers: { location: `https://storage.test/x?sig=1` } });
      return undefined;
    };
    const response = await client.blob('a', blob.digest);
    response.body.resume();
    const storage = registry.requests.filter((r) => r.url.origin === 'https://storage.test');
    expect(storage).toHaveLength(1);
    expect(storage[0]!.headers.authorization).toBeUndefined();
  });

  test('a redirect to plain http on a public host is refused', async () => {
    const { client, registry } = setup();
    const blob = registry.addBlob('x');
    registry.hook = (r) => (r.url.pathname.includes('/blobs/') ? new Response(null, { status: 302, headers: { location: 'http://storage.example/x' } }) : undefined);
    expect(await codeOf(client.blob('a', blob.digest))).toBe('UNSAFE_URL');
  });

  test('endless redirects end', async () => {
    const { client, registry } = setup();
    const blob = registry.addBlob('x');
    registry.hook = (r) => (r.url.pathname.includes('/blobs/') ? new Response(null, { status: 307, headers: { location: r.url.pathname } }) : undefined);
    expect(await codeOf(client.blob('a', blob.digest))).toBe('HTTP_STATUS');
    expect(registry.requests.length).toBeLessThanOrEqual(6);
  });
});
