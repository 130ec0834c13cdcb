// The plan of a study (`cwb demo --study`): every reward mode x seeds from the shipped base model, plus the paper's
// ablations, all with the demo's default settings and validated on the test split. The plan is a file in the
// workspace whose id is a hash of what was asked, so the same command finds it again and continues it.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defaultRunConfig, parseRunConfig } from '../engine/run-config'
import type { RunConfig } from '../engine/run-config'
import { rewardMode, rewardModeIds } from '../engine/rewards'
import { shippedBaseModel } from '../package-root'
import { STUDY_DEFAULTS } from './study-defaults'

/** What a study is asked for: everything that changes its numbers (and so its id). */
export interface StudyOptions {
  modes: string[]
  seeds: number
  steps: number
  /** Seeds of each ablation (0: none). */
  ablationSeeds: number
  /** Held-out questions of the test split, validated every `every` steps and at the end. */
  questions: number
  every: number
  /** Samples per question for maj@K (and avg@K, pass@K) at temperature 1. */
  samples: number
}

/** The split every study run validates on: never used for a choice (issue 16, item 4). */
export const STUDY_SPLIT = 'test'

/** The sampling seed of the maj@K evaluations: the same questions and draws for every checkpoint. */
export const STUDY_EVAL_SEED = 0

/** A group of runs that differ only by seed: a reward mode with its defaults, or one of the paper's ablations. */
export interface StudyGroup {
  id: string
  mode: string
  label: string
  /** For an ablation: the mode it changes, and what it changes (the config keys). */
  ablation?: { of: string; change: Record<string, unknown> }
}

export interface StudyJob {
  /** `<group>/seed<k>`: the job's name in the plan and (after the study id) its run's. */
  key: string
  group: string
  mode: string
  seed: number
  /** The config as planned; a schema that does not take it yet leaves the job skipped (`configProblem`). */
  config: Record<string, unknown>
}

export interface StudyPlan {
  id: string
  createdAt: string
  options: StudyOptions
  baseModel: { path: string; sha256: string }
  groups: StudyGroup[]
  jobs: StudyJob[]
}

/** The paper's ablations (Co-rewarding, section 4.3 and appendix), each a change of one mode's config. */
function ablationsOf(mode: string): StudyGroup[] {
  const base = defaultRunConfig(mode)
  switch (mode) {
    case 'majority_voting':
      return [
        {
          id: 'majority_voting-paraphrase',
          mode,
          label: 'Majority voting on rephrased questions only',
          ablation: { of: mode, change: { question_view: 'paraphrase' } },
        },
      ]
    case 'co_rewarding_i':
      return [
        {
          id: 'co_rewarding_i-own-vote',
          mode,
          label: 'Co-rewarding-I, each view scored by its own vote',
          ablation: { of: mode, change: { cross_view: false } },
        },
      ]
    case 'co_rewarding_ii':
      return [
        {
          id: 'co_rewarding_ii-frozen-teacher',
          mode,
          label: 'Co-rewarding-II with a frozen teacher',
          ablation: { of: mode, change: { ema: { ...base.ema, enabled: false } } },
        },
      ]
    default:
      return []
  }
}

/** The groups of a study: the modes asked for, then the ablations of those modes (when ablation seeds > 0). */
export function studyGroups(options: Pick<StudyOptions, 'modes' | 'ablationSeeds'>): StudyGroup[] {
  const modes: StudyGroup[] = options.modes.map((mode) => ({ id: mode, mode, label: rewardMode(mode).label }))
  return options.ablationSeeds > 0 ? [...modes, ...options.modes.flatMap(ablationsOf)] : modes
}

/** Checkpoints every 10 steps where that lines up with validation, so a killed run loses little and maj@K finds its steps. */
const checkpointEvery = (every: number): number => (every % 10 === 0 ? 10 : every)

/** A study run's config: the mode's defaults (the demo's), with the study's steps, seed, validation and any ablation. */
export function studyRunConfig(
  id: string,
  group: StudyGroup,
  seed: number,
  options: StudyOptions,
): Record<string, unknown> & Partial<RunConfig> {
  return {
    ...defaultRunConfig(group.mode),
    name: `study-${id} ${group.id} seed${seed}`,
    seed,
    steps: options.steps,
    validation_split: STUDY_SPLIT,
    validation: { every: Math.min(options.every, options.steps), questions: options.questions },
    checkpoint_every: checkpointEvery(Math.min(options.every, options.steps)),
    ...group.ablation?.change,
  }
}

/** The run config of a job, or why this code's run config schema refuses it (an ablation key it lacks). */
export function jobConfig(job: StudyJob): { config: RunConfig } | { problem: string } {
  try {
    return { config: parseRunConfig(job.config, job.key) }
  } catch (error) {
    return { problem: (error as Error).message }
  }
}

/** The files of a model folder, hashed in name order: a new shipped base model makes a new study. */
export function folderSha256(folder: string): string {
  const hash = createHash('sha256')
  for (const name of readdirSync(folder).sort()) {
    const path = join(folder, name)
    if (!statSync(path).isFile()) continue
    hash.update(`${name}\0`)
    hash.update(readFileSync(path))
  }
  return hash.digest('hex')
}

export function studyId(options: StudyOptions, baseModelSha: string): string {
  const asked = JSON.stringify({ ...options, baseModel: baseModelSha })
  return createHash('sha256').update(asked).digest('hex').slice(0, 10)
}

export function newStudyPlan(options: StudyOptions): StudyPlan {
  for (const mode of options.modes) rewardMode(mode)
  const path = shippedBaseModel()
  const sha256 = folderSha256(path)
  const id = studyId(options, sha256)
  const groups = studyGroups(options)
  const jobs = groups.flatMap((group) =>
    Array.from({ length: group.ablation ? Math.min(options.ablationSeeds, options.seeds) : options.seeds }, (_, s) => ({
      key: `${group.id}/seed${s + 1}`,
      group: group.id,
      mode: group.mode,
      seed: s + 1,
      config: studyRunConfig(id, group, s + 1, options),
    })),
  )
  return { id, createdAt: new Date().toISOString(), options, baseModel: { path, sha256 }, groups, jobs }
}

/** The cache key of a checkpoint's maj@K: the base model once for all runs, else the run and step. */
export const evaluationKey = (run: { id: number; environment: Record<string, unknown> }, step: number): string =>
  step === 0 ? `start:${String(run.environment.start_checkpoint)}` : `run${run.id}:step${step}`

/** The command that plans (and continues) this study, with the options that differ from the defaults. */
export function studyCommand(options: StudyOptions): string {
  const parts = ['cwb demo --study', `--seeds ${options.seeds}`, `--steps ${options.steps}`]
  if (options.modes.join() !== rewardModeIds().join()) parts.push(`--modes ${options.modes.join(',')}`)
  if (options.ablationSeeds !== STUDY_DEFAULTS.ablationSeeds) parts.push(`--ablation-seeds ${options.ablationSeeds}`)
  if (options.questions !== STUDY_DEFAULTS.questions) parts.push(`--questions ${options.questions}`)
  if (options.every !== STUDY_DEFAULTS.every) parts.push(`--validate-every ${options.every}`)
  return parts.join(' ')
}

export const studyFolder = (workspace: string, id: string): string => join(workspace, 'reports', `study-${id}`)

const PLAN_FILE = 'plan.json'

/** Writes a JSON file whole or not at all (a killed study never leaves half a plan). */
export function writeJsonAtomically(file: string, value: unknown): void {
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`)
  renameSync(temporary, file)
}

/**
 * The study these options ask for in this workspace: the plan stored by an earlier run of the same command (so a
 * killed study continues with the configs it started with), else a new plan, stored now.
 */
export function openStudyPlan(workspace: string, options: StudyOptions): { plan: StudyPlan; created: boolean } {
  const fresh = newStudyPlan(options)
  const folder = studyFolder(workspace, fresh.id)
  const file = join(folder, PLAN_FILE)
  if (existsSync(file)) return { plan: JSON.parse(readFileSync(file, 'utf8')) as StudyPlan, created: false }
  mkdirSync(folder, { recursive: true })
  writeJsonAtomically(file, fresh)
  return { plan: fresh, created: true }
}

/** The modes a `--modes` list names, in the registry's order; all of them when none is given. */
export function studyModes(list: string | undefined): string[] {
  if (list === undefined) return rewardModeIds()
  const asked = list
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean)
  for (const mode of asked) rewardMode(mode)
  return rewardModeIds().filter((mode) => asked.includes(mode))
}
