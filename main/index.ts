// The Electron entry: one window over the workspace's store; the same services as `cwb serve`, over IPC.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { app, dialog, ipcMain, session } from 'electron'
import type { BrowserWindow } from 'electron'
import { serveOverIpc } from './app/ipc'
import { desktopAllowedPaths, DESKTOP_PATH_HINT } from './app/desktop-paths'
import { guardQuit } from './app/quit'
import { createMainWindow } from './app/window'
import { hardenContents, hardenSession } from './app/security'
import { startUtilityTrainer } from './app/utility-trainer'
import { probeInChildProcess } from './backends/probe-process'
import { WorkbenchHost } from './services/workbench'
import { demoWanted, openWorkspace } from './services/open-workspace'
import { prepareWorkspace, resolveWorkspace, WorkspaceLock } from './store/workspace'

const here = fileURLToPath(new URL('.', import.meta.url))
const paths = {
  preload: join(here, '../preload/index.cjs'),
  html: join(here, '../renderer/index.html'),
  icon: join(here, '../../resources/icon.png'),
}

function workspaceArgument(argv: string[]): string | undefined {
  const index = argv.indexOf('--workspace')
  return index >= 0 ? argv[index + 1] : argv.find((arg) => arg.startsWith('--workspace='))?.slice('--workspace='.length)
}

let window: BrowserWindow | undefined
const shutdown: (() => void)[] = []
/** How long quitting waits for trainers to finish their step with a checkpoint; any left are interrupted. */
const STOP_GRACE_MS = 60_000

async function open(): Promise<void> {
  hardenSession(session.defaultSession)
  app.on('web-contents-created', (_event, contents) => hardenContents(contents))

  const dir = prepareWorkspace(resolveWorkspace(workspaceArgument(process.argv))).dir
  const lock = WorkspaceLock.acquire(dir, 'app')
  shutdown.push(() => lock.release())
  const { store } = openWorkspace(dir, demoWanted(process.argv.includes('--no-demo') ? false : undefined))
  shutdown.unshift(() => store.close())
  const workbench = new WorkbenchHost({
    store,
    workspace: dir,
    host: 'electron',
    probe: (signal) => probeInChildProcess(signal),
    allowedPaths: desktopAllowedPaths(),
    allowPathHint: DESKTOP_PATH_HINT,
    startTrainer: startUtilityTrainer,
    pickFolder: async (title) => {
      const options = { title, properties: ['openDirectory' as const] }
      const picked = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options)
      return picked.canceled ? undefined : picked.filePaths[0]
    },
  })
  shutdown.unshift(() => workbench.close())

  serveOverIpc(ipcMain, workbench, () => window?.webContents)
  window = createMainWindow(paths)
  window.on('closed', () => (window = undefined))
  guardQuit({
    app,
    window,
    activeRuns: () => workbench.activeRuns(),
    stopRuns: () => workbench.stopRuns(STOP_GRACE_MS),
  })
  workbench.start()
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => {
    if (window?.isMinimized()) window.restore()
    window?.focus()
  })
  app
    .whenReady()
    .then(open)
    .catch((error: unknown) => {
      dialog.showErrorBox('Co-rewarding Workbench cannot start', (error as Error).message)
      app.quit()
    })
  app.on('window-all-closed', () => app.quit())
  app.on('will-quit', () => shutdown.splice(0).forEach((step) => step()))
}
