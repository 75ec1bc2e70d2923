/**
 * A copy of `text` that shares no memory with the string it was cut from. V8 keeps a slice of a string
 * (13 characters or more) as a view of the whole: a field cut from a log line, itself cut from a decoded
 * chunk of the log (./log-files.ts), keeps the whole chunk (up to 256 KiB) alive for as long as it is
 * kept. What outlives its line (a cache key, a digest counted or sampled) is copied with this: the
 * concatenation is flattened into a string of its own before the slice is taken.
 */
export function ownCopy(text: string): string {
  return ` ${text}`.slice(1);
}
