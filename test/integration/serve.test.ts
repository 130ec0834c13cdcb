import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { cwb, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'

const cleanups: (() => void | Promise<unknown>)[] = []
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean()
})

async function started(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served & { workspace: string }> {
  const { dir, remove } = tempDir()
  cleanups.push(remove)
  const served = await serve(['--workspace', dir, ...args], env)
  cleanups.push(() => served.stop())
  return { ...served, workspace: dir }
}

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
