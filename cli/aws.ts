/**
 * What the commands that call AWS share: a line in their --help saying so, and one place (cli/main.ts)
 * that turns the AWS SDK's failures for a missing credential or an unreachable endpoint into one line
 * that says what is missing. The SDK's own messages ("Could not load credentials from any providers",
 * "getaddrinfo EAI_AGAIN bucket.s3.us-east-1.amazonaws.com") name neither the fix nor the option.
 */
import type { Command } from 'commander';

/** Which AWS APIs a command calls, and the option that points it at a local server instead. */
export interface AwsUse {
  apis: string;
  localOption?: string;
}

/** Adds "Needs AWS: ..." to a command's --help. */
export function needsAws(command: Command, use: AwsUse): Command {
  const local = use.localOption ? `, or ${use.localOption} for a local server` : '';
  return command.addHelpText(
    'after',
    `\nNeeds AWS: ${use.apis}, with credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance or SSO role) and network access to AWS${local}.`,
  );
}

const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED', 'EPIPE']);
const CREDENTIAL_NAMES = new Set(['CredentialsProviderError', 'ProviderError', 'TokenProviderError']);
const REFUSED_CREDENTIAL_NAMES = new Set(['ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId', 'UnrecognizedClientException', 'InvalidAccessKeyId', 'SignatureDoesNotMatch']);

interface ErrorLike {
  name?: string;
  code?: string;
  message?: string;
  hostname?: string;
  address?: string;
  port?: number;
  cause?: unknown;
  errors?: unknown[];
}

/** The error and everything it wraps (`cause`, AggregateError's `errors`), outermost first. */
function chain(error: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < 10) {
    const next = queue.shift();
    if (!next || typeof next !== 'object') continue;
    const e = next as ErrorLike;
    out.push(e);
    if (e.cause) queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return out;
}

/**
 * One line for an AWS credential or network failure, or undefined for any other error (shown as it is).
 * `context` is what the command prefixed to the SDK's message, kept so the line still says which bucket.
 */
export function describeAwsFailure(error: unknown): string | undefined {
  const errors = chain(error);
  const outer = errors[0]?.message ?? '';
  const sdkMessages = ['Could not load credentials from any providers', 'getaddrinfo', 'connect ECONNREFUSED', 'Unable to locate credentials', 'Token is expired'];
  const at = sdkMessages.map((m) => outer.indexOf(m)).filter((i) => i > 0);
  const context = at.length > 0 ? outer.slice(0, Math.min(...at)).replace(/[:\s]+$/, '') : '';
  const prefix = context ? `${context}: ` : '';

  for (const e of errors) {
    const message = e.message ?? '';
    if (CREDENTIAL_NAMES.has(e.name ?? '') || /Could not load credentials from any providers|Unable to locate credentials/.test(message)) {
      return `${prefix}no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (this command calls AWS; see --help)`;
    }
    if (REFUSED_CREDENTIAL_NAMES.has(e.name ?? '') || REFUSED_CREDENTIAL_NAMES.has(e.code ?? '')) {
      return `${prefix}AWS refused the credentials (${e.name ?? e.code}): they are expired or wrong; refresh them (aws sso login, or new keys)`;
    }
  }
  for (const e of errors) {
    const code = e.code ?? /\b(E[A-Z_]+)\b/.exec(e.message ?? '')?.[1];
    if (!code || !NETWORK_CODES.has(code)) continue;
    const host = e.hostname ?? /(?:getaddrinfo \w+|connect \w+) ([^\s,]+)/.exec(e.message ?? '')?.[1] ?? (e.address ? `${e.address}${e.port ? `:${e.port}` : ''}` : undefined);
    const where = host ? ` ${host}` : ' the AWS endpoint';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${prefix}cannot reach${where}: its name does not resolve (${code}); no network, or a wrong endpoint or region`;
    if (code === 'ECONNREFUSED') return `${prefix}cannot reach${where}: nothing accepts connections there (ECONNREFUSED); is the endpoint (or the local server) running?`;
    return `${prefix}cannot reach${where} (${code}): check the network connection and the endpoint`;
  }
  return undefined;
}
