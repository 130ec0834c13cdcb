// Electron's binary cannot run on these machines, so `electron` is mocked here: the test records what the
// app asks of it and checks every security setting and handler.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeEach, describe, expect, it, vi } from 'vitest'

type Handler = (...args: unknown[]) => unknown
const recorded = vi.hoisted(() => ({
  windowOptions: [] as Record<string, unknown>[],
  contentsHandlers: new Map<string, (...args: unknown[]) => unknown>(),
  windowOpenHandler: undefined as undefined | (() => unknown),
  loaded: [] as string[],
}))

vi.mock('electron', () => {
  class BrowserWindow {
    webContents = {
      on: (event: string, handler: Handler) => recorded.contentsHandlers.set(event, handler),
      setWindowOpenHandler: (handler: () => unknown) => (recorded.windowOpenHandler = handler),
    }
    constructor(options: Record<string, unknown>) {
      recorded.windowOptions.push(options)
    }
    once(): void {}
    loadFile(path: string): Promise<void> {
      recorded.loaded.push(path)
      return Promise.resolve()
    }
  }
  return { BrowserWindow }
})

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
