// The desktop transport: the API contract over Electron IPC. Calls are accepted only from the app's own
// page; events go to the window that is open.
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron'
import { IPC_CALL, IPC_EVENT } from '../../preload/channels'
import type { Reply } from '../../preload/contract'
import type { WorkbenchHost } from '../services/workbench'
import { isAllowedUrl } from './security'

export function serveOverIpc(
  ipcMain: Pick<IpcMain, 'handle'>,
  workbench: WorkbenchHost,
  contents: () => WebContents | undefined,
): void {
  ipcMain.handle(
    IPC_CALL,
    (event: IpcMainInvokeEvent, method: unknown, params: unknown): Promise<Reply<unknown>> | Reply<unknown> => {
      const url = event.senderFrame?.url ?? ''
      if (!url.startsWith('file://') || !isAllowedUrl(url)) {
        return {
          ok: false,
          error: {
            code: 'invalid_request',
            message: `API calls are accepted only from the workbench page, not ${url || 'an unknown frame'}`,
          },
        }
      }
      return workbench.dispatch(method, params)
    },
  )
  workbench.onEvent((name, payload) => {
    const target = contents()
    if (target && !target.isDestroyed()) target.send(IPC_EVENT, name, payload)
  })
}
