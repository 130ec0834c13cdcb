// Electron's binary cannot run on these machines, so `electron` is mocked here: the test records what the
// app asks of it and checks every security setting and handler.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { tempDir } from '../helpers/workspace'

type Handler = (...args: unknown[]) => unknown
const recorded = vi.hoisted(() => ({
  windowOptions: [] as Record<string, unknown>[],
  contentsHandlers: new Map<string, (...args: unknown[]) => unknown>(),
  windowOpenHandler: undefined as undefined | (() => unknown),
  loaded: [] as string[],
  app: new Map<string, ((...args: unknown[]) => unknown)[]>(),
  ipc: new Map<string, (...args: unknown[]) => unknown>(),
  session: {} as Record<string, (...args: unknown[]) => unknown>,
  errors: [] as string[],
}))

vi.mock('electron', () => {
  class BrowserWindow {
    webContents = {
      on: (event: string, handler: Handler) => recorded.contentsHandlers.set(event, handler),
      setWindowOpenHandler: (handler: () => unknown) => (recorded.windowOpenHandler = handler),
      send: () => {},
      isDestroyed: () => false,
    }
    constructor(options: Record<string, unknown>) {
      recorded.windowOptions.push(options)
    }
    on(): void {}
    once(): void {}
    loadFile(path: string): Promise<void> {
      recorded.loaded.push(path)
      return Promise.resolve()
    }
  }
  const app = {
    requestSingleInstanceLock: () => true,
    whenReady: () => Promise.resolve(),
    on: (event: string, handler: Handler) => recorded.app.set(event, [...(recorded.app.get(event) ?? []), handler]),
    quit: () => {},
  }
  const session = {
    defaultSession: {
      setPermissionRequestHandler: (h: Handler) => (recorded.session.request = h),
      setPermissionCheckHandler: (h: Handler) => (recorded.session.check = h),
      webRequest: { onBeforeRequest: (h: Handler) => (recorded.session.beforeRequest = h) },
    },
  }
  const ipcMain = { handle: (channel: string, handler: Handler) => recorded.ipc.set(channel, handler) }
  const dialog = { showErrorBox: (_title: string, message: string) => recorded.errors.push(message), showMessageBoxSync: () => 0 }
  return { BrowserWindow, app, session, ipcMain, dialog }
})
// The backend probe would start a child process; the app's wiring is what is under test here.
vi.mock('../../main/backends/probe-process', () => ({ probeInChildProcess: async () => [] }))

const { createMainWindow } = await import('../../main/app/window')
const { hardenSession, isAllowedUrl } = await import('../../main/app/security')

beforeEach(() => {
  recorded.windowOptions.length = 0
  recorded.contentsHandlers.clear()
})

describe('the desktop window (Electron mocked)', () => {
  it('isolates and sandboxes the renderer, without Node, with only the preload bridge', () => {
    createMainWindow({ preload: '/app/out/preload/index.cjs', html: '/app/out/renderer/index.html', icon: '/i.png' })
    const prefs = recorded.windowOptions[0]?.webPreferences as Record<string, unknown>
    expect(prefs).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
    expect(recorded.loaded).toContain('/app/out/renderer/index.html')
  })

  it('blocks navigation, redirects, webviews and new windows', () => {
    createMainWindow({ preload: 'p', html: 'h', icon: 'i' })
    for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const preventDefault = vi.fn()
      recorded.contentsHandlers.get(event)?.({ preventDefault })
      expect(preventDefault, event).toHaveBeenCalled()
    }
    expect(recorded.windowOpenHandler?.()).toEqual({ action: 'deny' })
  })

  it('denies every permission request and loads no remote content', () => {
    let requestHandler: Handler = () => {}
    let checkHandler: Handler = () => true
    let beforeRequest: Handler = () => {}
    hardenSession({
      setPermissionRequestHandler: (h: Handler) => (requestHandler = h),
      setPermissionCheckHandler: (h: Handler) => (checkHandler = h),
      webRequest: { onBeforeRequest: (h: Handler) => (beforeRequest = h) },
    } as never)
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read']) {
      const callback = vi.fn()
      requestHandler({}, permission, callback)
      expect(callback).toHaveBeenCalledWith(false)
    }
    expect(checkHandler({}, 'media')).toBe(false)
    const cancelled = (url: string): boolean => {
      let verdict = false
      beforeRequest({ url }, (response: { cancel: boolean }) => (verdict = response.cancel))
      return verdict
    }
    expect(cancelled('https://example.com/tracker.js')).toBe(true)
    expect(cancelled('http://127.0.0.1:8080/')).toBe(true)
    expect(cancelled('file:///app/out/renderer/index.html')).toBe(false)
    expect(isAllowedUrl('devtools://devtools/bundled/inspector.html')).toBe(true)
  })

  it('ships a strict Content-Security-Policy with the page', () => {
    const html = readFileSync(join(import.meta.dirname, '../../renderer/index.html'), 'utf8')
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? ''
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("object-src 'none'")
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|\*/)
  })
})

describe('the desktop app as main/index.ts wires it (Electron mocked)', () => {
  it('hardens the default session and every web contents, serves IPC only to its page, and confines paths', async () => {
    const { dir, remove } = tempDir()
    const elsewhere = tempDir()
    try {
      process.env.CWB_WORKSPACE = join(dir, 'ws')
      process.env.CWB_DEMO = '0'
      await import('../../main/index')
      await vi.waitFor(() => expect(recorded.ipc.size).toBe(1), { timeout: 10_000 })
      expect(recorded.errors).toEqual([])

      // The default session: every permission request denied, every check false, remote requests cancelled.
      const callback = vi.fn()
      recorded.session.request!({}, 'camera', callback)
      expect(callback).toHaveBeenCalledWith(false)
      expect(recorded.session.check!({}, 'notifications')).toBe(false)
      let cancelled: boolean | undefined
      recorded.session.beforeRequest!({ url: 'https://example.com/x.js' }, (r: { cancel: boolean }) => (cancelled = r.cancel))
      expect(cancelled).toBe(true)

      // Every web contents created later (devtools, a stray frame) gets the same guards as the window.
      const created = recorded.app.get('web-contents-created') ?? []
      expect(created).toHaveLength(1)
      const handlers = new Map<string, Handler>()
      let openHandler: (() => unknown) | undefined
      created[0]!(
        {},
        { on: (e: string, h: Handler) => handlers.set(e, h), setWindowOpenHandler: (h: () => unknown) => (openHandler = h) },
      )
      for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
        const preventDefault = vi.fn()
        handlers.get(event)?.({ preventDefault })
        expect(preventDefault, event).toHaveBeenCalled()
      }
      expect(openHandler?.()).toEqual({ action: 'deny' })
      expect(recorded.windowOptions.at(-1)?.webPreferences).toMatchObject({
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
      })

      // IPC: calls from the app's own page only; paths confined to the workspace and the user's home.
      const [handle] = [...recorded.ipc.values()]
      const fromPage = { senderFrame: { url: 'file:///app/out/renderer/index.html' } }
      const foreign = await handle!({ senderFrame: { url: 'https://evil.example/' } }, 'runs.list', {})
      expect(foreign).toMatchObject({ ok: false, error: { message: expect.stringMatching(/only from the workbench page/) } })
      const inside = join(dir, 'ws', 'data.jsonl')
      writeFileSync(inside, '{"question": "What is 1 + 1?", "answer": "2"}\n')
      expect(await handle!(fromPage, 'datasets.previewImport', { path: inside })).toMatchObject({ ok: true })
      mkdirSync(join(elsewhere.dir, 'data'))
      const outside = join(elsewhere.dir, 'data', 'data.jsonl')
      writeFileSync(outside, '{"question": "What is 1 + 1?", "answer": "2"}\n')
      const refused = (await handle!(fromPage, 'datasets.previewImport', { path: outside })) as {
        ok: boolean
        error: { message: string }
      }
      expect(refused.ok).toBe(false)
      expect(refused.error.message).toMatch(
        /^path: .* is outside the folders this workbench may use \(.*\); choose a file or folder in your home folder, or start the app with CWB_ALLOW_PATHS=DIR$/,
      )
    } finally {
      for (const quit of recorded.app.get('will-quit') ?? []) quit()
      delete process.env.CWB_WORKSPACE
      delete process.env.CWB_DEMO
      elsewhere.remove()
      remove()
    }
  })
})
