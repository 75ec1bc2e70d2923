/**
 * Merging bucket listings as streams. Each listing arrives in S3's key order (UTF-8 binary), so walking
 * them side by side, always taking the smallest key, lines up each key's entries in every bucket while
 * holding only the page each listing is on: memory does not grow with the number of objects.
 */
import { compareKeys } from '../s3/key-order';
import type { ListedObject } from '../s3/objects';

/** One key and what each listing holds under it (undefined: that bucket does not list it). */
export interface MergedRow {
  key: string;
  source: ListedObject | undefined;
  targets: (ListedObject | undefined)[];
}

/** A listing and the bucket it lists (for the error when it is out of order). */
export interface NamedListing {
  bucket: string;
  entries: AsyncIterable<ListedObject>;
}

/** A listing that is not in S3's order cannot be merged: matches would be missed and blobs copied twice. */
export class ListingOrderError extends Error {
  constructor(bucket: string, previous: string, key: string) {
    super(
      `the listing of bucket ${bucket} is not in S3's key order (UTF-8 binary): ${JSON.stringify(key)} came after ${JSON.stringify(previous)}; reconcile merges listings and needs that order`,
    );
    this.name = 'ListingOrderError';
  }
}

/** Reads one listing an entry at a time, checking that keys strictly ascend. */
class Cursor {
  head: ListedObject | undefined;
  private readonly iterator: AsyncIterator<ListedObject>;
  private last: string | undefined;

  constructor(private readonly listing: NamedListing) {
    this.iterator = listing.entries[Symbol.asyncIterator]();
  }

  async advance(): Promise<void> {
    const next = await this.iterator.next();
    if (next.done) {
      this.head = undefined;
      return;
    }
    const entry = next.value;
    if (this.last !== undefined && compareKeys(this.last, entry.key) >= 0) throw new ListingOrderError(this.listing.bucket, this.last, entry.key);
    this.last = entry.key;
    this.head = entry;
  }

  async close(): Promise<void> {
    await this.iterator.return?.().catch(() => undefined);
  }
}

/**
 * Every key of the source and the targets, once, in S3's order, with each listing's entry for it. The
 * listings are read in step (a target is read only as far as the source has got, and vice versa), so
 * keys that only one side lists are passed over without being kept.
 */
export async function* mergeListings(source: NamedListing, targets: NamedListing[]): AsyncGenerator<MergedRow> {
  const cursors = [source, ...targets].map((listing) => new Cursor(listing));
  try {
    await Promise.all(cursors.map((c) => c.advance()));
    for (;;) {
      let key: string | undefined;
      for (const c of cursors) if (c.head && (key === undefined || compareKeys(c.head.key, key) < 0)) key = c.head.key;
      if (key === undefined) return;
      const at = cursors.map((c) => (c.head?.key === key ? c.head : undefined));
      yield { key, source: at[0], targets: at.slice(1) };
      await Promise.all(cursors.map((c, i) => (at[i] ? c.advance() : undefined)));
    }
  } finally {
    await Promise.all(cursors.map((c) => c.close()));
  }
}

/**
 * Keeps up to `ahead` items of `items` read in advance, so that the next page of a listing is on its way
 * while the current one is worked on, and no further: a slow consumer holds the producer back.
 */
export async function* readAhead<T>(items: AsyncIterable<T>, ahead = 1): AsyncGenerator<T> {
  const iterator = items[Symbol.asyncIterator]();
  const pending: Promise<IteratorResult<T>>[] = [];
  const fetch = () => {
    const next = iterator.next();
    // Handled where it is awaited; this only keeps an abandoned read-ahead from being an unhandled rejection.
    next.catch(() => undefined);
    pending.push(next);
  };
  try {
    fetch();
    for (;;) {
      const next = await pending.shift()!;
      if (next.done) return;
      while (pending.length < ahead) fetch();
      yield next.value;
      if (pending.length === 0) fetch();
    }
  } finally {
    await Promise.allSettled(pending);
    await iterator.return?.().catch(() => undefined);
  }
}
