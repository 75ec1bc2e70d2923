/**
 * A response served from the emulated edge cache: the stored object, or the part of it a Range asks for
 * (CloudFront serves ranges of a cached object, or of a cached part that holds them, itself), or 304 when
 * the viewer already holds it. The
 * origin and its functions are not involved: a hit runs no origin-request or origin-response function.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { type CachedObject, rangeOf } from './cache';

export interface HitResponse {
  status: number;
  statusMessage: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** Whether an If-None-Match list names this ETag (weak comparison, as RFC 9110 asks for it). */
function matchesEtag(ifNoneMatch: string, etag: string | undefined): boolean {
  if (ifNoneMatch.trim() === '*') return etag !== undefined;
  if (!etag) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => bare(tag) === bare(etag));
}

/** What to send for `viewer` (its headers, lower-case) from the cached `object`, `nowMs` on the cache's clock. */
export function hitResponse(object: CachedObject, viewer: IncomingHttpHeaders, nowMs: number): HitResponse {
  const headers: OutgoingHttpHeaders = { ...object.headers, age: String(Math.max(0, Math.floor((nowMs - object.storedAt) / 1000))) };
  const etag = first(object.headers.etag);
  const whole = { status: object.status, statusMessage: object.statusMessage, headers: { ...headers, 'content-length': object.body.length }, body: object.body };
  const { part } = object;
  if (part) {
    // The cache hands out a part only for a range inside it (EdgeCache.lookup).
    const wanted = rangeOf(first(viewer.range), part.total);
    if (wanted.kind !== 'partial' || wanted.start < part.start || wanted.end > part.end) throw new Error(`the cached part ${part.start}-${part.end} does not hold the range ${String(viewer.range)}`);
    const body = object.body.subarray(wanted.start - part.start, wanted.end - part.start + 1);
    return { status: 206, statusMessage: 'Partial Content', headers: { ...headers, 'content-range': `bytes ${wanted.start}-${wanted.end}/${part.total}`, 'content-length': body.length }, body };
  }
  if (object.status !== 200) return whole;
  const ifNoneMatch = first(viewer['if-none-match']);
  if (ifNoneMatch !== undefined && matchesEtag(ifNoneMatch, etag)) {
    const { 'content-length': _length, 'content-type': _type, ...rest } = headers;
    return { status: 304, statusMessage: 'Not Modified', headers: rest, body: Buffer.alloc(0) };
  }
  // If-Range: the range only if the viewer's copy is this one; otherwise the whole object.
  const ifRange = first(viewer['if-range']);
  if (ifRange !== undefined && ifRange !== etag) return whole;
  const range = rangeOf(first(viewer.range), object.body.length);
  if (range.kind === 'full') return whole;
  if (range.kind === 'unsatisfiable') {
    const { 'content-type': _type, ...rest } = headers;
    return { status: 416, statusMessage: 'Requested Range Not Satisfiable', headers: { ...rest, 'content-range': `bytes */${object.body.length}`, 'content-length': 0 }, body: Buffer.alloc(0) };
  }
  const body = object.body.subarray(range.start, range.end + 1);
  return {
    status: 206,
    statusMessage: 'Partial Content',
    headers: { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${object.body.length}`, 'content-length': body.length },
    body,
  };
}
