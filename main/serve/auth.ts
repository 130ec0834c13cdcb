// Who may talk to `cwb serve`: requests carrying the per-launch token (query, bearer header, or the cookie
// set after a valid ?token=), from the server's own origin. Tokens are compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const TOKEN_COOKIE = 'cwb_token'

export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

export function tokensEqual(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()
  return timingSafeEqual(digest(given), digest(expected))
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return decodeURIComponent(value.join('='))
  }
  return undefined
}

export type TokenSource = 'query' | 'header' | 'cookie'

/** The token a request presents and where it came from, if any. */
export function presentedToken(req: IncomingMessage, url: URL): { token: string; source: TokenSource } | undefined {
  const query = url.searchParams.get('token')
  if (query) return { token: query, source: 'query' }
  const auth = req.headers.authorization
  if (auth?.startsWith('Bearer ')) return { token: auth.slice('Bearer '.length).trim(), source: 'header' }
  const fromCookie = cookie(req.headers.cookie, TOKEN_COOKIE)
  if (fromCookie) return { token: fromCookie, source: 'cookie' }
  return undefined
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '')
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare)
}

/** The `host:port` spellings a browser may use for this server (loopback aliases included). */
export function allowedAuthorities(host: string, port: number): Set<string> {
  const names = isLoopbackHost(host) ? ['127.0.0.1', 'localhost', '[::1]', formatHost(host)] : [formatHost(host)]
  return new Set(names.map((name) => `${name}:${port}`))
}

export function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/** A foreign Origin (another site's page calling in: CSRF) is refused; requests without Origin (curl, CLI) are fine. */
export function originAllowed(origin: string | undefined, authorities: Set<string>): boolean {
  if (origin === undefined) return true
  try {
    const parsed = new URL(origin)
    return parsed.protocol === 'http:' && authorities.has(parsed.host)
  } catch {
    return false
  }
}
