/**
 * The emulator's requests as CloudFront standard log lines (the 33 W3C fields AWS documents, in its
 * order), so `registry-edge cost-report` and any other tool that reads CloudFront logs can read the local
 * stack's. A file is appended to; the `#Version`/`#Fields` header is written when it is empty.
 *
 * Fields the emulator cannot know are "-" (TLS protocol and cipher: it speaks plain HTTP; cookies, field-level
 * encryption). x-edge-result-type is Error for a failed function, with the reason in
 * x-edge-detailed-result-type, as CloudFront logs them.
 */
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { formatLogLine, logHeader } from '../../layers/costs/access-log';
import type { AccessLogEntry } from './emulator';

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : (ms / 1000).toFixed(3));

/** "bytes 0-99/1234" -> [0, 99] */
function rangeOf(contentRange: string | undefined): [number, number] | undefined {
  const match = contentRange ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange.trim()) : null;
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

export function standardLogLine(entry: AccessLogEntry): string {
  // CloudFront logs when it finished responding.
  const finished = new Date(Date.parse(entry.time) + entry.durationMs).toISOString();
  const lambdaError = entry.resultType === 'LambdaExecutionError' || entry.resultType === 'LambdaValidationError';
  const resultType = lambdaError ? 'Error' : entry.resultType;
  const range = rangeOf(entry.response.contentRange);
  return formatLogLine({
    date: finished.slice(0, 10),
    time: finished.slice(11, 19),
    'x-edge-location': entry.edgeLocation,
    'sc-bytes': entry.bytesSent,
    'c-ip': entry.clientIp,
    'cs-method': entry.method,
    'cs(Host)': entry.distributionDomainName,
    'cs-uri-stem': entry.uri,
    // Nothing sent at all: the viewer went away first, which CloudFront logs as 000.
    'sc-status': entry.bytesSent === 0 ? '000' : String(entry.status),
    'cs(Referer)': entry.viewer.referer,
    'cs(User-Agent)': entry.viewer.userAgent,
    'cs-uri-query': entry.querystring,
    'x-edge-result-type': resultType,
    'x-edge-request-id': entry.requestId,
    'x-host-header': entry.viewer.host,
    'cs-protocol': 'http',
    'cs-bytes': entry.bytesReceived,
    'time-taken': seconds(entry.durationMs),
    'x-forwarded-for': entry.viewer.forwardedFor,
    'x-edge-response-result-type': resultType,
    'cs-protocol-version': entry.viewer.protocolVersion,
    'c-port': entry.viewer.port,
    'time-to-first-byte': seconds(entry.timeToFirstByteMs),
    'x-edge-detailed-result-type': entry.resultType,
    'sc-content-type': entry.response.contentType,
    'sc-content-len': entry.response.contentLength,
    'sc-range-start': range?.[0],
    'sc-range-end': range?.[1],
  });
}

export interface StandardLogWriter {
  path: string;
  write(entry: AccessLogEntry): void;
  close(): void;
}

/**
 * Appends lines to `path` as requests end (synchronously: a line is in the file when the response is
 * over, so a test or a report can read it at once). A write that fails (disk full) warns once and the
 * server goes on: an access log must not take the distribution down.
 */
export function createStandardLogWriter(path: string): StandardLogWriter {
  let fd: number | null = openSync(path, 'a');
  if (fstatSync(fd).size === 0) writeSync(fd, logHeader());
  let warned = false;
  return {
    path,
    write(entry) {
      if (fd === null) return;
      try {
        writeSync(fd, standardLogLine(entry));
      } catch (error) {
        if (!warned) process.emitWarning(`access log ${path}: ${(error as Error).message}; requests are no longer logged there`);
        warned = true;
      }
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
