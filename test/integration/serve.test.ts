import Database from 'better-sqlite3'
import { mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { cwb, serve, serveTempWorkspace, type Served } from '../helpers/cli'
import { cleanupsAfterEach, tempDir } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()
const started = (args: string[] = [], env: NodeJS.ProcessEnv = {}) => serveTempWorkspace(cleanups, args, env)

const call = (served: Served, method: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${served.base}api/call/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

function socket(url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers })
    ws.on('open', () => resolve({ ws }))
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }))
    ws.on('error', () => resolve({}))
  })
}

/** A raw request, so the Host header can be anything (fetch sets it from the URL). */
function rawStatus(served: Served, path: string, headers: Record<string, string>): Promise<number | undefined> {
  const url = new URL(served.base)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      res.resume()
      resolve(res.statusCode)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('cwb serve', () => {
  it('prints exactly one ready line on stdout with the bound port and token', async () => {
    const served = await started([], { CWB_TOKEN: 'env-token-123' })
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=env-token-123$/)
    expect(Number(new URL(served.url).port)).toBeGreaterThan(0)
  })

  it('takes --token over CWB_TOKEN', async () => {
    const served = await started(['--token', 'flag-token-456'], { CWB_TOKEN: 'env-token-123' })
    expect(served.token).toBe('flag-token-456')
  })

  it('refuses every request without the right token with 401, the page included', async () => {
    const served = await started()
    expect((await fetch(served.base)).status).toBe(401)
    expect((await fetch(`${served.base}?token=wrong-token`)).status).toBe(401)
    expect((await fetch(`${served.base}assets/`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401)
    expect((await fetch(`${served.base}api/call/runs.list`, { method: 'POST', body: '{}' })).status).toBe(401)
    expect((await fetch(served.base, { headers: { cookie: 'cwb_token=wrong' } })).status).toBe(401)
  })

  it('accepts the token as ?token= (then as the cookie it sets), or as a Bearer header', async () => {
    const served = await started()
    const first = await fetch(served.url, { redirect: 'manual' })
    expect(first.status).toBe(303)
    expect(first.headers.get('location')).toBe('/')
    const cookie = first.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^cwb_token=[\w-]+; HttpOnly; SameSite=Strict; Path=\//)
    const page = await fetch(served.base, { headers: { cookie: cookie.split(';')[0]! } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<div id="app">')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect((await fetch(served.base, { headers: { authorization: `Bearer ${served.token}` } })).status).toBe(200)
  })

  it('refuses a foreign Origin with 403, even with the token (CSRF)', async () => {
    const served = await started()
    const response = await call(served, 'runs.list', {}, { origin: 'http://evil.example' })
    expect(response.status).toBe(403)
    const own = await call(served, 'runs.list', {}, { origin: served.base.replace(/\/$/, '') })
    expect(own.status).toBe(200)
  })

  it('trades the ?token= for a cookie once, which then opens the API and the event socket', async () => {
    const served = await started()
    const first = await fetch(`${served.base}runs?token=${served.token}&x=1`, { redirect: 'manual' })
    expect(first.status).toBe(303)
    expect(first.headers.get('location')).toBe('/runs?x=1') // the token leaves the address bar and the history
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!
    const api = await fetch(`${served.base}api/call/runs.list`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(api.status).toBe(200)
    const wsUrl = served.base.replace('http', 'ws') + 'api/events'
    const { ws } = await socket(wsUrl, { cookie })
    expect(ws).toBeDefined()
    ws!.close()
  })

  it('refuses a Host header of another name (DNS rebinding), on pages, API calls and sockets', async () => {
    const served = await started()
    const port = new URL(served.base).port
    const auth = { authorization: `Bearer ${served.token}` }
    expect(await rawStatus(served, '/', { ...auth, host: `evil.example:${port}` })).toBe(403)
    expect(await rawStatus(served, '/', { ...auth, host: `localhost:${port}` })).toBe(200)
    expect(await rawStatus(served, '/', { ...auth, host: `127.0.0.1:${Number(port) + 1}` })).toBe(403)
    const wsUrl = served.base.replace('http', 'ws') + 'api/events'
    expect((await socket(wsUrl, { ...auth, host: `rebound.example:${port}` })).status).toBe(403)
    const response = await call(served, 'runs.list', {}, { 'content-type': 'text/plain' })
    expect(response.status).toBe(415) // a cross-site form or no-cors fetch cannot post JSON
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /API calls send JSON: set Content-Type: application\/json \(got text\/plain\)/,
    )
  })

  it('confines file paths in requests to the workspace and the --allow-path / CWB_ALLOW_PATHS folders', async () => {
    const { dir: top, remove } = tempDir()
    cleanups.push(remove)
    const [allowed, fromEnv, outside] = ['allowed', 'env', 'outside'].map((name) => join(top, name))
    for (const folder of [allowed!, fromEnv!, outside!]) {
      mkdirSync(folder)
      writeFileSync(join(folder, 'data.jsonl'), '{"question": "What is 1 + 1?", "answer": "2"}\n')
    }
    const served = await started(['--allow-path', allowed!], { CWB_ALLOW_PATHS: fromEnv! })
    const preview = async (dir: string) =>
      (await (await call(served, 'datasets.previewImport', { path: join(dir, 'data.jsonl') })).json()) as {
        ok: boolean
        error?: { message: string }
      }
    expect((await preview(allowed!)).ok).toBe(true)
    expect((await preview(fromEnv!)).ok).toBe(true)
    expect((await preview(outside!)).error?.message).toBe(
      `path: ${join(outside!, 'data.jsonl')} is outside the folders this workbench may use (${served.workspace}, ${allowed}, ${fromEnv}); start it with --allow-path DIR to allow another folder`,
    )
    expect(served.stderr()).toContain(`Paths in requests are confined to ${served.workspace}, ${allowed}, ${fromEnv}`)
    const missing = cwb(['serve', '--workspace', join(top, 'ws2'), '--allow-path', join(top, 'nowhere')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/--allow-path .*nowhere: no such folder; name an existing folder/)
  })

  it('answers API calls, and an invalid request with a typed error while it keeps running', async () => {
    const served = await started()
    expect(await (await call(served, 'runs.list', {})).json()).toEqual({ ok: true, result: [] })
    const bad = await call(served, 'checkpoints.list', { run: -3 })
    expect(bad.status).toBe(400)
    const body = (await bad.json()) as { ok: boolean; error: { code: string; issues: { path: string }[] } }
    expect(body).toMatchObject({ ok: false, error: { code: 'invalid_request', issues: [{ path: 'run' }] } })
    const junk = await call(served, 'runs.list', '{not json')
    expect(junk.status).toBe(400)
    expect(((await junk.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/)
    expect((await call(served, 'runs.destroy', {})).status).toBe(404)
    expect((await call(served, 'runs.list', 'x'.repeat(2 << 20)).catch(() => ({ status: 413 }))).status).toBe(413)
    const info = (await (await call(served, 'app.info', {})).json()) as { result: { workspace: string; host: string } }
    expect(info.result).toMatchObject({ workspace: served.workspace, host: 'browser' })
  })

  it('refuses WebSocket upgrades without the token, and streams store changes made by other processes', async () => {
    const served = await started()
    const wsUrl = served.base.replace('http', 'ws') + 'api/events'
    expect((await socket(wsUrl)).status).toBe(401)
    expect((await socket(`${wsUrl}?token=wrong`)).status).toBe(401)
    expect((await socket(wsUrl, { authorization: `Bearer ${served.token}`, origin: 'http://evil.example' })).status).toBe(403)
    const { ws } = await socket(wsUrl, { authorization: `Bearer ${served.token}` })
    expect(ws).toBeDefined()
    const changed = new Promise<unknown>((resolve) =>
      ws!.on('message', (data) => {
        const message = JSON.parse(String(data)) as { event: string }
        if (message.event === 'store.changed') resolve(message)
      }),
    )
    const db = new Database(join(served.workspace, 'workbench.db'))
    db.prepare(`INSERT INTO runs (name, mode, config) VALUES ('from-cli', 'majority_voting', '{}')`).run()
    db.close()
    expect(await changed).toMatchObject({ event: 'store.changed', payload: { dataVersion: expect.any(Number) } })
    expect(((await (await call(served, 'runs.list', {})).json()) as { result: { name: string }[] }).result[0]?.name).toBe(
      'from-cli',
    )
    ws!.close()
  })

  it('refuses a second server on the same workspace with a clear message, while CLI commands still work', async () => {
    const served = await started()
    const second = cwb(['serve', '--workspace', served.workspace, '--port', '0'])
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(
      /^cwb: error: Workspace .* is already open in cwb serve at http:\/\/127\.0\.0\.1:\d+\/, process \d+\./,
    )
    expect(cwb(['runs', '--workspace', served.workspace]).code).toBe(0)
  })

  it('binds beyond loopback only with --allow-remote, warning on stderr', async () => {
    const served = await started(['--host', '0.0.0.0', '--allow-remote'])
    expect(served.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/\?token=/)
    expect(served.stderr()).toMatch(/warning: serving on 0\.0\.0\.0/)
  })

  it('stops cleanly on SIGTERM and SIGINT, releasing the workspace', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const served = await started()
      const first = await served.stop(signal)
      expect(first, served.stderr()).toBe(0)
      const again = await serve(['--workspace', served.workspace])
      const code = await again.stop()
      expect(code, again.stderr()).toBe(0)
    }
  })
})
