// The services behind the API contract, implemented once for both transports. A host owns the store and the
// run queue (it starts queued runs and owns their trainers), watches the store for commits (its trainers' and
// other processes'), probes the backends off the UI thread, and fans events out to every connected UI.
import { join } from 'node:path'
import { isLiveStatus } from '../../preload/contract'
import type { AppInfo, Backend, EventName, EventPayload, RunSummary } from '../../preload/contract'
import { rewardModeInfos } from '../engine/rewards'
import { packageRoot, packageVersion } from '../package-root'
import { checkpointAtPath } from '../store/checkpoints'
import { alertsAfter, lastAlertId, lastProblem } from '../store/events'
import { lastStep } from '../store/metrics'
import { runNames, runStatuses } from '../store/runs'
import type { RunStatus } from '../store/runs'
import type { Store } from '../store/store'
import { analysisHandlers } from './analysis'
import { checkpointHandlers } from './checkpoints'
import { datasetHandlers } from './datasets-service'
import { externalHandlers } from './external-service'
import { ApiError, createDispatch } from './dispatch'
import type { Dispatch, Handlers } from './dispatch'
import { JobRegistry } from './jobs'
import { confinePaths, PathPolicy } from './paths'
import { runHandlers } from './runs-service'
import { RunScheduler, runSlots } from './scheduler'
import type { StartTrainer } from './trainer-process'

export type EventListener = <E extends EventName>(event: E, payload: EventPayload<E>) => void

export interface HostOptions {
  store: Store
  workspace: string
  host: AppInfo['host']
  /** Runs the backend probe; the signal aborts it when the host closes. */
  probe: (signal: AbortSignal) => Promise<Backend[]>
  /** How often to look for commits by other processes (CLI, trainers). */
  watchIntervalMs?: number
  /** Runs trained at a time (default: CWB_MAX_RUNS, else one per core but one). */
  maxRuns?: number
  log?: (message: string) => void
  /**
   * Folders besides the workspace that paths in requests may name (`cwb serve --allow-path`, $CWB_ALLOW_PATHS; the
   * desktop app adds the user's home). Any other path is refused (main/services/paths.ts).
   */
  allowedPaths?: string[]
  /** What a refused path's message tells the user to do (default: start with --allow-path DIR). */
  allowPathHint?: string
  /** How trainers start: the app passes Electron's utilityProcess; Node children by default (`cwb serve`). */
  startTrainer?: StartTrainer
  /** The desktop app's native folder picker (undefined when cancelled); absent in browser mode. */
  pickFolder?: (title: string | undefined) => Promise<string | undefined>
}

export class WorkbenchHost {
  readonly dispatch: Dispatch
  private readonly listeners = new Set<EventListener>()
  private backends: Promise<Backend[]> | undefined
  private watchTimer: NodeJS.Timeout | undefined
  private lastVersion: string
  private readonly closing = new AbortController()
  private readonly scheduler: RunScheduler
  /** Run statuses and the newest alert as of the last look, to notice what changed since. */
  private statuses = new Map<number, { name: string; status: RunStatus }>()
  private lastAlert = 0

  constructor(private readonly options: HostOptions) {
    const { store } = options
    this.scheduler = new RunScheduler({
      db: store.db,
      workspace: options.workspace,
      slots: runSlots(options.maxRuns),
      log: options.log,
      startTrainer: options.startTrainer,
    })
    this.lastVersion = this.version()
    this.statuses = this.runStatuses()
    this.lastAlert = lastAlertId(store.db)
    // One registry for every background job, so `jobs.cancel` reaches an import as well as a behaviour diff.
    const jobs = new JobRegistry((payload) => this.emit('job.progress', payload))
    const policy = new PathPolicy({
      roots: [options.workspace, ...(options.allowedPaths ?? [])],
      readOnly: [join(packageRoot(), 'resources')],
      hint: options.allowPathHint,
    })
    const handlers: Handlers = {
      'app.info': () => ({
        version: packageVersion(),
        workspace: options.workspace,
        host: options.host,
        schemaVersion: store.schemaVersion,
        modes: rewardModeInfos(),
      }),
      'app.pickFolder': async ({ title }) => {
        if (!options.pickFolder)
          throw new ApiError('invalid_request', 'No folder picker in browser mode: type the folder path instead.')
        return { path: (await options.pickFolder(title)) ?? null }
      },
      'backends.list': ({ refresh }) => this.probe(refresh ?? false),
      ...runHandlers({ store, workspace: options.workspace, scheduler: this.scheduler }),
      ...analysisHandlers(store.db),
      ...datasetHandlers({ store, workspace: options.workspace, emit: (event, payload) => this.emit(event, payload), jobs }),
      ...externalHandlers({ store, workspace: options.workspace, closing: this.closing.signal }),
      'checkpoints.list': ({ run }) => store.listCheckpoints(run),
      ...checkpointHandlers({
        store,
        workspace: options.workspace,
        emit: (event, payload) => this.emit(event, payload),
        fillQueue: () => this.scheduler.fill(),
        jobs,
      }),
    }
    this.dispatch = createDispatch(
      confinePaths(handlers, policy, (path) => checkpointAtPath(store.db, path) !== undefined),
      (error) => options.log?.(`internal error: ${(error as Error)?.stack ?? String(error)}`),
    )
  }

  /** Starts watching the store, probing backends in the background, and the runs left queued by a previous session. */
  start(): void {
    void this.probe(false)
    this.scheduler.fill()
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

  /**
   * Changes with every commit: SQLite's data_version counts other connections' (CLI, imports), total_changes this
   * connection's own (the trainers this host owns write through it).
   */
  private version(): string {
    return `${this.options.store.dataVersion()}:${this.options.store.totalChanges()}`
  }

  private runStatuses(): Map<number, { name: string; status: RunStatus }> {
    return new Map(runStatuses(this.options.store.db).map(({ id, name, status }) => [id, { name, status }]))
  }

  private checkStore(): void {
    const version = this.version()
    if (version === this.lastVersion) return
    this.lastVersion = version
    this.emit('store.changed', { dataVersion: this.options.store.dataVersion() + this.options.store.totalChanges() })
    this.notice()
    this.scheduler.fill()
  }

  /** Emits run.notice for runs that ended since the last look and for new collapse alerts, whoever trains them. */
  private notice(): void {
    const { db } = this.options.store
    const statuses = this.runStatuses()
    for (const [run, { name, status }] of statuses) {
      const before = this.statuses.get(run)?.status
      if (before === undefined || before === status || isLiveStatus(status)) continue
      const step = lastStep(db, run) ?? 0
      const reason = lastProblem(db, run)?.trim()
      const message =
        status === 'finished'
          ? `Finished after ${step} steps.`
          : status === 'stopped'
            ? `Stopped at step ${step}; it can be resumed.`
            : `${status === 'failed' ? 'Failed' : 'Interrupted'} at step ${step}${reason ? `: ${reason}` : '.'}`
      this.emit('run.notice', { run, name, kind: status, message })
    }
    this.statuses = statuses
    for (const alert of alertsAfter(db, this.lastAlert)) {
      this.emit('run.notice', { run: alert.run, name: alert.name, kind: 'alert', message: alert.message })
      this.lastAlert = alert.id
    }
  }

  /** The runs whose trainers this host owns: what quitting would stop. */
  activeRuns(): Pick<RunSummary, 'id' | 'name'>[] {
    return runNames(this.options.store.db, this.scheduler.ownedRuns())
  }

  /**
   * Asks the trainers this host owns to stop after their current step (each saves a checkpoint) and waits for
   * them, at most `timeoutMs`; queued runs stay queued for the next start. Call close() afterwards.
   */
  stopRuns(timeoutMs: number): Promise<number[]> {
    return this.scheduler.stopAll(timeoutMs)
  }

  /** Stops watching; trainers still owned are ended and their runs marked interrupted (resumable). */
  close(): void {
    this.closing.abort()
    clearInterval(this.watchTimer)
    this.scheduler.close('the workbench closed while it was training')
    this.listeners.clear()
  }
}
