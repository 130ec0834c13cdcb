// The bridge: the renderer gets `window.api` (call + on) and nothing else from Electron or Node.
import { contextBridge, ipcRenderer } from 'electron'
import type { IpcRendererEvent } from 'electron'
import { IPC_CALL, IPC_EVENT } from './channels'
import type { Reply, WorkbenchBridge } from './contract'

const bridge: WorkbenchBridge = {
  call: (method, params) => ipcRenderer.invoke(IPC_CALL, method, params) as Promise<Reply<unknown>>,
  on(listener) {
    const forward = (_event: IpcRendererEvent, name: string, payload: unknown): void => listener(name, payload)
    ipcRenderer.on(IPC_EVENT, forward)
    return () => ipcRenderer.off(IPC_EVENT, forward)
  },
}

contextBridge.exposeInMainWorld('api', bridge)
