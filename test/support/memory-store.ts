/**
 * A RangeStore in memory, with S3's conditional-write semantics (ETags, If-Match / If-None-Match), for unit
 * tests of the updater and rollback that need no S3.
 */
import { parsePointer, type RangePointer } from '../../layers/ranges/pointer';
import type { RangeStore } from '../../layers/ranges/store';

export interface MemoryStore extends RangeStore {
  tables: Map<string, Uint8Array>;
  /** The pointer as stored (JSON), or null. */
  pointerText(): string | null;
  /** Replaces the pointer unconditionally (a hand edit). */
  setPointer(pointer: RangePointer | Record<string, unknown>): void;
}

export function memoryStore(pointerKey = 'ranges/current.json'): MemoryStore {
  const tables = new Map<string, Uint8Array>();
  let pointer: { text: string; etag: string } | null = null;
  let version = 0;
  const write = (text: string) => {
    pointer = { text, etag: `"${++version}"` };
  };
  return {
    location: `memory://${pointerKey}`,
    pointerKey,
    tables,
    pointerText: () => pointer?.text ?? null,
    setPointer: (value) => write(JSON.stringify(value)),
    async readPointer() {
      if (pointer === null) return { pointer: null, etag: null };
      const parsed = parsePointer(pointer.text);
      return typeof parsed === 'string' ? { pointer: null, etag: pointer.etag, problem: parsed } : { pointer: parsed, etag: pointer.etag };
    },
    async putTable(key, bytes) {
      tables.set(key, Uint8Array.from(bytes));
    },
    async swapPointer(next, expectedEtag) {
      if ((pointer?.etag ?? null) !== expectedEtag) return 'conflict';
      write(JSON.stringify(next));
      return 'swapped';
    },
    async readTable(key) {
      return tables.get(key) ?? null;
    },
  };
}
