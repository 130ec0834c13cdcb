// The renderer's one view of the host: typed calls and events over whichever transport is present
// (Electron's preload bridge in the desktop app, HTTP + WebSocket in browser mode).
import type {
  ApiErrorBody,
  EventName,
  EventPayload,
  MethodName,
  Params,
  Reply,
  Result,
  WorkbenchBridge,
} from '../../../preload/contract'

export class ApiCallError extends Error {
  constructor(readonly body: ApiErrorBody) {
    super(body.message)
  }
}

type Listener = (event: string, payload: unknown) => void

/** Browser mode: POST /api/call/METHOD, events over /api/events; the token travels as the HttpOnly cookie. */
export function httpBridge(location: Location): WorkbenchBridge {
  const listeners = new Set<Listener>()
  let retry = 500
  const connect = (): void => {
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`)
    socket.onopen = () => (retry = 500)
    socket.onmessage = (message: MessageEvent<string>) => {
      const { event, payload } = JSON.parse(message.data) as { event: string; payload: unknown }
      for (const listener of listeners) listener(event, payload)
    }
    socket.onclose = () => {
      for (const listener of listeners) listener('connection.lost', { retryMs: retry })
      setTimeout(connect, retry)
      retry = Math.min(retry * 2, 10_000)
    }
  }
  connect()
  return {
    async call(method, params) {
      const response = await fetch(`/api/call/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params ?? {}),
        credentials: 'same-origin',
      })
      if (response.headers.get('content-type')?.includes('application/json')) return (await response.json()) as Reply<unknown>
      return { ok: false, error: { code: 'internal', message: `${response.status}: ${(await response.text()).trim()}` } }
    },
    on(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

export interface Api {
  readonly transport: 'ipc' | 'http'
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void
}

export function createApi(bridge: WorkbenchBridge, transport: Api['transport']): Api {
  return {
    transport,
    async call(method, params) {
      const reply = await bridge.call(method, params)
      if (!reply.ok) throw new ApiCallError(reply.error)
      return reply.result as never
    },
    on(event, listener) {
      return bridge.on((name, payload) => {
        if (name === event) listener(payload as never)
      })
    },
  }
}

export const api: Api = window.api ? createApi(window.api, 'ipc') : createApi(httpBridge(window.location), 'http')
