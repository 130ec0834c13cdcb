// The services behind the API contract, implemented once for both transports. A host owns the store,
// watches it for commits from other processes, probes the backends off the UI thread, and fans events
// out to every connected UI.
import type { AppInfo, Backend, EventName, EventPayload } from '../../preload/contract'
import { packageVersion } from '../package-root'
import type { Store } from '../store/store'
import { analysisHandlers } from './analysis'
import { createDispatch, type Dispatch, type Handlers } from './dispatch'
import { runHandlers } from './runs-service'

export type EventListener = <E extends EventName>(event: E, payload: EventPayload<E>) => void

export interface HostOptions {
  store: Store
  workspace: string
  host: AppInfo['host']
  /** Runs the backend probe; the signal aborts it when the host closes. */
  probe: (signal: AbortSignal) => Promise<Backend[]>
  /** How often to look for commits by other processes (CLI, trainers). */
  watchIntervalMs?: number
  log?: (message: string) => void
}

export class WorkbenchHost {
  readonly dispatch: Dispatch
  private readonly listeners = new Set<EventListener>()
  private backends: Promise<Backend[]> | undefined
  private watchTimer: NodeJS.Timeout | undefined
  private lastDataVersion: number
  private readonly closing = new AbortController()

  constructor(private readonly options: HostOptions) {
    const { store } = options
    this.lastDataVersion = store.dataVersion()
    const handlers: Handlers = {
      'app.info': () => ({
        version: packageVersion(),
        workspace: options.workspace,
        host: options.host,
        schemaVersion: store.schemaVersion,
      }),
      'backends.list': ({ refresh }) => this.probe(refresh ?? false),
      ...runHandlers(store),
      ...analysisHandlers(store.db),
      'datasets.list': () => store.listDatasets(),
      'checkpoints.list': ({ run }) => store.listCheckpoints(run),
    }
    this.dispatch = createDispatch(handlers, (error) =>
      options.log?.(`internal error: ${(error as Error)?.stack ?? String(error)}`),
    )
  }

  /** Starts watching the store and probing backends in the background. */
  start(): void {
    void this.probe(false)
    this.watchTimer = setInterval(() => this.checkStore(), this.options.watchIntervalMs ?? 250)
    this.watchTimer.unref()
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const listener of this.listeners) listener(event, payload)
  }

  private probe(refresh: boolean): Promise<Backend[]> {
    if (!this.backends || refresh) {
      const probing = this.options
        .probe(this.closing.signal)
        .catch((error: unknown) => [
          { family: 'tfjs' as const, name: 'probe', available: false, detail: (error as Error).message },
        ])
      this.backends = probing
      void probing.then((list) => this.emit('backends.changed', list))
    }
    return this.backends
  }

  private checkStore(): void {
    const version = this.options.store.dataVersion()
    if (version !== this.lastDataVersion) {
      this.lastDataVersion = version
      this.emit('store.changed', { dataVersion: version })
    }
  }

  close(): void {
    this.closing.abort()
    clearInterval(this.watchTimer)
    this.listeners.clear()
  }
}
