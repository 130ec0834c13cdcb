// The run handlers of the API contract: the run list and the live panel, the launch form (schema, defaults,
// presets, validation), the queue (launch, stop, resume, kill) and housekeeping (rename, notes, tags, delete,
// checkpoint retention, disk usage).
import { rmSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { isLiveStatus } from '../../preload/contract'
import type { ConfigPreset, FieldIssue, MemoryPlan, RunDetail, RunSummary } from '../../preload/contract'
import { rewardModeIds } from '../engine/rewards'
import { defaultRunConfig, runConfigJsonSchema } from '../engine/run-config'
import { shippedBaseModel } from '../package-root'
import { checkpointFolders, listRunCheckpoints, refreshBestTags } from '../store/checkpoints'
import type { Db } from '../store/database'
import { auditSplits } from '../store/datasets'
import { addEvent, runEvents } from '../store/events'
import { lastStep, latestMetrics, medianStepSeconds, metricToJson, tokensPerSecond } from '../store/metrics'
import {
  activeRuns,
  deleteRun,
  getRun,
  queuedRuns,
  requestStop,
  runIds,
  runSummaries,
  setConfigName,
  unfinishedRunStarts,
  updateRun,
} from '../store/runs'
import type { Run } from '../store/runs'
import { writeTransaction } from '../store/sql'
import type { Store } from '../store/store'
import { checkpointFromStore } from './checkpoint-spec'
import { ApiError } from './dispatch'
import type { Handlers } from './dispatch'
import { isWithin } from './paths'
import { createQueuedRun, diskBytes, pruneCheckpoints } from './run-owner'
import { runPlan } from './run-plan'
import { validateRunConfig, validateWithCheckpoint } from './run-validation'
import type { RunScheduler } from './scheduler'

export type RunHandlers = Pick<
  Handlers,
  | 'runs.list'
  | 'runs.get'
  | 'runs.log'
  | 'runs.form'
  | 'runs.validate'
  | 'runs.plan'
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
    configs: rewardModeIds().map((mode) => ({ name: `demo-${mode}`, mode, steps: 60 })),
  },
  {
    id: 'smoke-test',
    label: 'quick smoke test',
    description: 'One tiny {mode} run (4 steps, 2 questions x 4 rollouts) that checks the whole loop in seconds.',
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
 * The memory plan of a config (the launch form's panel, as the user edits): from its starting checkpoint (the shipped
 * base model by default) on the backend the trainer will use. An invalid config, or a checkpoint that cannot be
 * read, gives field issues and no plan.
 */
async function plan(db: Db, raw: unknown): Promise<{ plan: MemoryPlan | null; issues: FieldIssue[] }> {
  const { config, issues } = validateRunConfig(db, raw)
  if (!config) return { plan: null, issues }
  try {
    const found = await runPlan(config.checkpoint ? checkpointFromStore(db, config.checkpoint) : shippedBaseModel(), config)
    // JSON has no Infinity: a backend that reports no limit (a GPU that says nothing) answers null.
    return { plan: { ...found, limit: Number.isFinite(found.limit) ? found.limit : null }, issues: [] }
  } catch (error) {
    return { plan: null, issues: [{ path: 'checkpoint', message: (error as Error).message }] }
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
  const runs = writeTransaction(db, () => checked.map((result) => createQueuedRun(db, result.config!)))
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
  if (isLiveStatus(run.status))
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
  writeTransaction(db, () => {
    updateRun(db, params.run, {
      name: params.name,
      notes: params.notes,
      tags: params.tags && [...new Set(params.tags)],
    })
    // The name lives in the config too (configs are what the launch form duplicates and the diff compares).
    if (params.name !== undefined) setConfigName(db, params.run, params.name.trim())
  })
  return summary(db, params.run)
}

/**
 * Deletes a run that is not live, with its metrics, samples, events and checkpoints, and its folders inside the
 * workspace: the app's and `cwb serve`'s runs.delete, and `cwb runs delete`.
 */
export function deleteRunWithData(
  services: Pick<RunServices, 'store' | 'workspace'>,
  id: number,
): { run: number; freedBytes: number } {
  const { store, workspace } = services
  const { db } = store
  const run = requireRun(db, id)
  if (isLiveStatus(run.status))
    throw new ApiError('conflict', `Run ${id} ("${run.name}") is ${run.status}; stop it before deleting it.`)
  const checkpoints = listRunCheckpoints(db, id).map((c) => c.path)
  const runDir = join(workspace, 'runs', String(id))
  // A run that may still train needs its starting checkpoint (the KL reference) when it resumes.
  const dependent = unfinishedRunStarts(db, id).find(
    (other) => checkpoints.includes(other.start) || isWithin(runDir, other.start),
  )
  if (dependent) {
    throw new ApiError(
      'conflict',
      `Run ${dependent.id} started from a checkpoint of run ${id} and may still resume from it; delete run ${dependent.id} first.`,
    )
  }
  // Only folders inside the workspace are deleted: an imported run's checkpoints may be the importer's own files.
  const folders = runFolders(workspace, id, checkpoints).filter((folder) => isWithin(workspace, folder))
  const freedBytes = folders.reduce((sum, folder) => sum + diskBytes(folder), 0)
  deleteRun(db, id)
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
  const paths = checkpointFolders(db)
  return runIds(db).map((id) => ({
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
      defaults: Object.fromEntries(rewardModeIds().map((mode) => [mode, defaultRunConfig(mode)])),
      presets: PRESETS,
      datasets: store.listDatasets().map((dataset) => dataset.name),
      auditSplits: auditSplits(db),
    }),
    'runs.validate': ({ config }) => validateWithCheckpoint(db, config),
    'runs.plan': ({ config }) => plan(db, config),
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
    'runs.delete': ({ run }) => deleteRunWithData(services, run),
    'runs.prune': ({ run, keep }) => prune(services, run, keep),
    'runs.disk': () => disk(services),
  }
}
