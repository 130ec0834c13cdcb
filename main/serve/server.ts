// Browser mode: the same API contract over HTTP (POST /api/call/METHOD) and a WebSocket (/api/events),
// and the built renderer as static files, all behind the per-launch token.
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { basename, dirname } from 'node:path'
import type { AddressInfo } from 'node:net'
import { Transform } from 'node:stream'
import type { Duplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import sirv from 'sirv'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import type { ApiErrorBody, AppInfo } from '../../preload/contract'
import { uploadPath } from '../data/import/uploads'
import { exportedFile } from '../services/external-service'
import type { WorkbenchHost } from '../services/workbench'
import { allowedAuthorities, formatHost, isLoopbackHost, originAllowed, presentedToken, tokensEqual, TOKEN_COOKIE } from './auth'

export const MAX_REQUEST_BYTES = 1 << 20
/** Data files uploaded for import in browser mode (`POST /api/upload?name=FILE`). */
export const MAX_UPLOAD_BYTES = 2 * 1024 ** 3

export interface ServerOptions {
  host: string
  port: number
  token: string
  rendererDir: string
  workbench: WorkbenchHost
  /** Largest upload accepted (default MAX_UPLOAD_BYTES). */
  maxUploadBytes?: number
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

/**
 * Streams an upload into the workspace's uploads folder and answers `{ok, result: {path}}`: the path the import
 * dialog then previews and imports (browser mode has no host paths). Past the limit the partial file is removed.
 */
async function receiveUpload(req: IncomingMessage, res: ServerResponse, url: URL, workbench: WorkbenchHost, limit: number) {
  const name = url.searchParams.get('name')?.trim()
  if (!name) {
    return sendJson(res, 400, {
      ok: false,
      error: {
        code: 'invalid_request',
        message: 'Name the uploaded file: POST /api/upload?name=FILE (its extension tells the format).',
      },
    })
  }
  const tooLarge = (): void =>
    refuse(res, 413, `uploads are limited to ${limit} bytes; import a file this large with \`cwb import\` on the host`)
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    res.setHeader('connection', 'close')
    tooLarge()
    req.destroy()
    return
  }
  const info = await workbench.dispatch('app.info', {})
  if (!info.ok) return sendJson(res, 500, info)
  const path = uploadPath((info.result as AppInfo).workspace, name)
  mkdirSync(dirname(path), { recursive: true })
  let size = 0
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length
      done(size > limit ? new Error('too large') : null, chunk)
    },
  })
  try {
    await pipeline(req, count, createWriteStream(path))
  } catch (error) {
    rmSync(path, { force: true })
    if (size > limit) {
      res.setHeader('connection', 'close')
      return tooLarge()
    }
    if (!res.headersSent && !res.destroyed)
      sendJson(res, 500, { ok: false, error: { code: 'internal', message: `The upload failed: ${(error as Error).message}` } })
    return
  }
  sendJson(res, 200, { ok: true, result: { path } })
}

/**
 * Serves a file the host wrote for the user (a run bundle, a verl export): only under `<workspace>/exports`, so the
 * token never opens the rest of the disk.
 */
async function sendExport(res: ServerResponse, url: URL, workbench: WorkbenchHost): Promise<void> {
  const path = url.searchParams.get('path')
  if (!path) return refuse(res, 404, 'name the file: GET /api/download?path=FILE (a file under the exports folder)')
  const info = await workbench.dispatch('app.info', {})
  if (!info.ok) return sendJson(res, 500, info)
  const found = exportedFile((info.result as AppInfo).workspace, path)
  if ('refused' in found) {
    return found.refused === 'forbidden'
      ? refuse(res, 403, "only files under the workspace's exports folder can be downloaded")
      : refuse(res, 404, `no such file ${path}`)
  }
  const stat = statSync(found.file)
  if (!stat.isFile()) return refuse(res, 404, `${path} is a folder; download its files one by one`)
  const name = basename(found.file)
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': stat.size,
    'content-disposition': `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    'cache-control': 'no-store',
  })
  await pipeline(createReadStream(found.file), res).catch(() => res.destroy())
}

/**
 * What a request that failed outside the API's own error handling (a client gone mid-body, a disk error on upload)
 * gets: a 500 if nothing was sent yet, else the connection closes. The server itself keeps running.
 */
function failed(res: ServerResponse): (error: unknown) => void {
  return (error) => {
    if (res.headersSent || res.destroyed) res.destroy()
    else
      sendJson(res, 500, {
        ok: false,
        error: { code: 'internal', message: `The request failed: ${(error as Error)?.message ?? error}` },
      })
  }
}

/** Past this much, an oversized request body is cut off rather than read to its end. */
const MAX_DRAINED_BYTES = 64 * MAX_REQUEST_BYTES

/**
 * The request body, or undefined once it passes MAX_REQUEST_BYTES. The rest is then read and dropped (up to
 * MAX_DRAINED_BYTES), so the client, still sending, receives the 413 rather than a reset connection.
 */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (over) {
        if (size > MAX_DRAINED_BYTES) req.destroy()
        return
      }
      if (size > MAX_REQUEST_BYTES) {
        over = true
        chunks.length = 0
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'))
    })
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
      // Only JSON: a form or a text/plain fetch from another page (which needs no CORS preflight) never gets through.
      const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
      if (type !== undefined && type !== 'application/json') {
        return sendJson(res, 415, {
          ok: false,
          error: { code: 'invalid_request', message: `API calls send JSON: set Content-Type: application/json (got ${type})` },
        })
      }
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
      }, failed(res))
      return
    }
    if (url.pathname === '/api/upload') {
      if (req.method !== 'POST')
        return sendJson(res, 405, { ok: false, error: { code: 'invalid_request', message: 'Uploads use POST' } })
      receiveUpload(req, res, url, workbench, options.maxUploadBytes ?? MAX_UPLOAD_BYTES).catch(failed(res))
      return
    }
    if (url.pathname === '/api/download') {
      if (req.method !== 'GET')
        return sendJson(res, 405, { ok: false, error: { code: 'invalid_request', message: 'Downloads use GET' } })
      sendExport(res, url, workbench).catch(failed(res))
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
