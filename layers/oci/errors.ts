/**
 * OCI distribution error bodies: `{"errors":[{"code","message"}]}` with the spec's codes, so clients
 * print something a human understands instead of failing on an unexpected body.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
 */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  // Not in the spec's table, but what CNCF Distribution answers for server-side failures (errcode UNKNOWN,
  // UNAVAILABLE); clients show the message either way.
  | 'UNKNOWN'
  | 'UNAVAILABLE';

export interface OciError {
  status: number;
  code: OciErrorCode;
  message: string;
}

export const ociError = (status: number, code: OciErrorCode, message: string): OciError => ({ status, code, message });

export function ociErrorBody(error: Pick<OciError, 'code' | 'message'>): string {
  return JSON.stringify({ errors: [{ code: error.code, message: error.message }] });
}
