/**
 * AWS Signature Version 4 for the edge's S3 reads (GET and HEAD of an object, no body), on node:crypto:
 * synchronous, and free of WebCrypto and of fetch's Headers, which aws4fetch needs (and which load Node's
 * fetch implementation, undici). It signs as aws4fetch 1.0 does for S3 (test/layers/http/sigv4.test.ts
 * holds it to aws4fetch's Authorization header for the same request, credentials and time):
 *
 * - the payload is not hashed (`x-amz-content-sha256: UNSIGNED-PAYLOAD`, which S3 accepts over TLS);
 * - every header given is signed, and `host`, `x-amz-date`, `x-amz-security-token` (with a session token,
 *   as the Lambda runtime's credentials always have), except those a proxy may change (aws4fetch's list);
 * - the path is encoded once, the S3 way (each segment decoded, then encoded per RFC 3986).
 *
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
/**
 * node:crypto, loaded at the first signature rather than at module init: a Lambda runtime that has not
 * loaded it yet pays about 1.5 ms for it, which a cold start's init need not.
 */
const nodeCrypto = () => process.getBuiltinModule('node:crypto');

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3ReadToSign {
  method: 'GET' | 'HEAD';
  url: string;
  /** Headers to send and sign (any case; sent in lower case). */
  headers?: Record<string, string>;
  credentials: Credentials;
  /** The bucket's region. */
  region: string;
  /** When the request is signed (now unless given); S3 refuses a signature more than 15 minutes off. */
  date?: Date;
}

/** Headers never signed (aws4fetch's list): a proxy or the client library may set or change them. */
const UNSIGNABLE = new Set(['authorization', 'content-type', 'content-length', 'user-agent', 'presigned-expires', 'expect', 'x-amzn-trace-id', 'range', 'connection']);

const hmac = (key: string | Buffer, data: string): Buffer => nodeCrypto().createHmac('sha256', key).update(data, 'utf8').digest();

/** encodeURIComponent leaves these five as they are; SigV4 wants them encoded (RFC 3986). */
const rfc3986 = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The canonical URI of an S3 object: the path decoded (S3 reads a '+' there as a space), then encoded once. */
function canonicalPath(pathname: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname.replace(/\+/g, ' '));
  } catch {
    decoded = pathname;
  }
  return rfc3986(decoded).replace(/%2F/g, '/');
}

/** The canonical query: parameters sorted by name then value, both encoded; S3 signs a repeated name once. */
function canonicalQuery(params: URLSearchParams): string {
  const seen = new Set<string>();
  const pairs: [string, string][] = [];
  for (const [name, value] of params) {
    if (!name || seen.has(name)) continue;
    seen.add(name);
    pairs.push([rfc3986(name), rfc3986(value)]);
  }
  pairs.sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * The signing key of a (secret, day, region) for S3: four HMACs, the same all day, so the last one is kept
 * (an instance signs with one role's credentials, for one bucket, until they rotate).
 */
let lastKey: { id: string; key: Buffer } | undefined;
function signingKey(secret: string, day: string, region: string): Buffer {
  const id = `${secret}\n${day}\n${region}`;
  if (lastKey?.id === id) return lastKey.key;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 's3'), 'aws4_request');
  lastKey = { id, key };
  return key;
}

/** The headers to send for `read`, signed: those given (in lower case), the x-amz-* ones and `authorization`. */
export function signS3Read(read: S3ReadToSign): Record<string, string> {
  const url = new URL(read.url);
  const { accessKeyId, secretAccessKey, sessionToken } = read.credentials;
  const datetime = (read.date ?? new Date()).toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = datetime.slice(0, 8);

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(read.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower !== 'host') headers[lower] = value.trim();
  }
  headers['x-amz-content-sha256'] ??= 'UNSIGNED-PAYLOAD';
  headers['x-amz-date'] = datetime;
  if (sessionToken) headers['x-amz-security-token'] = sessionToken;

  const signed = ['host', ...Object.keys(headers).filter((name) => !UNSIGNABLE.has(name))].sort();
  const signedHeaders = signed.join(';');
  const canonicalHeaders = signed.map((name) => `${name}:${name === 'host' ? url.host : headers[name]!.replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [read.method, canonicalPath(url.pathname), canonicalQuery(url.searchParams), canonicalHeaders, signedHeaders, headers['x-amz-content-sha256']].join('\n');
  const scope = `${day}/${read.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', datetime, scope, nodeCrypto().createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const signature = nodeCrypto().createHmac('sha256', signingKey(secretAccessKey, day, read.region)).update(stringToSign, 'utf8').digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
