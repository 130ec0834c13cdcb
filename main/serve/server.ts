// Browser mode: the same API contract over HTTP (POST /api/call/METHOD) and a WebSocket (/api/events),
// and the built renderer as static files, all behind the per-launch token.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import sirv from 'sirv'
import { WebSocketServer, type WebSocket } from 'ws'
import type { ApiErrorBody } from '../../preload/contract'
import type { WorkbenchHost } from '../services/workbench'
import { allowedAuthorities, formatHost, isLoopbackHost, originAllowed, presentedToken, tokensEqual, TOKEN_COOKIE } from './auth'

export const MAX_REQUEST_BYTES = 1 << 20

export interface ServerOptions {
  host: string
  port: number
  token: string
  rendererDir: string
  workbench: WorkbenchHost
}

export interface RunningServer {
  url: string
  baseUrl: string
  port: number
  close(): Promise<void>
}

const STATUS: Record<ApiErrorBody['code'], number> = {
  invalid_request: 400,
  unknown_method: 404,
  not_found: 404,
  conflict: 409,
  internal: 500,
}

function contentSecurityPolicy(authority: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self' ws://${authority}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

function refuse(res: ServerResponse, status: 401 | 403 | 404 | 413, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  res.end(`${status}: ${message}\n`)
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_REQUEST_BYTES) {
        resolve(undefined)
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { workbench, token } = options
  const statics = sirv(options.rendererDir, { single: true, dev: false, etag: true, gzip: false, brotli: false })
  let authorities = new Set<string>()
  let csp = ''

  /** Origin, Host and token checks shared by HTTP requests and WebSocket upgrades; returns why it refuses. */
  const gate = (req: IncomingMessage, url: URL): { status: 401 | 403; message: string } | undefined => {
    if (!originAllowed(req.headers.origin, authorities)) {
      return { status: 403, message: `requests from origin ${req.headers.origin} are not allowed` }
    }
    if (isLoopbackHost(options.host) && !authorities.has(req.headers.host ?? '')) {
      return { status: 403, message: `unexpected Host header ${req.headers.host ?? '(none)'}` }
    }
    const presented = presentedToken(req, url)
    if (!presented || !tokensEqual(presented.token, token)) {
      return { status: 401, message: 'this workbench needs its access token: open the URL that `cwb serve` printed' }
    }
    return undefined
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://workbench.invalid')
    const refused = gate(req, url)
    if (refused) return refuse(res, refused.status, refused.message)
    res.setHeader('x-content-type-options', 'nosniff')
    res.setHeader('referrer-policy', 'no-referrer')
    res.setHeader('x-frame-options', 'DENY')

    if (url.searchParams.has('token') && req.method === 'GET') {
      // Keep the token out of the address bar and history: trade it for an HttpOnly cookie.
      url.searchParams.delete('token')
      res.setHeader('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`)
      res.writeHead(303, { location: `${url.pathname}${url.search}` })
      return res.end()
    }

    const call = /^\/api\/call\/([\w.]+)$/.exec(url.pathname)
    if (call) {
      if (req.method !== 'POST')
        return sendJson(res, 405, { ok: false, error: { code: 'invalid_request', message: 'API calls use POST' } })
      void readBody(req).then(async (body) => {
        if (body === undefined) return refuse(res, 413, `request bodies are limited to ${MAX_REQUEST_BYTES} bytes`)
        let params: unknown
        try {
          params = body.trim() === '' ? {} : JSON.parse(body)
        } catch (error) {
          return sendJson(res, 400, {
            ok: false,
            error: { code: 'invalid_request', message: `The request body is not valid JSON: ${(error as Error).message}` },
          })
        }
        const reply = await workbench.dispatch(call[1], params)
        sendJson(res, reply.ok ? 200 : STATUS[reply.error.code], reply)
      })
      return
    }
    if (url.pathname.startsWith('/api/')) {
      return sendJson(res, 404, { ok: false, error: { code: 'unknown_method', message: `No API route ${url.pathname}` } })
    }
    res.setHeader('content-security-policy', csp)
    statics(req, res, () => refuse(res, 404, `no such file ${url.pathname}`))
  })

  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://workbench.invalid')
    const refused =
      gate(req, url) ?? (url.pathname === '/api/events' ? undefined : { status: 403 as const, message: 'no such socket' })
    if (refused) {
      socket.end(
        `HTTP/1.1 ${refused.status} ${refused.status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nConnection: close\r\n\r\n`,
      )
      return
    }
    sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const unsubscribe = workbench.onEvent((event, payload) => ws.send(JSON.stringify({ event, payload })))
      ws.on('close', unsubscribe)
      ws.on('error', unsubscribe)
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  authorities = allowedAuthorities(options.host, port)
  csp = contentSecurityPolicy(`${formatHost(options.host)}:${port}`)
  const baseUrl = `http://${formatHost(options.host)}:${port}/`
  return {
    url: `${baseUrl}?token=${token}`,
    baseUrl,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate()
        sockets.close()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
