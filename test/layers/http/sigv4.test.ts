/**
 * The edge's SigV4 signer for S3 reads, held to aws4fetch (which the edge used before, on WebCrypto and
 * fetch's Headers) as the oracle: for the same request, credentials and time, the same headers, the
 * Authorization header included. And to the worked examples of AWS's S3 documentation, which do not
 * depend on either implementation.
 */
import { AwsV4Signer } from 'aws4fetch';
import { signS3Read, type S3ReadToSign } from '../../../layers/http/sigv4';

const CREDENTIALS = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==' };
const AT = new Date('2026-11-30T23:59:58.123Z');

/** What aws4fetch sends for the same read: its headers, lower-case, as a plain object. */
async function oracle(read: S3ReadToSign): Promise<Record<string, string>> {
  const signer = new AwsV4Signer({
    method: read.method,
    url: read.url,
    headers: read.headers ?? {},
    ...read.credentials,
    service: 's3',
    region: read.region,
    datetime: (read.date ?? new Date()).toISOString().replace(/[:-]|\.\d{3}/g, ''),
  });
  const { headers } = await signer.sign();
  return Object.fromEntries(headers as unknown as Iterable<[string, string]>);
}

const read = (change: Partial<S3ReadToSign> = {}): S3ReadToSign => ({ method: 'GET', url: 'https://registry-edge-config-prod.s3.us-east-1.amazonaws.com/ranges/current.json', credentials: CREDENTIALS, region: 'us-east-1', date: AT, ...change });

describe('signS3Read agrees with aws4fetch', () => {
  test.each<[string, Partial<S3ReadToSign>]>([
    ['the pointer, with the runtime\'s session token', {}],
    ['the pointer again, conditional (If-None-Match on its ETag)', { headers: { 'If-None-Match': '"0f3c5d1e2b7a9c4d8e6f1a2b3c4d5e6f"' } }],
    ['a table by its content address', { url: `https://registry-edge-config-prod.s3.us-east-1.amazonaws.com/ranges/${'c0ffee'.repeat(10)}abcd.bin` }],
    ['credentials without a session token', { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }],
    ['another region, another day', { region: 'eu-central-1', url: 'https://cfg.s3.eu-central-1.amazonaws.com/ranges/current.json', date: new Date('2027-02-28T00:00:00Z') }],
    ['a HEAD', { method: 'HEAD' }],
    ['a local endpoint with a port, the bucket in the path', { url: 'http://127.0.0.1:9000/cfg/ranges/current.json' }],
    ['a key needing encoding (space, plus, RFC 3986 reserved, non-ASCII)', { url: "https://cfg.s3.us-east-1.amazonaws.com/ranges/a b+c(1)!*'~é/x%2Fy.json" }],
    ['a query string (repeated and unsorted names)', { url: 'https://cfg.s3.us-east-1.amazonaws.com/ranges/current.json?versionId=3%2Bx&b=2&a=1&a=0' }],
    ['headers with inner and outer spaces, and headers aws4fetch never signs', { headers: { 'X-Custom': '  a   b  ', Range: 'bytes=0-9', 'User-Agent': 'edge' } }],
    ['a payload hash given by the caller', { headers: { 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' } }],
  ])('%s', async (_name, change) => {
    const request = read(change);
    const mine = signS3Read(request);
    const theirs = await oracle(request);
    expect(mine.authorization).toBe(theirs.authorization);
    expect(mine).toEqual(theirs);
  });

  test('the same read signed twice in a row (the signing key kept) and after another key, alike', async () => {
    const first = read();
    const other = read({ credentials: { accessKeyId: 'AKID2', secretAccessKey: 'other' }, region: 'us-west-2' });
    const expected = (await oracle(first)).authorization;
    expect(signS3Read(first).authorization).toBe(expected);
    expect(signS3Read(first).authorization).toBe(expected);
    expect(signS3Read(other).authorization).toBe((await oracle(other)).authorization);
    expect(signS3Read(first).authorization).toBe(expected);
  });

  test('signs host, the x-amz-* headers and what was given; sends the session token; takes the time it is given', () => {
    const headers = signS3Read(read({ headers: { 'If-None-Match': '"e"' } }));
    expect(headers).toMatchObject({ 'if-none-match': '"e"', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': '20261130T235958Z', 'x-amz-security-token': CREDENTIALS.sessionToken });
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE\/20261130\/us-east-1\/s3\/aws4_request, SignedHeaders=host;if-none-match;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
    expect(headers.host).toBeUndefined();
  });
});

describe('signS3Read gives the signatures of AWS\'s worked examples', () => {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html ("Examples: Signature
  // Calculations"): the documentation's credentials, bucket and time; the payload hash is that of nothing.
  const EXAMPLE = { credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }, region: 'us-east-1', date: new Date('2013-05-24T00:00:00Z') };
  const EMPTY = { 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' };
  test.each([
    ['GET Bucket Lifecycle', 'https://examplebucket.s3.amazonaws.com/?lifecycle', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543'],
    ['GET Bucket (List Objects)', 'https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'],
  ])('%s', (_name, url, signature) => {
    const headers = signS3Read({ method: 'GET', url, headers: EMPTY, ...EXAMPLE });
    expect(headers.authorization).toBe(`AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`);
  });
});
