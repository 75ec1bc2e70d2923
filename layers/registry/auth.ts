/**
 * The registry token flow (https://distribution.github.io/distribution/spec/auth/token/): a 401 carries a
 * `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge; the client asks the realm for a
 * token for that scope and repeats the request with `Authorization: Bearer <token>`.
 */

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate value into its challenges (RFC 9110 section 11.6.1): a scheme followed by
 * comma-separated `key=value` or `key="quoted \"value\""` parameters. Unparseable input gives [].
 */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  if (!header || header.length > 8192) return [];
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (chars: string) => {
    while (i < header.length && chars.includes(header[i]!)) i++;
  };
  const token = () => {
    const match = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(header.slice(i));
    if (!match) return undefined;
    i += match[0].length;
    return match[0];
  };
  while (i < header.length) {
    skip(' ,');
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(' ');
      const start = i;
      const key = token();
      skip(' ');
      if (!key || header[i] !== '=') {
        // Not a parameter: the next challenge's scheme (or garbage).
        i = start;
        break;
      }
      i++;
      skip(' ');
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        value = token() ?? '';
      }
      challenge.params[key.toLowerCase()] = value;
      skip(' ');
      if (header[i] !== ',') break;
      i++;
    }
  }
  return challenges;
}

/** The scope a request needs: pull on one repository, or the catalog. */
export function repositoryScope(name: string): string {
  return `repository:${name}:pull`;
}
export const CATALOG_SCOPE = 'registry:catalog:*';

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * Tokens by realm, service and scope. A token is reused until shortly before it expires; the spec's
 * default lifetime is 60 s when the server does not say.
 */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  constructor(private readonly now: () => number = Date.now) {}

  private static key(realm: string, service: string | undefined, scope: string) {
    return `${realm}\n${service ?? ''}\n${scope}`;
  }

  get(realm: string, service: string | undefined, scope: string): string | undefined {
    const key = TokenCache.key(realm, service, scope);
    const cached = this.tokens.get(key);
    if (!cached) return undefined;
    if (cached.expiresAt <= this.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return cached.token;
  }

  set(realm: string, service: string | undefined, scope: string, token: string, expiresInSeconds: number): void {
    // Refresh 10 s early (or at half-life for short tokens) so a token does not expire in flight.
    const lifetime = Math.max(1, expiresInSeconds) * 1000;
    this.tokens.set(TokenCache.key(realm, service, scope), { token, expiresAt: this.now() + lifetime - Math.min(10_000, lifetime / 2) });
  }

  delete(realm: string, service: string | undefined, scope: string): void {
    this.tokens.delete(TokenCache.key(realm, service, scope));
  }
}
