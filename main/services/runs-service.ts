// The run handlers of the API contract: the run list and the live panel, the launch form (schema, defaults,
// presets, validation), the queue (launch, stop, resume, kill) and housekeeping (rename, notes, tags, delete,
// checkpoint retention, disk usage).
import { hostname } from 'node:os'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { REWARD_MODES, type ConfigPreset, type FieldIssue, type RunDetail, type RunSummary } from '../../preload/contract'
import { defaultRunConfig, parseRunConfig, RunConfig, runConfigJsonSchema } from '../engine/run-config'
import { checkpointFromStore } from '../store/checkpoint-spec'
import { datasetSplits, findDataset } from '../store/datasets'
import type { Db } from '../store/database'
import {
  activeRuns,
  addEvent,
  getRun,
  lastStep,
  latestMetrics,
  listRunCheckpoints,
  medianStepSeconds,
  metricToJson,
  queuedRuns,
  refreshBestTags,
  requestStop,
  runEvents,
  runSummaries,
  tokensPerSecond,
  updateRun,
  type Run,
} from '../store/runs'
import type { Store } from '../store/store'
import { ApiError, type Handlers } from './dispatch'
import { isWithin } from './paths'
import { createQueuedRun, diskBytes, pruneCheckpoints } from './run-owner'
import type { RunScheduler } from './scheduler'

export type RunHandlers = Pick<
  Handlers,
  | 'runs.list'
  | 'runs.get'
  | 'runs.log'
  | 'runs.form'
  | 'runs.validate'
  | 'runs.launch'
  | 'runs.queue'
  | 'runs.stop'
  | 'runs.resume'
  | 'runs.kill'
  | 'runs.update'
  | 'runs.delete'
  | 'runs.prune'
  | 'runs.disk'
>

export interface RunServices {
  store: Store
  workspace: string
  scheduler: RunScheduler
}

/** The launch form's presets: partial configs, the mode's defaults fill the rest. */
export const PRESETS: ConfigPreset[] = [
  {
    id: 'demo-comparison',
    label: 'demo comparison',
    description: "The paper's comparison in miniature: the six reward modes from the shipped base model, 60 steps each.",
    configs: REWARD_MODES.map((mode) => ({ name: `demo-${mode}`, mode, steps: 60 })),
  },
  {
    id: 'smoke-test',
    label: 'quick smoke test',
    description: 'One tiny Co-rewarding-I run (4 steps, 2 questions x 4 rollouts) that checks the whole loop in seconds.',
    configs: [
      {
        name: 'smoke-test',
        mode: 'co_rewarding_i',
        steps: 4,
        batch_size: 2,
        rollouts: 4,
        validation: { every: 2, questions: 16 },
        checkpoint_every: 2,
        sample_groups: 2,
      },
    ],
  },
  {
    id: 'co-rewarding-vs-gt',
    label: 'Co-rewarding-I vs II vs GT',
    description: 'Both Co-rewarding variants against the ground-truth reward (the upper bound), 60 steps each.',
    configs: (['co_rewarding_i', 'co_rewarding_ii', 'ground_truth'] as const).map((mode) => ({
      name: `demo-${mode}`,
      mode,
      steps: 60,
    })),
  },
]

const LIVE = ['queued', 'running', 'stopping'] as const
const isLive = (status: Run['status']): boolean => (LIVE as readonly string[]).includes(status)

function requireRun(db: Db, id: number): Run {
  const run = getRun(db, id)
  if (!run) throw new ApiError('not_found', `No run ${id} in this workspace; runs.list lists the runs.`)
  return run
}

function summary(db: Db, id: number): RunSummary {
  const found = runSummaries(db, { ids: [id] })[0]
  if (!found) throw new ApiError('not_found', `No run ${id} in this workspace; runs.list lists the runs.`)
  return found
}

/**
 * Checks a config as the trainer would: every schema issue (with its field path), the EMA/mode rule, and that the
 * dataset, its splits and the starting checkpoint exist in this workspace. Returns the complete config when valid.
 */
export function validateRunConfig(db: Db, raw: unknown): { config: RunConfig | null; issues: FieldIssue[] } {
  const parsed = RunConfig.safeParse(raw)
  const issues: FieldIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(config)', message: issue.message }))
  if (parsed.success) {
    try {
      parseRunConfig(raw, 'config')
    } catch (error) {
      // parseRunConfig's own rules (EMA only for Co-rewarding-II) say "config: <field>: <reason>".
      const [, path = '(config)', message = (error as Error).message] =
        /^config: ([^:]+): (.*)$/s.exec((error as Error).message) ?? []
      issues.push({ path, message })
    }
  }
  const fields = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {}
  const datasetName = parsed.success ? parsed.data.dataset : typeof fields.dataset === 'string' ? fields.dataset : undefined
  if (datasetName !== undefined && !issues.some((issue) => issue.path === 'dataset')) {
    const dataset = findDataset(db, datasetName)
    if (!dataset) {
      const names = (db.prepare('SELECT name FROM datasets ORDER BY name').all() as { name: string }[]).map((d) => d.name)
      issues.push({
        path: 'dataset',
        message: `no dataset "${datasetName}" in this workspace; ${names.length ? `choose one of ${names.join(', ')}` : 'import one first'}`,
      })
    } else if (parsed.success) {
      const { train_split: train, validation_split: validation } = parsed.data
      const audit = db.prepare('SELECT audit_split FROM datasets WHERE id = ?').pluck().get(dataset.id) as string | null
      if (!datasetSplits(db, dataset.id)[train]) {
        issues.push({ path: 'train_split', message: `dataset "${dataset.name}" has no records in split "${train}"` })
      } else if (train === audit) {
        issues.push({
          path: 'train_split',
          message: `split "${train}" is the audit/validation split of dataset "${dataset.name}" (GT quarantine); train on another split`,
        })
      }
      if (!datasetSplits(db, dataset.id, { labelledOnly: true })[validation]) {
        issues.push({
          path: 'validation_split',
          message: `dataset "${dataset.name}" has no records with an answer in split "${validation}"`,
        })
      }
    }
  }
  if (parsed.success && parsed.data.checkpoint) {
    try {
      checkpointFromStore(db, parsed.data.checkpoint)
    } catch (error) {
      issues.push({ path: 'checkpoint', message: (error as Error).message })
    }
  }
  return { config: parsed.success && issues.length === 0 ? parsed.data : null, issues }
}

/** The folders a run's files live in: its run folder, and checkpoint folders kept elsewhere (imports). */
function runFolders(workspace: string, run: number, checkpointPaths: string[]): string[] {
  const dir = join(workspace, 'runs', String(run))
  return [dir, ...checkpointPaths.filter((path) => !isWithin(dir, path))]
}

function runDetail(services: RunServices, id: number): RunDetail {
  const { store, workspace, scheduler } = services
  const { db } = store
  const run = requireRun(db, id)
  const base = summary(db, id)
  const median = medianStepSeconds(db, [id]).get(id) ?? null
  const checkpoints = listRunCheckpoints(db, id)
  return {
    ...base,
    config: run.config,
    environment: run.environment,
    backend: run.backend,
    startedAt: run.startedAt,
    phase: run.status === 'queued' ? 'queued' : run.status === 'running' || run.status === 'stopping' ? run.phase : null,
    activityAt: run.activityAt,
    medianStepSeconds: median,
    etaSeconds: run.status === 'running' && median !== null ? median * Math.max(0, base.totalSteps - base.steps) : null,
    tokensPerSecond: tokensPerSecond(db, id),
    latest: latestMetrics(db, id).map((m) => ({ ...m, value: metricToJson(m.value) })),
    collapse: runEvents(db, id, { kinds: ['alert'] }).map((event) => ({
      run: id,
      rule: String(event.data.rule ?? 'alert'),
      step: event.step ?? Number(event.data.step ?? 0),
      message: event.message,
    })),
    checkpoints: checkpoints.map((c) => ({ id: c.id, step: c.step, tags: c.tags, path: c.path })),
    diskBytes: runFolders(
      workspace,
      id,
      checkpoints.map((c) => c.path),
    ).reduce((sum, folder) => sum + diskBytes(folder), 0),
    ownedHere: scheduler.owns(id),
  }
}

/**
 * validateRunConfig, and the starting checkpoint folder read as the trainer will load it (headers only): a damaged
 * or foreign folder is a field issue now rather than a run that fails once it starts.
 */
async function validateWithCheckpoint(db: Db, raw: unknown): Promise<{ config: RunConfig | null; issues: FieldIssue[] }> {
  const result = validateRunConfig(db, raw)
  const spec = result.config?.checkpoint
  if (!spec) return result
  const { inspectFolder } = await import('./checkpoints-service') // it imports this module: load it when needed
  try {
    await inspectFolder(checkpointFromStore(db, spec))
    return result
  } catch (error) {
    return { config: null, issues: [...result.issues, { path: 'checkpoint', message: (error as Error).message }] }
  }
}

async function launch(services: RunServices, configs: unknown[]): Promise<{ runs: number[] }> {
  const { db } = services.store
  const checked = await Promise.all(configs.map((raw) => validateWithCheckpoint(db, raw)))
  const issues = checked.flatMap((result, i) => result.issues.map((issue) => ({ ...issue, path: `configs.${i}.${issue.path}` })))
  const first = issues[0]
  if (first) {
    throw new ApiError(
      'invalid_request',
      `Nothing was launched: ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
      issues,
    )
  }
  const runs = db.transaction(() => checked.map((result) => createQueuedRun(db, result.config!))).immediate()
  services.scheduler.fill()
  return { runs }
}

function stop(services: RunServices, id: number): RunSummary {
  const { db } = services.store
  const run = requireRun(db, id)
  if (run.status === 'queued') {
    updateRun(db, id, { status: 'stopped', resume: false, phase: null })
    addEvent(db, id, { level: 'info', kind: 'status', message: 'Taken out of the queue before it started.' })
  } else if (run.status === 'running' || run.status === 'stopping') {
    requestStop(db, id)
  } else {
    throw new ApiError('conflict', `Run ${id} ("${run.name}") is already ${run.status}; there is nothing to stop.`)
  }
  services.scheduler.fill()
  return summary(db, id)
}

function resume(services: RunServices, id: number): RunSummary {
  const { db } = services.store
  const run = requireRun(db, id)
  if (run.origin !== 'local') {
    throw new ApiError('conflict', `Run ${id} was imported (${run.origin}); only runs trained in the workbench can be resumed.`)
  }
  if (run.status === 'finished') {
    throw new ApiError('conflict', `Run ${id} has finished; launch a new run from one of its checkpoints instead.`)
  }
  if (isLive(run.status))
    throw new ApiError('conflict', `Run ${id} is ${run.status}; only a stopped, failed or interrupted run resumes.`)
  const from = listRunCheckpoints(db, id).at(-1)?.step
  updateRun(db, id, {
    status: 'queued',
    resume: true,
    queuedAt: new Date().toISOString(),
    stopRequested: false,
    finishedAt: null,
    phase: null,
  })
  addEvent(db, id, {
    level: 'info',
    kind: 'status',
    message:
      from === undefined ? 'Queued to train again from the start (no checkpoint yet).' : `Queued to resume from step ${from}.`,
  })
  services.scheduler.fill()
  return summary(db, id)
}

async function kill(services: RunServices, id: number): Promise<RunSummary> {
  const { db } = services.store
  const run = requireRun(db, id)
  if (await services.scheduler.kill(id)) return summary(db, id)
  if (run.status !== 'running' && run.status !== 'stopping') {
    throw new ApiError('conflict', `Run ${id} is ${run.status}, not training; there is no trainer to kill.`)
  }
  if (!run.trainerPid || run.trainerHost !== hostname()) {
    throw new ApiError(
      'conflict',
      `Run ${id} trains on ${run.trainerHost ?? 'an unknown machine'}, not here; stop it there (cwb stop --kill) instead.`,
    )
  }
  // Trained by another process here (`cwb train`): its owner marks the run failed when the trainer dies.
  addEvent(db, id, { level: 'error', kind: 'log', message: `Killed by the user at step ${lastStep(db, id) ?? 0}` })
  try {
    process.kill(run.trainerPid, 'SIGKILL')
  } catch (error) {
    throw new ApiError('conflict', `Run ${id}'s trainer (process ${run.trainerPid}) is not running: ${(error as Error).message}`)
  }
  return summary(db, id)
}

function update(db: Db, params: { run: number; name?: string; notes?: string; tags?: string[] }): RunSummary {
  requireRun(db, params.run)
  db.transaction(() => {
    updateRun(db, params.run, {
      name: params.name,
      notes: params.notes,
      tags: params.tags && [...new Set(params.tags)],
    })
    // The name lives in the config too (configs are what the launch form duplicates and the diff compares).
    if (params.name !== undefined) {
      db.prepare(`UPDATE runs SET config = json_set(config, '$.name', ?) WHERE id = ?`).run(params.name.trim(), params.run)
    }
  }).immediate()
  return summary(db, params.run)
}

function remove(services: RunServices, id: number): { run: number; freedBytes: number } {
  const { store, workspace } = services
  const { db } = store
  const run = requireRun(db, id)
  if (isLive(run.status))
    throw new ApiError('conflict', `Run ${id} ("${run.name}") is ${run.status}; stop it before deleting it.`)
  const checkpoints = listRunCheckpoints(db, id).map((c) => c.path)
  const runDir = join(workspace, 'runs', String(id))
  // A run that may still train needs its starting checkpoint (the KL reference) when it resumes.
  const dependent = (
    db
      .prepare(
        `SELECT id, json_extract(environment, '$.start_checkpoint') AS start FROM runs
         WHERE id <> ? AND status <> 'finished' AND json_type(environment, '$.start_checkpoint') = 'text'`,
      )
      .all(id) as { id: number; start: string }[]
  ).find((other) => checkpoints.includes(other.start) || isWithin(runDir, other.start))
  if (dependent) {
    throw new ApiError(
      'conflict',
      `Run ${dependent.id} started from a checkpoint of run ${id} and may still resume from it; delete run ${dependent.id} first.`,
    )
  }
  // Only folders inside the workspace are deleted: an imported run's checkpoints may be the importer's own files.
  const folders = runFolders(workspace, id, checkpoints).filter((folder) => isWithin(workspace, folder))
  const freedBytes = folders.reduce((sum, folder) => sum + diskBytes(folder), 0)
  db.prepare('DELETE FROM runs WHERE id = ?').run(id)
  for (const folder of folders) rmSync(folder, { recursive: true, force: true })
  return { run: id, freedBytes }
}

function prune(services: RunServices, id: number, keep: number): { removed: number[]; freedBytes: number } {
  const { db } = services.store
  const run = requireRun(db, id)
  if (run.origin !== 'local') {
    throw new ApiError(
      'conflict',
      `Run ${id} was imported (${run.origin}); its checkpoints are the importer's files and are not pruned here.`,
    )
  }
  refreshBestTags(db, id)
  return pruneCheckpoints(db, id, keep)
}

function disk(services: RunServices): { run: number; bytes: number }[] {
  const { db } = services.store
  const paths = new Map<number, string[]>()
  for (const row of db.prepare('SELECT run_id AS run, path FROM checkpoints').all() as { run: number; path: string }[]) {
    paths.set(row.run, [...(paths.get(row.run) ?? []), row.path])
  }
  return (db.prepare('SELECT id FROM runs ORDER BY id DESC').all() as { id: number }[]).map(({ id }) => ({
    run: id,
    bytes: runFolders(services.workspace, id, paths.get(id) ?? []).reduce((sum, folder) => sum + diskBytes(folder), 0),
  }))
}

export function runHandlers(services: RunServices): RunHandlers {
  const { store, scheduler } = services
  const { db } = store
  return {
    'runs.list': () => store.listRuns(),
    'runs.get': ({ run }) => runDetail(services, run),
    'runs.log': ({ run, afterId, limit }) => {
      requireRun(db, run)
      return runEvents(db, run, { afterId, limit: limit ?? 1000 }).map((e) => ({
        id: e.id,
        time: e.time,
        level: e.level,
        kind: e.kind,
        step: e.step,
        message: e.message,
        data: e.data,
      }))
    },
    'runs.form': () => ({
      schema: runConfigJsonSchema() as Record<string, unknown>,
      defaults: Object.fromEntries(REWARD_MODES.map((mode) => [mode, defaultRunConfig(mode)])),
      presets: PRESETS,
      datasets: store.listDatasets().map((dataset) => dataset.name),
      auditSplits: Object.fromEntries(
        (
          db.prepare('SELECT name, audit_split AS split FROM datasets WHERE audit_split IS NOT NULL').all() as {
            name: string
            split: string
          }[]
        ).map((row) => [row.name, row.split]),
      ),
    }),
    'runs.validate': ({ config }) => validateWithCheckpoint(db, config),
    'runs.launch': ({ configs }) => launch(services, configs),
    'runs.queue': () => ({
      slots: scheduler.slots,
      running: activeRuns(db).map((run) => run.id),
      queued: queuedRuns(db),
    }),
    'runs.stop': ({ run }) => stop(services, run),
    'runs.resume': ({ run }) => resume(services, run),
    'runs.kill': ({ run }) => kill(services, run),
    'runs.update': (params) => update(db, params),
    'runs.delete': ({ run }) => remove(services, run),
    'runs.prune': ({ run, keep }) => prune(services, run, keep),
    'runs.disk': () => disk(services),
  }
}
