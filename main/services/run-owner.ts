// Owning a run: prepare its job from the store, start a trainer process, and write what the trainer streams
// (metrics, rollouts, checkpoints, alerts, logs, status) into the store. A trainer that crashes makes a
// failed run with its error and log, never a crashed owner. Used by `cwb train` and `cwb demo` (a run created and
// trained at once) and by the app's scheduler (runs queued first, started as slots free up).
import { spawnSync } from 'node:child_process'
import { lstatSync, readdirSync, rmSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { ENDED_RUN_STATUSES } from '../../preload/contract'
import type { CollapseFlag } from '../engine/collapse'
import type { TrainerMessage } from '../engine/trainer/protocol'
import type { TrainerJob, TrainRecord } from '../engine/trainer/trainer'
import type { RunConfig } from '../engine/run-config'
import { packageRoot, packageVersion, shippedBaseModel } from '../package-root'
import { diskFullReason, isDiskFull } from '../disk-full'
import {
  addCheckpoint,
  checkpointAtPath,
  listRunCheckpoints,
  refreshBestCheckpointTag,
  refreshBestTags,
  removeCheckpoint,
} from '../store/checkpoints'
import type { Db } from '../store/database'
import { datasetRecords, findDataset } from '../store/datasets'
import { addEvent, runEvents } from '../store/events'
import type { NewEvent } from '../store/events'
import { metricSeries } from '../store/metrics'
import { acceptedParaphrases, recordName } from '../store/records'
import { claimQueuedRun, createRun, getRun, heartbeat, recordActivity, stopRequested, updateRun } from '../store/runs'
import type { Run } from '../store/runs'
import { writeTransaction } from '../store/sql'
import { discardFromStep, recordStep } from '../store/steps'
import { checkpointFromStore } from './checkpoint-spec'
import { runPlan } from './run-plan'
import { planRefusal } from '../engine/memory-plan'
import { startNodeTrainer, trainerModule } from './trainer-process'
import type { StartTrainer, TrainerProcess } from './trainer-process'

export interface RunProgress {
  step: number
  totalSteps: number
  phase: string
  metrics?: Record<string, number>
}

export interface RunOutcome {
  run: number
  /** interrupted: the owner closed and ended the trainer (the run resumes from its last checkpoint). */
  status: (typeof ENDED_RUN_STATUSES)[number]
  steps: number
  final: Record<string, number>
  error?: string
}

let commit: string | null | undefined
function gitCommit(): string | null {
  if (commit === undefined) {
    const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: packageRoot(), encoding: 'utf8' })
    commit = result.status === 0 ? result.stdout.trim() : null
  }
  return commit
}

/** The training and validation data of a run, read from its dataset. */
function jobData(
  db: Db,
  config: RunConfig,
  /** A stored run's dataset: by id, so renaming the dataset does not break a resume. */
  datasetId?: number | null,
): Pick<TrainerJob, 'train' | 'validation' | 'validationSource'> & { datasetId: number } {
  const dataset = datasetId != null ? findDataset(db, datasetId) : findDataset(db, config.dataset)
  if (!dataset) throw new Error(`dataset: no dataset "${config.dataset}" in this workspace; \`cwb datasets\` lists them`)
  const train = datasetRecords(db, dataset.id, { split: config.train_split })
  if (train.length === 0)
    throw new Error(`train_split: dataset "${dataset.name}" has no records in split "${config.train_split}"`)
  const validation = datasetRecords(db, dataset.id, { split: config.validation_split, labelledOnly: true })
  if (validation.length === 0) {
    throw new Error(`validation_split: dataset "${dataset.name}" has no labelled records in split "${config.validation_split}"`)
  }
  const paraphrases = acceptedParaphrases(db, dataset.id)
  const records: TrainRecord[] = train.map((r) => ({
    id: r.id,
    name: recordName(r, dataset.name),
    question: r.question,
    answer: r.answer,
    paraphrases: paraphrases.get(r.id) ?? [],
  }))
  const source = (validation[0]?.source as { data_source?: unknown } | undefined)?.data_source
  return {
    datasetId: dataset.id,
    train: records,
    validation: validation.map((r) => ({ question: r.question, answer: r.answer! })),
    validationSource: typeof source === 'string' && source ? source : dataset.name,
  }
}

export interface OwnerOptions {
  db: Db
  workspace: string
  onProgress?: (progress: RunProgress) => void
  onLog?: (message: string) => void
  /** Polled with the store's stop request: true asks the trainer to stop after its current step. */
  shouldStop?: () => boolean
  /** Starts the trainer process: a Node child unless the host passes another kind (the app's utilityProcess). */
  startTrainer?: StartTrainer
}

/** Bytes of the files under `path` (a file or a folder; links are not followed); 0 when it does not exist. */
export function diskBytes(path: string): number {
  let stat
  try {
    stat = lstatSync(path)
  } catch {
    return 0
  }
  if (!stat.isDirectory()) return stat.isFile() ? stat.size : 0
  let total = 0
  for (const entry of readdirSync(path)) total += diskBytes(join(path, entry))
  return total
}

/**
 * Keeps the last `keep` checkpoints of a run plus every tagged one (0 keeps all); the others' folders are deleted.
 * Returns the removed steps and the bytes their folders held.
 */
export function pruneCheckpoints(db: Db, runId: number, keep: number): { removed: number[]; freedBytes: number } {
  if (keep <= 0) return { removed: [], freedBytes: 0 }
  const checkpoints = listRunCheckpoints(db, runId)
  const doomed = checkpoints.slice(0, Math.max(0, checkpoints.length - keep)).filter((c) => c.tags.length === 0)
  let freedBytes = 0
  for (const checkpoint of doomed) {
    freedBytes += diskBytes(checkpoint.path)
    // The row goes first: a crash mid-delete then leaves an unlisted folder, never a listed, half-deleted checkpoint.
    removeCheckpoint(db, checkpoint.id)
    rmSync(checkpoint.path, { recursive: true, force: true })
  }
  return { removed: doomed.map((c) => c.step), freedBytes }
}

/** A trainer process this owner started, and how to end it. */
export interface OwnedTrainer {
  run: number
  pid: number | undefined
  /** Settles when the trainer has ended and the run's final status is written. */
  outcome: Promise<RunOutcome>
  /** Ends the trainer at once (no checkpoint): the run fails with "Killed by the user at step N" and can be resumed. */
  kill(): void
  /**
   * Ends the trainer because its owner is closing: the run is marked interrupted (resumable) now, and nothing more
   * is written to the store afterwards, so the store may close right after.
   */
  abandon(reason: string): void
}

/** The starting checkpoint of a new run: the config's (a folder or RUN:STEP), else the shipped base model. */
function startCheckpointOf(db: Db, config: RunConfig): string {
  return config.checkpoint ? checkpointFromStore(db, config.checkpoint) : shippedBaseModel()
}

function newRun(db: Db, config: RunConfig, datasetId: number, startCheckpoint: string): number {
  return createRun(db, {
    name: config.name,
    mode: config.mode,
    config,
    seed: config.seed,
    datasetId,
    // A run started from a stored checkpoint (RUN:STEP, or its folder) is a branch of it.
    parentCheckpointId: checkpointAtPath(db, startCheckpoint)?.id ?? null,
    environment: {
      workbench: packageVersion(),
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      commit: gitCommit(),
      seed: config.seed,
      start_checkpoint: startCheckpoint,
    },
  })
}

/**
 * Stores a new run from a config with status queued (a scheduler starts it with startRun) and returns its id.
 * The dataset and the starting checkpoint must exist now; the checkpoint is resolved to its folder once, here.
 */
export function createQueuedRun(db: Db, config: RunConfig): number {
  const dataset = findDataset(db, config.dataset)
  if (!dataset) throw new Error(`dataset: no dataset "${config.dataset}" in this workspace; \`cwb datasets\` lists them`)
  return newRun(db, config, dataset.id, startCheckpointOf(db, config))
}

/** The job that resumes a run from its latest checkpoint (its later steps are discarded), or undefined without one. */
function resumeJob(db: Db, run: Run, workspace: string): { job: TrainerJob; from: number } | undefined {
  const latest = listRunCheckpoints(db, run.id).at(-1)
  if (!latest) return undefined
  const config = run.config as unknown as RunConfig
  discardFromStep(db, run.id, latest.step + 1)
  const flags: CollapseFlag[] = runEvents(db, run.id, { kinds: ['alert'] }).map((e) => e.data as unknown as CollapseFlag)
  const job: TrainerJob = {
    config,
    runDir: join(workspace, 'runs', String(run.id)),
    startCheckpoint: String(run.environment.start_checkpoint),
    resumeFrom: latest.path,
    ...jobData(db, config, run.datasetId),
    history: { series: metricSeries(db, run.id), flags },
  }
  return { job, from: latest.step }
}

/** The job that trains a run from its start (anything it logged before is discarded). */
function freshJob(db: Db, run: Run, workspace: string): TrainerJob {
  const config = run.config as unknown as RunConfig
  const data = jobData(db, config, run.datasetId)
  discardFromStep(db, run.id, 0)
  return {
    config,
    runDir: join(workspace, 'runs', String(run.id)),
    startCheckpoint: String(run.environment.start_checkpoint),
    ...data,
  }
}

/**
 * Starts the trainer of a queued run: afresh, or from its latest checkpoint when it was queued to resume (a run
 * with no checkpoint yet starts over). Throws when the run is not queued; a run whose job cannot be prepared (its
 * dataset or checkpoint is gone) is marked failed with the reason, and the error is thrown too.
 */
export function startRun(runId: number, options: OwnerOptions): OwnedTrainer {
  const { db } = options
  const run = getRun(db, runId)
  if (!run) throw new Error(`No run with id ${runId} in this workspace; \`cwb runs\` lists the runs.`)
  if (!claimQueuedRun(db, runId)) throw new Error(`Run ${runId} is ${run.status}, not queued; only queued runs are started.`)
  let job: TrainerJob
  try {
    const resumed = run.resume ? resumeJob(db, run, options.workspace) : undefined
    if (run.resume && !resumed) {
      addEvent(db, runId, { level: 'info', kind: 'status', message: 'No checkpoint to resume from: training from the start.' })
    }
    if (resumed) options.onLog?.(`Resuming run ${runId} from step ${resumed.from}`)
    job = resumed?.job ?? freshJob(db, run, options.workspace)
    updateRun(db, runId, { resume: false })
  } catch (error) {
    const message = (error as Error).message
    addEvent(db, runId, { level: 'error', kind: 'log', message: `Cannot start the run: ${message}` })
    updateRun(db, runId, { status: 'failed', phase: null, resume: false, finishedAt: new Date().toISOString() })
    throw error
  }
  return own(runId, job, options)
}

/** Creates a run from a config and trains it to the end (or until stopped). */
export async function trainNewRun(config: RunConfig, options: OwnerOptions): Promise<RunOutcome> {
  const { db } = options
  const data = jobData(db, config)
  const startCheckpoint = startCheckpointOf(db, config)
  const plan = await runPlan(startCheckpoint, config)
  if (!plan.fits) throw new Error(planRefusal(plan))
  // Created and claimed in one transaction: a workbench watching the queue never sees this run as queued.
  const run = writeTransaction(db, (): number => {
    const id = newRun(db, config, data.datasetId, startCheckpoint)
    claimQueuedRun(db, id)
    return id
  })
  const job: TrainerJob = { config, runDir: join(options.workspace, 'runs', String(run)), startCheckpoint, ...data }
  return own(run, job, options).outcome
}

/** Resumes a stopped, failed or interrupted run from its latest checkpoint; steps after it are trained again. */
export async function resumeRun(runSpec: string, options: OwnerOptions): Promise<RunOutcome> {
  const { db } = options
  const run = getRun(db, runSpec)
  if (!run) throw new Error(`No run "${runSpec}" in this workspace; \`cwb runs\` lists them`)
  if (run.status === 'running' || run.status === 'stopping')
    throw new Error(`Run ${run.id} is ${run.status}; stop it before resuming`)
  if (run.status === 'queued')
    throw new Error(`Run ${run.id} is queued in the workbench; it starts there when a slot frees up (or stop it there first)`)
  if (run.status === 'finished')
    throw new Error(`Run ${run.id} has finished; start a new run from one of its checkpoints instead`)
  const resumed = resumeJob(db, run, options.workspace)
  if (!resumed) throw new Error(`Run ${run.id} has no checkpoint to resume from; start it again instead`)
  updateRun(db, run.id, { stopRequested: false })
  options.onLog?.(`Resuming run ${run.id} from step ${resumed.from}`)
  return own(run.id, resumed.job, options).outcome
}

/** What a failed store write means for a run, and what to do about it. */
function storeErrorMessage(error: unknown, runId: number, what: string, workspace: string): string {
  const reason = isDiskFull(error) ? diskFullReason(error) : (error as Error).message
  return (
    `Cannot write run ${runId}'s ${what} to the store: ${reason}. The run stops; the steps stored before are intact. ` +
    (isDiskFull(error)
      ? `Free space on the disk holding ${workspace}, then resume the run from its last checkpoint.`
      : 'Resume the run from its last checkpoint once the store is writable.')
  )
}

/**
 * Writes a run's final status (and the event saying why). On a full disk that can fail too: it is tried again every
 * two seconds while the store is open, so the run shows its true status once space is freed (a host that closes
 * first leaves it running with a dead trainer, which the next start marks interrupted).
 */
function settle(db: Db, runId: number, status: RunOutcome['status'], event?: NewEvent): void {
  try {
    writeTransaction(db, () => {
      if (event) addEvent(db, runId, event)
      updateRun(db, runId, { status, trainerPid: null, phase: null, finishedAt: new Date().toISOString() })
    })
  } catch (error) {
    // Anything else (the run was deleted under its trainer) has nothing left to record.
    if (isDiskFull(error) && db.open) setTimeout(() => settle(db, runId, status, event), 2000).unref()
  }
}

/** Runs the trainer process for `job` and writes its events into the store until it ends. */
function own(runId: number, job: TrainerJob, options: OwnerOptions): OwnedTrainer {
  return new TrainerOwner(runId, job, options, (options.startTrainer ?? startNodeTrainer)(trainerModule()))
}

/** A trainer process, and what its owner has learnt of it so far. */
class TrainerOwner implements OwnedTrainer {
  readonly outcome: Promise<RunOutcome>
  private readonly db: Db
  private readonly poll: NodeJS.Timeout
  /** The last step the trainer reported. */
  private step = 0
  private stopSent = false
  private killedByUser = false
  private abandoned = false
  /**
   * A write to the store failed (most likely the disk is full): the run fails and its trainer ends now, without a
   * checkpoint (a checkpoint of a step the store lacks would leave a hole in the run's metrics on resume).
   */
  private storeFailed = false
  /** The trainer's own error, written with the run's final status when the trainer has exited. */
  private trainerError: NewEvent | undefined
  /** How the run ended, once known: the first answer stands. */
  private result: RunOutcome | undefined
  /** The end of the trainer's stderr, for the message of a trainer that dies without saying why. */
  private stderr = ''

  constructor(
    readonly run: number,
    private readonly job: TrainerJob,
    private readonly options: OwnerOptions,
    private readonly child: TrainerProcess,
  ) {
    this.db = options.db
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-20_000)))
    this.recordStart()
    // A utilityProcess has its pid only once it has spawned; `cwb stop --kill` and other hosts read it from the store.
    if (child.pid === undefined) child.on('spawn', () => this.recordPid())
    child.send({ type: 'start', job })
    this.poll = setInterval(() => this.checkIn(), 500)
    this.outcome = new Promise((resolve) => {
      child.on('message', (message) => this.receive(message))
      child.on('exit', (code, signal) => resolve(this.exited(code, signal)))
    })
  }

  /** Ends the trainer at once (no checkpoint): the run fails with "Killed by the user at step N" and can be resumed. */
  kill(): void {
    if (this.abandoned || !this.alive) return
    this.killedByUser = true
    this.child.kill('SIGKILL')
  }

  /** Ends the trainer because its owner is closing: the run is interrupted now, and nothing more is written after. */
  abandon(reason: string): void {
    if (this.abandoned || !this.alive) return
    this.abandoned = true
    clearInterval(this.poll)
    this.finish({ run: this.run, status: 'interrupted', steps: this.step, final: {}, error: reason })
    this.child.kill('SIGTERM')
    try {
      updateRun(this.db, this.run, { status: 'interrupted', trainerPid: null, phase: null })
      addEvent(this.db, this.run, {
        level: 'warning',
        kind: 'status',
        message: `Run interrupted at step ${this.step}: ${reason}. Resume it from its last checkpoint.`,
      })
    } catch {
      // A full disk: the run stays running with a dead trainer, and the next start marks it interrupted.
    }
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  private get alive(): boolean {
    return !this.child.exited
  }

  private finish(result: RunOutcome): void {
    this.result ??= result
  }

  /** Marks the run running under this trainer; a store that cannot take it ends the trainer at once. */
  private recordStart(): void {
    try {
      updateRun(this.db, this.run, {
        status: 'running',
        trainerPid: this.child.pid ?? null,
        trainerHost: hostname(),
        startedAt: new Date().toISOString(),
        finishedAt: null,
      })
      recordActivity(this.db, this.run, 'starting')
    } catch (error) {
      this.child.kill('SIGKILL')
      throw new Error(storeErrorMessage(error, this.run, 'start', this.options.workspace), { cause: error })
    }
  }

  private recordPid(): void {
    if (this.abandoned || this.storeFailed) return
    try {
      updateRun(this.db, this.run, { trainerPid: this.child.pid ?? null })
    } catch (error) {
      this.onStoreError(error, 'start')
    }
  }

  /** Every half second: the heartbeat, and a stop asked for (by the caller or through the store) passed on once. */
  private checkIn(): void {
    try {
      heartbeat(this.db, this.run)
      if (!this.stopSent && (this.options.shouldStop?.() || stopRequested(this.db, this.run))) {
        this.stopSent = true
        updateRun(this.db, this.run, { status: 'stopping' })
        this.child.send({ type: 'stop' })
      }
    } catch (error) {
      this.onStoreError(error, 'heartbeat')
    }
  }

  private onStoreError(error: unknown, what: string): void {
    // Once the run's outcome is known (done, or the trainer's error) the trainer is ending anyway: `settle` records it.
    if (this.storeFailed || this.result) return
    this.storeFailed = true
    const message = storeErrorMessage(error, this.run, what, this.options.workspace)
    this.finish({ run: this.run, status: 'failed', steps: this.step, final: {}, error: message })
    if (this.alive) this.child.kill('SIGKILL')
  }

  private receive(message: TrainerMessage): void {
    // Once the run is settled (done, failed or exited), a late message must not write over its outcome.
    if (this.abandoned || this.storeFailed || this.result !== undefined) return
    try {
      this.record(message)
    } catch (error) {
      this.onStoreError(error, message.type === 'step' ? `step ${message.step} metrics` : 'progress')
    }
  }

  /** Writes what the trainer reported into the store and passes it on to the caller. */
  private record(message: TrainerMessage): void {
    const { db, run, job, options } = this
    switch (message.type) {
      case 'started':
        updateRun(db, run, { backend: message.backend })
        addEvent(db, run, {
          level: 'info',
          kind: 'status',
          step: message.step,
          message: `${message.resumed ? 'Resumed' : 'Started'} on ${message.backend} (${message.parameters} parameters)`,
        })
        break
      case 'phase':
        recordActivity(db, run, message.phase)
        options.onProgress?.({ step: message.step, totalSteps: job.config.steps, phase: message.phase })
        break
      case 'step':
        this.step = message.step
        recordStep(db, run, {
          step: message.step,
          wallTime: message.wallTime,
          tokens: message.tokens,
          metrics: message.metrics,
          samples: message.samples,
        })
        recordActivity(db, run)
        if (Object.keys(message.metrics).some((key) => key.startsWith('val-core/'))) refreshBestCheckpointTag(db, run)
        options.onProgress?.({ step: message.step, totalSteps: job.config.steps, phase: 'done', metrics: message.metrics })
        break
      case 'checkpoint':
        addCheckpoint(db, run, message.step, message.path, message.step === job.config.steps ? ['latest'] : [])
        // Tag first: retention keeps tagged checkpoints, so the best ones (by GT and by self-reward) survive pruning.
        refreshBestTags(db, run)
        pruneCheckpoints(db, run, job.config.keep_checkpoints)
        break
      case 'alert':
        addEvent(db, run, {
          level: 'warning',
          kind: 'alert',
          step: message.step,
          message: message.message,
          data: { rule: message.rule, step: message.step, message: message.message, detail: message.detail },
        })
        options.onLog?.(`step ${message.step}: ${message.message}`)
        break
      case 'log':
        addEvent(db, run, { level: message.level, kind: 'log', message: message.message })
        options.onLog?.(message.message)
        break
      case 'done':
        this.finish({ run, status: message.status, steps: message.steps, final: message.final })
        break
      case 'error':
        this.finish({ run, status: 'failed', steps: this.step, final: {}, error: message.message })
        this.trainerError = {
          level: 'error',
          kind: 'log',
          step: message.step ?? this.step,
          message: message.message,
          data: { stack: message.stack ?? '' },
        }
        break
    }
  }

  /** The trainer has exited: writes the run's final status (a trainer that died without a word fails the run). */
  private exited(code: number | null, signal: NodeJS.Signals | null): RunOutcome {
    clearInterval(this.poll)
    if (this.abandoned) return this.result!
    let event = this.trainerError
    if (this.storeFailed) event = { level: 'error', kind: 'log', step: this.step, message: this.result!.error! }
    else if (!this.result) {
      const tail = this.stderr.trim()
      const why = this.killedByUser
        ? `Killed by the user at step ${this.step}`
        : `the trainer process exited ${signal ? `on ${signal}` : `with code ${code}`} without finishing${tail ? `: ${tail.split('\n').at(-1)}` : ''}`
      event = { level: 'error', kind: 'log', step: this.step, message: why, data: { stderr: this.stderr } }
      this.finish({ run: this.run, status: 'failed', steps: this.step, final: {}, error: why })
    }
    settle(this.db, this.run, this.result!.status, event)
    return this.result!
  }
}
