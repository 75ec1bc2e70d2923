/**
 * The report's input: log files as CloudFront delivers them (gzip, one per period and edge), plain text
 * files, folders of either (read recursively, in name order), or "-" for standard input. Gzip is told by
 * its magic bytes, not the file name. Lines are cut at MAX_LINE_BYTES so a hostile file cannot make us
 * hold an unbounded line; anything that stops a file from being read at all is an InputError naming it.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { MAX_LINE_BYTES } from './access-log';

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface LogInput {
  /** The path, or "-" for standard input. */
  name: string;
  open(): AsyncIterable<Buffer>;
}

export interface LogLine {
  text: string;
  /** 1-based. */
  number: number;
  tooLong: boolean;
}

/** Files named by `paths`, folders expanded. Throws InputError for a path that is not there or not readable. */
export function resolveInputs(paths: readonly string[], stdin: () => AsyncIterable<Buffer> = () => process.stdin): LogInput[] {
  if (paths.length === 0) throw new InputError('no log files given');
  const inputs: LogInput[] = [];
  const visit = (path: string, depth: number) => {
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      throw new InputError(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (error as Error).message}`);
    }
    if (stats.isDirectory()) {
      // Symbolic links to folders are followed; a loop would nest without end, so depth is bounded.
      if (depth > 32) throw new InputError(`${path}: folders nested more than 32 deep`);
      let names: string[];
      try {
        names = readdirSync(path).sort();
      } catch (error) {
        throw new InputError(`${path}: ${(error as Error).message}`);
      }
      for (const name of names) if (!name.startsWith('.')) visit(join(path, name), depth + 1);
    } else if (stats.isFile()) {
      // Large reads and large inflated chunks: each chunk is an await, and a log is hundreds of MB.
      inputs.push({ name: path, open: () => createReadStream(path, { highWaterMark: 256 * 1024 }) });
    }
  };
  for (const path of paths) {
    if (path === '-') inputs.push({ name: '-', open: stdin });
    else visit(path, 0);
  }
  return inputs;
}

/** The bytes of `source`, inflated when they start with gzip's magic number (concatenated members too). */
export async function* decodedBytes(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  // Enough bytes to see the magic number (a pipe may deliver one byte at a time).
  while (head.length < 2) {
    const next = await iterator.next();
    if (next.done) break;
    head = Buffer.concat([head, Buffer.from(next.value)]);
  }
  const rest = async function* () {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  };
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    yield* rest();
    return;
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  // pipeline() passes a source error on to gunzip, so iterating it throws instead of hanging.
  pipeline(Readable.from(rest()), gunzip, () => {});
  for await (const chunk of gunzip) yield chunk as Buffer;
}

/**
 * Splits bytes into lines (LF; a CR before it is the parser's business), cutting each at `maxBytes`, and
 * hands them over a chunk's worth at a time: one await per line would cost more than reading the line.
 *
 * The whole lines of a chunk are decoded in one go and cut at their newlines: a newline byte is never part
 * of a multi-byte character, so each line decodes as it would alone, and one decode per chunk costs a
 * fraction of one per line. That is exact when every byte decodes to one character (ASCII, as logs are:
 * a line's length is then its size in bytes); a chunk that is not is cut a line at a time in bytes, as is
 * a line split across chunks.
 */
export async function* splitLineBatches(chunks: AsyncIterable<Buffer>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<LogLine[]> {
  const decoder = new TextDecoder('utf-8');
  // The line begun in an earlier chunk: its pieces (none once it is too long).
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  let number = 0;
  const take = (piece: Buffer) => {
    if (tooLong) return;
    if (length + piece.length > maxBytes) {
      tooLong = true;
      parts = [];
      return;
    }
    parts.push(piece);
    length += piece.length;
  };
  const finish = (): LogLine => {
    number++;
    const line: LogLine = { text: tooLong ? '' : decoder.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts)), number, tooLong };
    parts = [];
    length = 0;
    tooLong = false;
    return line;
  };
  for await (const chunk of chunks) {
    const batch: LogLine[] = [];
    let start = 0;
    if (length > 0 || tooLong) {
      const end = chunk.indexOf(0x0a);
      if (end < 0) {
        take(chunk);
        continue;
      }
      take(chunk.subarray(0, end));
      batch.push(finish());
      start = end + 1;
    }
    const last = chunk.lastIndexOf(0x0a);
    if (last >= start) {
      const text = chunk.toString('utf8', start, last);
      // As many characters as bytes: no multi-byte character (nor a BOM, which TextDecoder would drop).
      if (text.length === last - start) {
        for (let from = 0; ; ) {
          const end = text.indexOf('\n', from);
          const line = end < 0 ? text.slice(from) : text.slice(from, end);
          number++;
          batch.push(line.length > maxBytes ? { text: '', number, tooLong: true } : { text: line, number, tooLong: false });
          if (end < 0) break;
          from = end + 1;
        }
      } else {
        for (;;) {
          const end = chunk.indexOf(0x0a, start);
          if (end < 0 || end > last) break;
          take(chunk.subarray(start, end));
          batch.push(finish());
          start = end + 1;
        }
      }
      start = last + 1;
    }
    if (start < chunk.length) take(chunk.subarray(start));
    if (batch.length > 0) yield batch;
  }
  if (length > 0 || tooLong) yield [finish()];
}

/** The same, a line at a time. */
export async function* splitLines(chunks: AsyncIterable<Buffer>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<LogLine> {
  for await (const batch of splitLineBatches(chunks, maxBytes)) yield* batch;
}

/** Every line of one input, in batches; read errors (a broken gzip stream, a vanished file) become InputErrors naming it. */
export async function* readLineBatches(input: LogInput, maxBytes = MAX_LINE_BYTES): AsyncGenerator<LogLine[]> {
  try {
    yield* splitLineBatches(decodedBytes(input.open()), maxBytes);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const what = e.code?.startsWith('Z_') || /incorrect header|unexpected end|invalid/i.test(e.message) ? `not a readable gzip file (${e.message})` : e.message;
    throw new InputError(`${input.name === '-' ? 'standard input' : input.name}: ${what}`);
  }
}

/** Every line of one input, a line at a time. */
export async function* readLines(input: LogInput, maxBytes = MAX_LINE_BYTES): AsyncGenerator<LogLine> {
  for await (const batch of readLineBatches(input, maxBytes)) yield* batch;
}
