import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { allowedAuthorities, isLoopbackHost, newToken, originAllowed, presentedToken, tokensEqual } from '../../main/serve/auth'

const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage
const at = (path: string): URL => new URL(path, 'http://x.invalid')

describe("browser mode's token", () => {
  it('is random and URL-safe', () => {
    const token = newToken()
    expect(token).toMatch(/^[\w-]{32}$/)
    expect(newToken()).not.toBe(token)
  })

  it('compares equal only for the same text, whatever the lengths', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true)
    expect(tokensEqual('abd', 'abc')).toBe(false)
    expect(tokensEqual('', 'abc')).toBe(false)
    expect(tokensEqual('abcabc', 'abc')).toBe(false)
  })

  it('is read from ?token=, then a Bearer header, then the cookie', () => {
    expect(presentedToken(request({ authorization: 'Bearer h', cookie: 'cwb_token=c' }), at('/?token=q'))).toEqual({
      token: 'q',
      source: 'query',
    })
    expect(presentedToken(request({ authorization: 'Bearer h', cookie: 'cwb_token=c' }), at('/'))).toEqual({
      token: 'h',
      source: 'header',
    })
    expect(presentedToken(request({ cookie: 'other=1; cwb_token=c%2Dd' }), at('/'))).toEqual({ token: 'c-d', source: 'cookie' })
    expect(presentedToken(request({ authorization: 'Basic abc' }), at('/'))).toBeUndefined()
  })
})

describe("browser mode's origin check", () => {
  const authorities = allowedAuthorities('127.0.0.1', 8123)

  it('accepts the server itself under its loopback names, and requests without Origin', () => {
    expect(originAllowed('http://127.0.0.1:8123', authorities)).toBe(true)
    expect(originAllowed('http://localhost:8123', authorities)).toBe(true)
    expect(originAllowed(undefined, authorities)).toBe(true)
  })

  it('refuses other sites, other ports, other schemes and junk (CSRF)', () => {
    for (const origin of ['http://evil.example', 'http://127.0.0.1:9999', 'https://127.0.0.1:8123', 'null', 'file://', '']) {
      expect(originAllowed(origin, authorities), origin).toBe(false)
    }
  })

  it('knows which hosts are loopback', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['0.0.0.0', '192.168.1.10', 'example.com', '::']) expect(isLoopbackHost(host), host).toBe(false)
  })
})
