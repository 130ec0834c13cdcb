// Electron cannot run here: ipcMain and the window's webContents are stand-ins (mocked), the services real.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { serveOverIpc } from '../../main/app/ipc'
import { WorkbenchHost } from '../../main/services/workbench'
import { Store } from '../../main/store/store'
import { IPC_CALL, IPC_EVENT } from '../../preload/channels'
import { tempDir } from '../helpers/workspace'

type Handler = (event: unknown, method: unknown, params: unknown) => unknown

const cleanups: (() => void)[] = []
afterEach(() => cleanups.splice(0).forEach((clean) => clean()))

function setUp(): {
  invoke: (url: string, method: unknown, params: unknown) => Promise<unknown>
  sent: unknown[][]
  store: Store
} {
  const { dir, remove } = tempDir()
  const store = new Store(join(dir, 'workbench.db'))
  const workbench = new WorkbenchHost({ store, workspace: dir, host: 'electron', probe: async () => [], watchIntervalMs: 10 })
  cleanups.push(
    remove,
    () => store.close(),
    () => workbench.close(),
  )
  const handlers = new Map<string, Handler>()
  const sent: unknown[][] = []
  serveOverIpc(
    { handle: (channel: string, handler: Handler) => handlers.set(channel, handler) } as never,
    workbench,
    () =>
      ({
        isDestroyed: () => false,
        send: (...args: unknown[]) => sent.push(args),
      }) as never,
  )
  workbench.start()
  const invoke = async (url: string, method: unknown, params: unknown): Promise<unknown> =>
    handlers.get(IPC_CALL)!({ senderFrame: { url } }, method, params)
  return { invoke, sent, store }
}

describe('the API over Electron IPC (Electron mocked)', () => {
  const page = 'file:///app/out/renderer/index.html'

  it('answers calls from the app page through the same validated services', async () => {
    const { invoke } = setUp()
    expect(await invoke(page, 'runs.list', {})).toEqual({ ok: true, result: [] })
    expect(await invoke(page, 'checkpoints.list', { run: 'x' })).toMatchObject({ ok: false, error: { code: 'invalid_request' } })
  })

  it('refuses calls from any other frame', async () => {
    const { invoke } = setUp()
    expect(await invoke('https://evil.example/', 'runs.list', {})).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    })
  })

  it('pushes store changes made by other connections to the window', async () => {
    const { sent, store } = setUp()
    const other = new Store(store.file)
    other.db.prepare(`INSERT INTO datasets (name) VALUES ('gsm8k')`).run()
    other.close()
    await expect
      .poll(() => sent.find((args) => args[1] === 'store.changed'))
      .toEqual([IPC_EVENT, 'store.changed', { dataVersion: expect.any(Number) }])
  })
})
