// Owning a run: prepare its job from the store, start a trainer process, and write what the trainer streams
// (metrics, rollouts, checkpoints, alerts, logs, status) into the store. A trainer that crashes makes a
// failed run with its error and log, never a crashed owner. Used by `cwb train` (and the app's services).
import { fork, type ChildProcess } from 'node:child_process'
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { CollapseFlag } from '../engine/collapse'
import type { OwnerMessage, TrainerMessage } from '../engine/trainer/protocol'
import type { TrainerJob, TrainRecord } from '../engine/trainer/trainer'
import type { RunConfig } from '../engine/run-config'
import { packageRoot, packageVersion } from '../package-root'
import { checkpointFromStore } from '../store/checkpoint-spec'
import { datasetRecords, findDataset } from '../store/datasets'
import type { Db } from '../store/database'
import {
  addCheckpoint,
  addEvent,
  createRun,
  discardFromStep,
  getRun,
  heartbeat,
  listRunCheckpoints,
  metricSeries,
  recordStep,
  runEvents,
  stopRequested,
  updateRun,
} from '../store/runs'

export interface RunProgress {
  step: number
  totalSteps: number
  phase: string
  metrics?: Record<string, number>
}

export interface RunOutcome {
  run: number
  status: 'finished' | 'stopped' | 'failed'
  steps: number
  final: Record<string, number>
  error?: string
}

function gitCommit(): string | null {
  const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: packageRoot(), encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim() : null
}

/** The training and validation data of a run, read from its dataset. */
function jobData(
  db: Db,
  config: RunConfig,
): Pick<TrainerJob, 'train' | 'validation' | 'validationSource'> & { datasetId: number } {
  const dataset = findDataset(db, config.dataset)
  if (!dataset) throw new Error(`dataset: no dataset "${config.dataset}" in this workspace; \`cwb datasets\` lists them`)
  const train = datasetRecords(db, dataset.id, { split: config.train_split })
  if (train.length === 0)
    throw new Error(`train_split: dataset "${dataset.name}" has no records in split "${config.train_split}"`)
  const validation = datasetRecords(db, dataset.id, { split: config.validation_split, labelledOnly: true })
  if (validation.length === 0) {
    throw new Error(`validation_split: dataset "${dataset.name}" has no labelled records in split "${config.validation_split}"`)
  }
  const paraphrases = new Map<number, string[]>()
  const rows = db
    .prepare(
      `SELECT p.record_id AS record, p.text FROM paraphrases p JOIN records r ON r.id = p.record_id
       WHERE r.dataset_id = ? AND p.status = 'accepted' ORDER BY p.id`,
    )
    .all(dataset.id) as { record: number; text: string }[]
  for (const row of rows) paraphrases.set(row.record, [...(paraphrases.get(row.record) ?? []), row.text])
  const records: TrainRecord[] = train.map((r) => ({
    id: r.id,
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
}

/** Keeps the last `keep` checkpoints of a run plus every tagged one (0 keeps all); the others' folders are deleted. */
export function pruneCheckpoints(db: Db, runId: number, keep: number): number[] {
  if (keep <= 0) return []
  const checkpoints = listRunCheckpoints(db, runId)
  const doomed = checkpoints.slice(0, Math.max(0, checkpoints.length - keep)).filter((c) => c.tags.length === 0)
  for (const checkpoint of doomed) {
    rmSync(checkpoint.path, { recursive: true, force: true })
    db.prepare('DELETE FROM checkpoints WHERE id = ?').run(checkpoint.id)
  }
  return doomed.map((c) => c.step)
}

/** Creates a run from a config and trains it to the end (or until stopped). */
export async function trainNewRun(config: RunConfig, options: OwnerOptions): Promise<RunOutcome> {
  const { db } = options
  const data = jobData(db, config)
  const startCheckpoint = config.checkpoint
    ? checkpointFromStore(db, config.checkpoint)
    : join(packageRoot(), 'resources', 'base-model')
  const run = createRun(db, {
    name: config.name,
    mode: config.mode,
    config,
    seed: config.seed,
    datasetId: data.datasetId,
    environment: {
      workbench: packageVersion(),
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      commit: gitCommit(),
      seed: config.seed,
      start_checkpoint: startCheckpoint,
    },
  })
  const job: TrainerJob = { config, runDir: join(options.workspace, 'runs', String(run)), startCheckpoint, ...data }
  return own(run, job, options)
}

/** Resumes a stopped, failed or interrupted run from its latest checkpoint; steps after it are trained again. */
export async function resumeRun(runSpec: string, options: OwnerOptions): Promise<RunOutcome> {
  const { db } = options
  const run = getRun(db, runSpec)
  if (!run) throw new Error(`No run "${runSpec}" in this workspace; \`cwb runs\` lists them`)
  if (run.status === 'running' || run.status === 'stopping')
    throw new Error(`Run ${run.id} is ${run.status}; stop it before resuming`)
  if (run.status === 'finished')
    throw new Error(`Run ${run.id} has finished; start a new run from one of its checkpoints instead`)
  const latest = listRunCheckpoints(db, run.id).at(-1)
  if (!latest) throw new Error(`Run ${run.id} has no checkpoint to resume from; start it again instead`)
  const config = run.config as unknown as RunConfig
  discardFromStep(db, run.id, latest.step + 1)
  const flags: CollapseFlag[] = runEvents(db, run.id, { kinds: ['alert'] }).map((e) => e.data as unknown as CollapseFlag)
  const job: TrainerJob = {
    config,
    runDir: join(options.workspace, 'runs', String(run.id)),
    startCheckpoint: String(run.environment.start_checkpoint),
    resumeFrom: latest.path,
    ...jobData(db, config),
    history: { series: metricSeries(db, run.id), flags },
  }
  updateRun(db, run.id, { stopRequested: false })
  options.onLog?.(`Resuming run ${run.id} from step ${latest.step}`)
  return own(run.id, job, options)
}

/** Runs the trainer process for `job` and writes its events into the store until it ends. */
function own(runId: number, job: TrainerJob, options: OwnerOptions): Promise<RunOutcome> {
  const { db } = options
  const child: ChildProcess = fork(join(packageRoot(), 'out', 'main', 'trainer.js'), [], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)))
  updateRun(db, runId, {
    status: 'running',
    trainerPid: child.pid ?? null,
    trainerHost: hostname(),
    startedAt: new Date().toISOString(),
    finishedAt: null,
  })
  const send = (message: OwnerMessage): void => void child.send(message)
  send({ type: 'start', job })
  let step = 0
  let stopSent = false
  const poll = setInterval(() => {
    heartbeat(db, runId)
    if (!stopSent && (options.shouldStop?.() || stopRequested(db, runId))) {
      stopSent = true
      updateRun(db, runId, { status: 'stopping' })
      send({ type: 'stop' })
    }
  }, 500)
  return new Promise((resolve) => {
    let outcome: RunOutcome | undefined
    const finish = (result: RunOutcome): void => {
      outcome ??= result
    }
    child.on('message', (raw) => {
      const message = raw as TrainerMessage
      switch (message.type) {
        case 'started':
          updateRun(db, runId, { backend: message.backend })
          addEvent(db, runId, {
            level: 'info',
            kind: 'status',
            step: message.step,
            message: `${message.resumed ? 'Resumed' : 'Started'} on ${message.backend} (${message.parameters} parameters)`,
          })
          break
        case 'phase':
          options.onProgress?.({ step: message.step, totalSteps: job.config.steps, phase: message.phase })
          break
        case 'step':
          step = message.step
          recordStep(db, runId, {
            step: message.step,
            wallTime: message.wallTime,
            tokens: message.tokens,
            metrics: message.metrics,
            samples: message.samples,
          })
          options.onProgress?.({ step: message.step, totalSteps: job.config.steps, phase: 'done', metrics: message.metrics })
          break
        case 'checkpoint':
          addCheckpoint(db, runId, message.step, message.path, message.step === job.config.steps ? ['latest'] : [])
          pruneCheckpoints(db, runId, job.config.keep_checkpoints)
          break
        case 'alert':
          addEvent(db, runId, {
            level: 'warning',
            kind: 'alert',
            step: message.step,
            message: message.message,
            data: { rule: message.rule, step: message.step, message: message.message, detail: message.detail },
          })
          options.onLog?.(`step ${message.step}: ${message.message}`)
          break
        case 'log':
          addEvent(db, runId, { level: message.level, kind: 'log', message: message.message })
          options.onLog?.(message.message)
          break
        case 'done':
          finish({ run: runId, status: message.status, steps: message.steps, final: message.final })
          break
        case 'error':
          addEvent(db, runId, {
            level: 'error',
            kind: 'log',
            step,
            message: message.message,
            data: { stack: message.stack ?? '' },
          })
          finish({ run: runId, status: 'failed', steps: step, final: {}, error: message.message })
          break
      }
    })
    child.on('exit', (code, signal) => {
      clearInterval(poll)
      if (!outcome) {
        const why = `the trainer process exited ${signal ? `on ${signal}` : `with code ${code}`} without finishing${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`
        addEvent(db, runId, { level: 'error', kind: 'log', step, message: why, data: { stderr } })
        finish({ run: runId, status: 'failed', steps: step, final: {}, error: why })
      }
      updateRun(db, runId, { status: outcome!.status, trainerPid: null, finishedAt: new Date().toISOString() })
      resolve(outcome!)
    })
  })
}
