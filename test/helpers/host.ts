// A WorkbenchHost driven through its dispatch, the boundary both transports use, on a real store. Kept apart from
// workspace.ts: Playwright's loader cannot import better-sqlite3, and the e2e tests use workspace.ts.
import { join } from 'node:path'
import {
  events as eventSchemas,
  methods,
  type ApiErrorBody,
  type EventName,
  type EventPayload,
  type MethodName,
  type Params,
  type Result,
} from '../../preload/contract'
import { WorkbenchHost, type HostOptions } from '../../main/services/workbench'
import { openWorkspace } from '../../main/services/open-workspace'
import { Store } from '../../main/store/store'
import { tempDir, type Cleanup } from './workspace'

export interface Dispatcher {
  /** Calls a method that must succeed; its answer must meet the contract the UI is written against. */
  call: <M extends MethodName>(method: M, params: Params<M>) => Promise<Result<M>>
  /** Calls a method that must be refused, and returns the error it answered. */
  refuse: (method: MethodName, params: unknown) => Promise<ApiErrorBody>
}

/** `call` and `refuse` through a host's dispatch; pass a getter for a host made later (in beforeAll). */
export function dispatcher(host: WorkbenchHost | (() => WorkbenchHost)): Dispatcher {
  const current = typeof host === 'function' ? host : () => host
  return {
    call: async <M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> => {
      const reply = await current().dispatch(method, params)
      if (!reply.ok) throw new Error(`${method}: ${reply.error.code}: ${reply.error.message}`)
      return methods[method].result.parse(reply.result) as Result<M>
    },
    refuse: async (method, params) => {
      const reply = await current().dispatch(method, params)
      if (reply.ok) throw new Error(`${method} was expected to fail but answered ${JSON.stringify(reply.result).slice(0, 200)}`)
      return reply.error
    },
  }
}

/** Collects the host's `event` payloads, each checked against the contract. */
export function collectEvents<E extends EventName>(host: WorkbenchHost, event: E): EventPayload<E>[] {
  const seen: EventPayload<E>[] = []
  host.onEvent((name: EventName, payload: unknown) => {
    if (name === event) seen.push(eventSchemas[event].parse(payload) as EventPayload<E>)
  })
  return seen
}

export interface HostOnWorkspace extends Dispatcher {
  dir: string
  store: Store
  host: WorkbenchHost
}

type WorkspaceOptions = Partial<Omit<HostOptions, 'store' | 'workspace'>> & {
  /** An existing folder to use (left in place); by default a fresh temporary one, removed afterwards. */
  workspace?: string
  /** Open it as `cwb` does a new workspace, with the demo dataset and base model; by default a bare store. */
  demo?: boolean
}

/** A browser-mode host on a workspace; `cleanups` closes the host and its store and removes the folder it made. */
export function hostOnWorkspace(cleanups: Cleanup[], options: WorkspaceOptions = {}): HostOnWorkspace {
  const { workspace, demo = false, ...hostOptions } = options
  let dir = workspace
  if (dir === undefined) {
    const made = tempDir()
    dir = made.dir
    cleanups.push(made.remove)
  }
  const store = demo ? openWorkspace(dir, true).store : new Store(join(dir, 'workbench.db'))
  const host = new WorkbenchHost({ store, workspace: dir, host: 'browser', probe: async () => [], ...hostOptions })
  cleanups.push(
    () => store.close(),
    () => host.close(),
  )
  return { dir, store, host, ...dispatcher(host) }
}
