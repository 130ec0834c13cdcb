// Bringing runs trained elsewhere into the store, beside local ones: verl console logs, verl rollout dump folders
// and TRL trainer_state.json files. A run remembers each source (path, format, and for a log how far it was read),
// so importing the same path again appends what was written since; `run` adds a source to an existing run (a
// cluster run's log and dumps become one run). A later line for a stored step replaces it: verl repeats steps
// after a resume.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import type { RUN_LOG_FORMATS } from '../../../preload/contract'
import type { Db } from '../../store/database'
import { createRun, getRun, updateRun } from '../../store/runs'
import type { RewardMode, Run, RunOrigin } from '../../store/runs'
import { metricKeys } from '../../store/metrics'
import { clearLoggedMetrics, clockBefore, importedRunsMentioning, storedSteps } from '../../store/run-imports'
import { writeTransaction } from '../../store/sql'
import { recordStep } from '../../store/steps'
import { parseConsoleText } from './verl-console'
import { dumpFiles, readDumpStep } from './verl-rollouts'
import { parseTrainerState } from './trl'

export type LogFormat = (typeof RUN_LOG_FORMATS)[number]

export interface LogSource {
  path: string
  format: LogFormat
  /** verl-console: bytes of complete lines read so far. */
  offset?: number
}

export interface ImportLogOptions {
  path: string
  format?: LogFormat | 'auto'
  /** Name of a new run (default: the file or folder name). */
  name?: string
  /** Add the source to this existing run. */
  run?: number
  /** Reward mode of a new run; by default read from the metric keys (see inferMode). */
  mode?: RewardMode
  /**
   * Accept a source with no steps yet (a log that is being followed may not have printed one); otherwise a source
   * that yields no step is refused, so a wrong file does not become an empty run.
   */
  allowEmpty?: boolean
}

export interface ImportLogResult {
  run: number
  /** Distinct steps the run has stored. */
  steps: number
  /** Distinct metric keys the run has. */
  metrics: number
  /** Steps this call added (not stored before). */
  newSteps: number
  /** Whether the run was created by this call. */
  created: boolean
  /** Steps read by this call (new or replacing stored ones). */
  readSteps: number
}

/** What a path holds: a folder of `<step>.jsonl` dumps, a TRL state file, or a console log. */
export function detectLogFormat(path: string): LogFormat {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder; check the path.`)
  if (statSync(path).isDirectory()) {
    if (dumpFiles(path).length > 0) return 'verl-rollouts'
    throw new Error(
      `${path}: a folder without <step>.jsonl rollout dumps; give a verl console log, a dump folder or a trainer_state.json.`,
    )
  }
  if (basename(path) === 'trainer_state.json') return 'trl'
  const head = readHead(path, 4096)
  if (/^\s*\{/.test(head) && head.includes('"log_history"')) return 'trl'
  return 'verl-console'
}

function readHead(path: string, bytes: number): string {
  const fd = openSync(path, 'r')
  try {
    const buffer = Buffer.alloc(bytes)
    const read = readSync(fd, buffer, 0, bytes, 0)
    return buffer.subarray(0, read).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/** The reward mode a run's keys point to: Co-I logs the paraphrase view, Co-II the teacher, MV pseudo labels. */
export function inferMode(keys: Iterable<string>): RewardMode {
  const all = [...keys]
  if (all.some((k) => k.startsWith('critic/score_aug') || k.includes('_aug'))) return 'co_rewarding_i'
  if (all.some((k) => k.includes('teacher') || k === 'timing_s/gen_ref')) return 'co_rewarding_ii'
  if (all.some((k) => k.startsWith('coreward/'))) return 'majority_voting'
  return 'ground_truth'
}

const sourcesOf = (run: Run): LogSource[] =>
  Array.isArray(run.environment.sources) ? (run.environment.sources as LogSource[]) : []

function findRunBySource(db: Db, path: string): Run | undefined {
  return importedRunsMentioning(db, path)
    .map((id) => getRun(db, id)!)
    .find((run) => sourcesOf(run).some((source) => source.path === path))
}

interface ParsedStep {
  step: number
  metrics: Record<string, number>
  tokens?: number
  samples?: ReturnType<typeof readDumpStep>['samples']
}

/** Reads what is new in a source: its steps, and the source's state after reading. */
function readSource(source: LogSource): { steps: ParsedStep[]; source: LogSource } {
  if (source.format === 'verl-console') {
    const size = statSync(source.path).size
    const from = source.offset !== undefined && source.offset <= size ? source.offset : 0 // a shorter file was rewritten
    const fd = openSync(source.path, 'r')
    let buffer: Buffer
    try {
      buffer = Buffer.alloc(size - from)
      readSync(fd, buffer, 0, buffer.length, from)
    } finally {
      closeSync(fd)
    }
    const lastNewline = buffer.lastIndexOf(10)
    if (lastNewline === -1) return { steps: [], source: { ...source, offset: from } }
    const { steps } = parseConsoleText(buffer.subarray(0, lastNewline + 1).toString('utf8'))
    const wild = steps.find((s) => !Number.isSafeInteger(s.step))
    if (wild) {
      throw new Error(
        `${source.path}: line ${wild.line}: step ${wild.step} is out of range (steps are whole numbers below 2^53); is the log damaged?`,
      )
    }
    return { steps, source: { ...source, offset: from + lastNewline + 1 } }
  }
  if (source.format === 'trl') return { steps: parseTrainerState(readFileSync(source.path, 'utf8'), source.path), source }
  const steps = dumpFiles(source.path).map(({ step, file }) => {
    const dump = readDumpStep(step, file)
    return { step, metrics: dump.metrics, samples: dump.samples }
  })
  return { steps, source }
}

function writeSteps(db: Db, run: number, format: LogFormat, steps: ParsedStep[]): void {
  writeTransaction(db, () => {
    for (const parsed of steps) {
      if (format !== 'verl-rollouts') clearLoggedMetrics(db, run, parsed.step) // the later line for a step wins
      const before = clockBefore(db, run, parsed.step)
      const stepSeconds = parsed.metrics['timing_s/step']
      const stepTokens = parsed.metrics['perf/total_num_tokens']
      const wallTime = before.wall + (Number.isFinite(stepSeconds) && stepSeconds! > 0 ? stepSeconds! : 0)
      const tokens =
        parsed.tokens ?? before.tokens + (Number.isFinite(stepTokens) && stepTokens! > 0 ? Math.round(stepTokens!) : 0)
      recordStep(db, run, { step: parsed.step, wallTime, tokens, metrics: parsed.metrics, samples: parsed.samples })
    }
  })
}

/** Why a source gave no step, as precisely as the file allows. */
function noSteps(path: string, format: LogFormat): string {
  if (format !== 'verl-console') return `${path}: no steps found in it (format ${format}).`
  if (statSync(path).size === 0) return `${path}: the log is empty; import it once the run has logged a step (or follow it).`
  const head = readHead(path, 8192)
  // eslint-disable-next-line no-control-regex
  if (/\u0000|\ufffd/.test(head) || /[\u0001-\u0008\u000e-\u001a]/.test(head.replace(/\u001b/g, '')))
    return `${path}: a binary file, not a text log; give the verl console log (its lines read "step:N - key:value - ...").`
  return `${path}: no step lines in it (a verl console log has lines like "step:1 - critic/score/mean:0.5 - ..."); is it the right file? A log that has not reached its first step can be followed instead.`
}

export function importLog(db: Db, options: ImportLogOptions): ImportLogResult {
  const path = resolve(options.path)
  const format = !options.format || options.format === 'auto' ? detectLogFormat(path) : options.format
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder; check the path.`)
  const folder = statSync(path).isDirectory()
  if (format === 'verl-rollouts' && !folder)
    throw new Error(`${path}: verl-rollouts reads a folder of <step>.jsonl dumps, and this is a file; give the folder.`)
  if (format !== 'verl-rollouts' && folder)
    throw new Error(
      `${path}: ${format} reads a file, and this is a folder; give the ${format === 'trl' ? 'trainer_state.json' : 'log'} file.`,
    )
  let run = options.run !== undefined ? getRun(db, options.run) : findRunBySource(db, path)
  if (options.run !== undefined && !run) throw new Error(`No run ${options.run} in this workspace; \`cwb runs\` lists them.`)
  const known = run ? sourcesOf(run).find((source) => source.path === path) : undefined
  const { steps, source } = readSource(known ?? { path, format })
  if (steps.length === 0 && !known && !options.allowEmpty) throw new Error(noSteps(path, format))
  // One transaction: a step the store refuses leaves no half-imported run behind.
  const { target, created, before } = writeTransaction(db, () => {
    let target = run
    if (!target) {
      const origin: RunOrigin = format === 'trl' ? 'trl' : 'verl'
      const mode = options.mode ?? inferMode(steps.flatMap((s) => Object.keys(s.metrics)))
      const name = options.name ?? basename(path).replace(/\.(log|txt|json|jsonl)$/i, '')
      const id = createRun(db, {
        name,
        mode,
        config: { name, mode, imported: true },
        seed: 0,
        origin,
        environment: { sources: [] },
      })
      updateRun(db, id, { status: 'finished' })
      target = getRun(db, id)!
    }
    const before = storedSteps(db, target.id)
    writeSteps(db, target.id, format, steps)
    const sources = sourcesOf(target).filter((s) => s.path !== path)
    updateRun(db, target.id, { environment: { ...target.environment, sources: [...sources, source] } })
    return { target, created: !run, before }
  })
  run = target
  const after = storedSteps(db, run.id)
  return {
    run: run.id,
    steps: after.size,
    metrics: metricKeys(db, run.id).length,
    newSteps: [...after].filter((s) => !before.has(s)).length,
    created,
    readSteps: steps.length,
  }
}
