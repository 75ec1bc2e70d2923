/**
 * What can go wrong talking to a registry, as one error type with a code an operator (and a test) can act
 * on. Messages name the registry URL or repository involved; they never include tokens or credentials.
 */
export type RegistryErrorCode =
  /** A name, tag or digest that would not make a safe, valid API path. */
  | 'INVALID_REFERENCE'
  /** The registry answered with a status we cannot use (after retries, for retryable ones). */
  | 'HTTP_STATUS'
  /** Credentials were refused, or the token flow failed. */
  | 'UNAUTHORIZED'
  /** The registry pointed us somewhere we refuse to go (another origin, plain http to a non-loopback host). */
  | 'UNSAFE_URL'
  /** A response larger than we accept for its kind (manifests, lists, tokens). */
  | 'TOO_LARGE'
  /** A manifest whose bytes do not hash to the digest it was asked for or announced with. */
  | 'DIGEST_MISMATCH'
  /** A body that is not the JSON document the API promises. */
  | 'INVALID_RESPONSE'
  /** A manifest kind we cannot walk (Docker schema 1, unknown media types). */
  | 'UNSUPPORTED_MANIFEST'
  /** The network failed (after retries). */
  | 'NETWORK';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export function isAbortError(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}
