// The desktop window's security settings, in one place so a unit test can check every one of them:
// isolated, sandboxed renderer without Node; the preload exposes only the API; no navigation, no new
// windows, no webviews, no permission grants, and no content from anywhere but the app's own files.
import type { BrowserWindowConstructorOptions, Session, WebContents } from 'electron'

export function webPreferences(preload: string): NonNullable<BrowserWindowConstructorOptions['webPreferences']> {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  }
}

/** Only the app's own files (and devtools) may load; anything remote is cancelled. */
export function isAllowedUrl(url: string): boolean {
  return url.startsWith('file://') || url.startsWith('devtools://')
}

export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedUrl(details.url) }))
}

export function hardenContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault())
  contents.on('will-redirect', (event) => event.preventDefault())
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
}
