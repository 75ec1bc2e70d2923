/**
 * An S3 stand-in for measuring reconcile's memory at catalogue sizes moto cannot hold or fill in a bench's
 * time (moto keeps every object in RAM and takes a few ms per PUT): it stores nothing and answers from a
 * formula. Blob i of the catalogue is `<prefix>sha256:<sha256 of "i">`; every bucket lists the catalogue
 * (in S3's key order, 1,000 keys a page), except that target buckets lack every `missingEvery`-th blob.
 * HEAD answers with the full-object SHA-256 the key names (so verification passes without a GET), and a
 * CopyObject is acknowledged with the same checksum. Only what reconcile asks is implemented:
 * ListObjectsV2, HEAD and CopyObject, path-style.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compareKeys } from '../../layers/s3/key-order';

export interface CatalogueS3 {
  endpoint: string;
  /** Requests answered, by kind. */
  counts: { list: number; head: number; copy: number };
  close(): Promise<void>;
}

export interface CatalogueOptions {
  blobs: number;
  prefix: string;
  source: string;
  /** Target buckets lack blob i when i % missingEvery === 0. */
  missingEvery: number;
}

const PAGE = 1000;
const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startCatalogueS3(options: CatalogueOptions): Promise<CatalogueS3> {
  const { prefix, source, missingEvery } = options;
  // The keys (64 hex each) in S3's order, with the blob's number: 20,000 of them are about 3 MB here, in
  // the bench's process, not the measured one.
  const catalogue = Array.from({ length: options.blobs }, (_, i) => ({ i, hex: createHash('sha256').update(String(i)).digest('hex') }))
    .map((b) => ({ ...b, key: `${prefix}sha256:${b.hex}` }))
    .sort((a, b) => compareKeys(a.key, b.key));
  const byKey = new Map(catalogue.map((b) => [b.key, b]));
  const etagOf = (hex: string) => hex.slice(0, 32);
  const checksumOf = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
  const counts = { list: 0, head: 0, copy: 0 };

  const list = (bucket: string, url: URL, res: ServerResponse) => {
    counts.list++;
    const start = Number(url.searchParams.get('continuation-token') ?? '0');
    const wanted = url.searchParams.get('prefix') ?? '';
    const inBucket = (b: { i: number }) => bucket === source || b.i % missingEvery !== 0;
    const contents: string[] = [];
    let at = start;
    for (; at < catalogue.length && contents.length < PAGE; at++) {
      const blob = catalogue[at]!;
      if (!blob.key.startsWith(wanted) || !inBucket(blob)) continue;
      contents.push(`<Contents><Key>${xmlEscape(blob.key)}</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>"${etagOf(blob.hex)}"</ETag><Size>8</Size><StorageClass>STANDARD</StorageClass></Contents>`);
    }
    const truncated = at < catalogue.length;
    const body =
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${xmlEscape(wanted)}</Prefix>` +
      `<KeyCount>${contents.length}</KeyCount><MaxKeys>${PAGE}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
      (truncated ? `<NextContinuationToken>${at}</NextContinuationToken>` : '') +
      `${contents.join('')}</ListBucketResult>`;
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const notFound = (res: ServerResponse) => {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for await (const _ of req); // every request body read (a CopyObject has none worth keeping)
    const url = new URL(req.url ?? '/', 'http://catalogue');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    if (req.method === 'GET' && url.searchParams.get('list-type') === '2' && key === '') return list(bucket, url, res);
    const blob = byKey.get(key);
    if (req.method === 'HEAD') {
      counts.head++;
      if (!blob || (bucket !== source && blob.i % missingEvery === 0)) return notFound(res);
      res.writeHead(200, {
        'content-length': 8,
        etag: `"${etagOf(blob.hex)}"`,
        'content-type': 'application/octet-stream',
        'last-modified': new Date(0).toUTCString(),
        'x-amz-checksum-sha256': checksumOf(blob.hex),
        'x-amz-checksum-type': 'FULL_OBJECT',
      });
      return res.end();
    }
    if (req.method === 'PUT' && req.headers['x-amz-copy-source']) {
      counts.copy++;
      const from = decodeURIComponent(String(req.headers['x-amz-copy-source']).replace(/^\//, ''));
      const copied = byKey.get(from.slice(from.indexOf('/') + 1));
      if (!copied) return notFound(res);
      const body = `<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>"${etagOf(copied.hex)}"</ETag><LastModified>2026-12-01T00:00:00.000Z</LastModified><ChecksumSHA256>${checksumOf(copied.hex)}</ChecksumSHA256></CopyObjectResult>`;
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      return res.end(body);
    }
    res.writeHead(501, { 'content-length': 0 });
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
