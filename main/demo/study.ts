// Running a study (`cwb demo --study`): the plan's runs, a few at a time, each trained once. A study that was killed
// continues where it stopped when the same command runs again: finished runs are kept, an unfinished run resumes
// from its latest checkpoint (or trains again from the start when it has none), and what is measured is cached.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { isLiveStatus } from '../../preload/constants'
import { heldOutAccuracy, percentText } from '../services/results'
import { deleteRunWithData } from '../services/runs-service'
import { pruneCheckpoints, resumeRun, trainNewRun } from '../services/run-owner'
import type { OwnerOptions, RunOutcome } from '../services/run-owner'
import { checkpointAtStep, listRunCheckpoints } from '../store/checkpoints'
import { datasetRecords, findDataset } from '../store/datasets'
import { metricSeries } from '../store/metrics'
import { getRun, markInterruptedRuns } from '../store/runs'
import type { Run } from '../store/runs'
import type { Store } from '../store/store'
import { processAlive } from '../store/workspace'
import { packageRoot } from '../package-root'
import type { RunConfig } from '../engine/run-config'
import { sampledAccuracy } from './study-eval'
import type { SampledAccuracy } from './study-eval'
import { evaluationKey, jobConfig, openStudyPlan, STUDY_EVAL_SEED, studyFolder, writeJsonAtomically } from './study-plan'
import type { StudyJob, StudyOptions, StudyPlan } from './study-plan'
import { writeStudyReport } from './study-report'
import type { StudyReport } from './study-report'

/** What a study has done so far, beside its plan: its runs, the measurements made on them, and its sittings. */
export interface StudyState {
  /** The run of each job, by job key. */
  runs: Record<string, number>
  /** maj@K of each evaluated checkpoint: `start:<folder>` for the base model, `run<id>:step<n>` for the others. */
  evaluations: Record<string, SampledAccuracy>
  /** Each time the command ran: when, for how long, on which commit. */
  sittings: { startedAt: string; seconds: number; commit: string | null }[]
}

export interface StudyHost {
  store: Store
  workspace: string
  parallel: number
  progress: (message: string) => void
  /** True asks the running trainers to stop after their step (with a checkpoint); the study then stops too. */
  shouldStop?: () => boolean
}

export interface StudyOutcome {
  plan: StudyPlan
  state: StudyState
  report: StudyReport
  /** Whether every job not skipped has finished. */
  complete: boolean
  /** Jobs not run: the schema refuses their config (an ablation key this code lacks). */
  skipped: { key: string; reason: string }[]
  /** Jobs whose run failed or stopped this time. */
  unfinished: { key: string; run: number | null; status: string; error?: string }[]
  /** Runs trained (or resumed) this time, and runs kept from before. */
  trained: string[]
  reused: string[]
}

const STATE_FILE = 'state.json'
const LOCK_FILE = 'study.lock'

export function gitCommit(): string | null {
  const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: packageRoot(), encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim() : null
}

function readState(folder: string): StudyState {
  const file = join(folder, STATE_FILE)
  if (!existsSync(file)) return { runs: {}, evaluations: {}, sittings: [] }
  return JSON.parse(readFileSync(file, 'utf8')) as StudyState
}

/** One command at a time per study: a second is refused while the first one's process lives. */
function takeLock(folder: string, id: string): () => void {
  const file = join(folder, LOCK_FILE)
  if (existsSync(file)) {
    const [pid, host] = readFileSync(file, 'utf8').trim().split(' ')
    if (Number(pid) !== process.pid && host === hostname() && processAlive(Number(pid))) {
      throw new Error(
        `Study ${id} is running in process ${pid}; wait for it to end, or stop it (Ctrl-C there) and run this again`,
      )
    }
  }
  writeFileSync(file, `${process.pid} ${hostname()}\n`)
  return () => rmSync(file, { force: true })
}

/** Waits (up to 20 s) for a run whose owner was killed to be marked interrupted: its trainer exits once it sees. */
async function settledRun(store: Store, id: number): Promise<Run> {
  for (let waited = 0; ; waited += 500) {
    markInterruptedRuns(store.db, (pid, host) => host === hostname() && processAlive(pid))
    const run = getRun(store.db, id)!
    if (!isLiveStatus(run.status)) return run
    if (waited >= 20_000) {
      throw new Error(
        `Run ${id} ("${run.name}") of this study is ${run.status} in another process (${run.trainerPid ?? 'unknown'} on ${run.trainerHost ?? 'unknown host'}); stop it (cwb stop ${id}) and run this again`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** Runs (or continues) the study these options ask for, then writes its report. */
export async function runStudy(options: StudyOptions, host: StudyHost): Promise<StudyOutcome> {
  const { store, workspace, progress } = host
  const { db } = store
  const started = performance.now()
  const { plan, created } = openStudyPlan(workspace, options)
  const folder = studyFolder(workspace, plan.id)
  const releaseLock = takeLock(folder, plan.id)
  const state = readState(folder)
  const sitting = { startedAt: new Date().toISOString(), seconds: 0, commit: gitCommit() }
  state.sittings.push(sitting)
  const save = (): void => {
    sitting.seconds = (performance.now() - started) / 1000
    writeJsonAtomically(join(folder, STATE_FILE), state)
  }
  save()
  // A killed sitting still counts its time, to within these 30 s.
  const clock = setInterval(save, 30_000)
  const outcome: Pick<StudyOutcome, 'skipped' | 'unfinished' | 'trained' | 'reused'> = {
    skipped: [],
    unfinished: [],
    trained: [],
    reused: [],
  }
  try {
    const jobs: { job: StudyJob; config: RunConfig }[] = []
    for (const job of plan.jobs) {
      const parsed = jobConfig(job)
      if ('problem' in parsed) {
        outcome.skipped.push({ key: job.key, reason: parsed.problem })
        progress(`Skipped ${job.key}: this version's run config does not take it (${parsed.problem})`)
      } else jobs.push({ job, config: parsed.config })
    }
    progress(
      `${created ? 'Study' : 'Continuing study'} ${plan.id} in ${folder}: ${jobs.length} runs of ${plan.options.steps} steps, ${host.parallel} at a time`,
    )
    const questions = heldOutQuestions(store, jobs[0]?.config, plan.options.questions)
    // Two workers reaching the base model at once measure it once.
    const measuring = new Map<string, Promise<SampledAccuracy>>()
    const measure = (key: string, checkpoint: string, config: RunConfig): Promise<SampledAccuracy> => {
      if (!measuring.has(key)) {
        const done = sampledAccuracy(checkpoint, questions, {
          samples: plan.options.samples,
          seed: STUDY_EVAL_SEED,
          maxNewTokens: config.max_response_tokens,
          extractor: config.extractor,
        })
        measuring.set(key, done)
      }
      return measuring.get(key)!
    }
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < jobs.length && !host.shouldStop?.()) {
        const { job, config } = jobs[next++]!
        const ended = await trainJob(job, config, host, state, save, outcome)
        if (ended === undefined) continue
        await measureRun(ended, config, state, save, measure, host)
        // Its maj@K is measured: keep the last checkpoint and the tagged best ones, as the Runs view's prune does.
        pruneCheckpoints(db, ended, 1)
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, Math.min(host.parallel, jobs.length)) }, () => worker()))
    save()
    const report = writeStudyReport(store, workspace, plan, state, outcome.skipped)
    const complete = jobs.every(({ job }) => getRun(db, state.runs[job.key] ?? -1)?.status === 'finished')
    return { plan, state, report, complete, ...outcome }
  } finally {
    clearInterval(clock)
    save()
    releaseLock()
  }
}

/** The questions the study's runs validate on, in the order the trainer takes them. */
function heldOutQuestions(store: Store, config: RunConfig | undefined, count: number): { question: string; answer: string }[] {
  if (!config) return []
  const dataset = findDataset(store.db, config.dataset)
  if (!dataset) throw new Error(`dataset: no dataset "${config.dataset}" in this workspace; \`cwb datasets\` lists them`)
  return datasetRecords(store.db, dataset.id, { split: config.validation_split, labelledOnly: true })
    .slice(0, count)
    .map((r) => ({ question: r.question, answer: r.answer! }))
}

/**
 * Trains a job's run to the end: keeps it when it has finished, resumes it from its latest checkpoint, or trains it
 * from the start. Returns the run's id once it has finished; undefined when it failed or was stopped.
 */
async function trainJob(
  job: StudyJob,
  config: RunConfig,
  host: StudyHost,
  state: StudyState,
  save: () => void,
  outcome: Pick<StudyOutcome, 'unfinished' | 'trained' | 'reused'>,
): Promise<number | undefined> {
  const { store, workspace, progress } = host
  const { db } = store
  // A run made by a study killed before it saved the run's id is found by its name, which holds the study's id.
  let run = state.runs[job.key] !== undefined ? getRun(db, state.runs[job.key]!) : getRun(db, config.name)
  if (run?.status === 'finished') {
    state.runs[job.key] = run.id
    outcome.reused.push(job.key)
    progress(`${job.key}: run ${run.id} finished before; kept`)
    return run.id
  }
  if (run && isLiveStatus(run.status)) run = await settledRun(store, run.id)
  const owner: OwnerOptions = {
    db,
    workspace,
    shouldStop: host.shouldStop,
    onProgress: (p) => {
      if (state.runs[job.key] === undefined) {
        const made = getRun(db, config.name)
        if (made) {
          state.runs[job.key] = made.id
          save()
        }
      }
      if (p.phase === 'done' && p.step % 10 === 0) progress(`${job.key}: step ${p.step}/${p.totalSteps}`)
    },
  }
  let ended: RunOutcome
  try {
    if (run && listRunCheckpoints(db, run.id).length > 0) {
      progress(`${job.key}: resuming run ${run.id} (${run.status}) from step ${listRunCheckpoints(db, run.id).at(-1)!.step}`)
      ended = await resumeRun(String(run.id), owner)
    } else {
      if (run) {
        progress(`${job.key}: run ${run.id} (${run.status}) has no checkpoint; training it again from the start`)
        deleteRunWithData({ store, workspace }, run.id)
        delete state.runs[job.key]
      }
      ended = await trainNewRun(config, owner)
    }
  } catch (error) {
    outcome.unfinished.push({ key: job.key, run: run?.id ?? null, status: 'not started', error: (error as Error).message })
    progress(`${job.key}: cannot train it: ${(error as Error).message}`)
    return undefined
  }
  state.runs[job.key] = ended.run
  save()
  outcome.trained.push(job.key)
  if (ended.status !== 'finished') {
    outcome.unfinished.push({ key: job.key, run: ended.run, status: ended.status, error: ended.error })
    progress(`${job.key}: run ${ended.run} ${ended.status}${ended.error ? `: ${ended.error}` : ''}`)
    return undefined
  }
  const accuracy = heldOutAccuracy(metricSeries(db, ended.run))
  progress(
    `${job.key}: run ${ended.run} finished; held-out ${percentText(accuracy[0]?.[1])} -> ${percentText(accuracy.at(-1)?.[1])}`,
  )
  return ended.run
}

/** maj@K (with avg@K and pass@K) at every step the run validated, from its checkpoints; cached in the state. */
async function measureRun(
  runId: number,
  config: RunConfig,
  state: StudyState,
  save: () => void,
  measure: (key: string, checkpoint: string, config: RunConfig) => Promise<SampledAccuracy>,
  host: StudyHost,
): Promise<void> {
  const { db } = host.store
  const run = getRun(db, runId)!
  for (const [step] of heldOutAccuracy(metricSeries(db, runId))) {
    const key = evaluationKey(run, step)
    if (state.evaluations[key]) continue
    const folder = step === 0 ? String(run.environment.start_checkpoint) : checkpointAtStep(db, runId, step)?.path
    if (!folder || !existsSync(folder)) continue
    if (step > 0) host.progress(`${config.name}: measuring maj@K at step ${step}`)
    state.evaluations[key] = await measure(key, folder, config)
    save()
  }
}
