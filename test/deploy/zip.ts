/** The entries of a zip file, read from its central directory (names and sizes; enough to check a package). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  compressedBytes: number;
  bytes: number;
  /** 0 stored, 8 deflated. */
  method: number;
  /** Where the entry's local header starts. */
  offset: number;
}

export function zipEntries(file: string): ZipEntry[] {
  const zip = readFileSync(file);
  // End of central directory: signature 0x06054b50, at most 64 KiB of comment after it.
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error(`${file}: not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${file}: broken central directory`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
      compressedBytes: zip.readUInt32LE(offset + 20),
      bytes: zip.readUInt32LE(offset + 24),
      method: zip.readUInt16LE(offset + 10),
      offset: zip.readUInt32LE(offset + 42),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Writes every file of a zip under `into` (what Lambda does with a function's package). */
export function extractZip(file: string, into: string): string[] {
  const zip = readFileSync(file);
  const written: string[] = [];
  for (const entry of zipEntries(file)) {
    if (entry.name.endsWith('/')) continue;
    if (entry.name.split('/').includes('..')) throw new Error(`${file}: entry ${entry.name} leaves the folder`);
    const start = entry.offset + 30 + zip.readUInt16LE(entry.offset + 26) + zip.readUInt16LE(entry.offset + 28);
    const data = zip.subarray(start, start + entry.compressedBytes);
    const bytes = entry.method === 8 ? inflateRawSync(data) : entry.method === 0 ? data : null;
    if (!bytes) throw new Error(`${file}: ${entry.name} uses compression method ${entry.method}`);
    const target = join(into, entry.name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
    written.push(target);
  }
  return written;
}
