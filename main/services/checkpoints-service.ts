// The checkpoint handlers of the API contract, shared with `cwb checkpoints` and `cwb diff`: a run's checkpoints
// with the metrics at their steps and the best by held-out GT vs by self-reward; one checkpoint's config, files and
// lineage; weight statistics and deltas (computed in a worker thread); the behaviour diff of two checkpoints (or a
// checkpoint and its EMA teacher) on a probe set; and the actions: evaluate, export ONNX (checked by running it),
// export a Hugging Face folder, branch a run, delete, tag, and open an external folder.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { z } from 'zod'
import {
  CHECKPOINT_AUTO_TAGS,
  type BehaviourDiffResult,
  type CheckpointDetail,
  type CheckpointRef,
  type CheckpointRow,
  type CheckpointTable,
  type EventName,
  type EventPayload,
  type MethodName,
  type methods,
  type Result,
  type WeightDelta,
  type WeightStats,
} from '../../preload/contract'
import { diffBehaviour, summaryLine, type ProbeQuestion } from '../engine/checkpoint/diff'
import {
  CONFIG_FILE,
  listCheckpointFiles,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
  WEIGHTS_FILE,
} from '../engine/checkpoint/folder'
import { exportHfFolder, TEACHER_FILE } from '../engine/checkpoint/hf-export'
import type { ProbeEngine } from '../engine/checkpoint/probe'
import { readSafetensorsHeader } from '../engine/checkpoint/safetensors'
import type { WeightsReply, WeightsRequest } from '../engine/checkpoint/weights-worker'
import { parseModelConfig, SUPPORTED_MODEL_TYPES, weightShapes } from '../engine/model/config'
import type { LanguageModel } from '../engine/model/load'
import { defaultRunConfig } from '../engine/run-config'
import { REWARD_MODE_IDS, type RewardModeId } from '../engine/rewards'
import { packageRoot, shippedBaseModel } from '../package-root'
import { checkpointFromStore } from '../store/checkpoint-spec'
import { datasetRecords, datasetSplits, findDataset } from '../store/datasets'
import type { Db } from '../store/database'
import {
  BEST_GT_TAG,
  bestStep,
  getRun,
  HELD_OUT_KEYS_LIKE,
  listRunCheckpoints,
  BEST_SELF_TAG,
  refreshBestTags,
  tagCheckpoint,
  type Run,
  type RunCheckpoint,
} from '../store/runs'
import type { Store } from '../store/store'
import { ApiError, type Handlers } from './dispatch'
import { JobRegistry, type Job } from './jobs'
import { isWithin } from './paths'
import { createQueuedRun, diskBytes } from './run-owner'
import { validateRunConfig } from './runs-service'

export type CheckpointHandlers = Pick<
  Handlers,
  | 'checkpoints.overview'
  | 'checkpoints.get'
  | 'checkpoints.openFolder'
  | 'checkpoints.stats'
  | 'checkpoints.delta'
  | 'checkpoints.diff'
  | 'checkpoints.evaluate'
  | 'checkpoints.exportOnnx'
  | 'checkpoints.exportHf'
  | 'checkpoints.branch'
  | 'checkpoints.delete'
  | 'checkpoints.tag'
>

/** A method's params as the handler gets them (validated, defaults filled in). */
type HandlerParams<M extends MethodName> = z.output<(typeof methods)[M]['params']>

export interface CheckpointServiceContext {
  store: Store
  workspace: string
  emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void
  /** Starts queued runs now (the host's scheduler), after a branch is queued. */
  fillQueue: () => void
  /** The host's job registry, shared so `jobs.cancel` reaches these jobs too (a private one otherwise). */
  jobs?: JobRegistry
}

/** The shipped base model, named `base` where a checkpoint is asked for. */
export const BASE_CHECKPOINT = 'base'
const LATEST_TAG = 'latest'
const SELF_REWARD_KEY = 'critic/score/mean'
const PSEUDO_ACC_KEY = 'coreward/pseudo_acc'

/** A checkpoint as named by the caller, with what the store knows of it (nothing for an external folder). */
export interface ResolvedCheckpoint {
  path: string
  checkpoint: RunCheckpoint | null
  run: Run | null
  /** How it is named in results: RUN-NAME:STEP, "base model", or the folder. */
  label: string
}

function checkpointById(db: Db, id: number): RunCheckpoint | undefined {
  const row = db.prepare('SELECT run_id AS runId FROM checkpoints WHERE id = ?').get(id) as { runId: number } | undefined
  return row && listRunCheckpoints(db, row.runId).find((c) => c.id === id)
}

function storedAt(db: Db, path: string): { checkpoint: RunCheckpoint; run: Run } | undefined {
  const row = db.prepare('SELECT id, run_id AS runId FROM checkpoints WHERE path = ? ORDER BY id LIMIT 1').get(path) as
    { id: number; runId: number } | undefined
  if (!row) return undefined
  const checkpoint = listRunCheckpoints(db, row.runId).find((c) => c.id === row.id)!
  return { checkpoint, run: getRun(db, row.runId)! }
}

/** Resolves a checkpoint id, folder, RUN:STEP or `base`; a name that finds nothing is the caller's mistake. */
export function resolveCheckpointRef(db: Db, ref: CheckpointRef, what = 'checkpoint'): ResolvedCheckpoint {
  if (typeof ref === 'number') {
    const checkpoint = checkpointById(db, ref)
    if (!checkpoint) throw new ApiError('not_found', `${what}: no checkpoint with id ${ref}; checkpoints.list lists them.`)
    const run = getRun(db, checkpoint.runId)!
    if (!existsSync(checkpoint.path)) {
      throw new ApiError(
        'conflict',
        `${what}: checkpoint ${run.name}:${checkpoint.step} is recorded at ${checkpoint.path}, but that folder is gone (moved or deleted).`,
      )
    }
    return { path: checkpoint.path, checkpoint, run, label: `${run.name}:${checkpoint.step}` }
  }
  if (ref === BASE_CHECKPOINT && !existsSync(ref)) {
    const path = shippedBaseModel()
    const stored = storedAt(db, path)
    return { path, checkpoint: stored?.checkpoint ?? null, run: stored?.run ?? null, label: 'base model' }
  }
  let path: string
  try {
    path = checkpointFromStore(db, ref)
  } catch (error) {
    throw new ApiError(
      'invalid_request',
      `${what}: ${(error as Error).message} Or name "${BASE_CHECKPOINT}" for the shipped base model.`,
    )
  }
  const stored = storedAt(db, path)
  return stored
    ? { path, ...stored, label: `${stored.run.name}:${stored.checkpoint.step}` }
    : { path, checkpoint: null, run: null, label: path === shippedBaseModel() ? 'base model' : path }
}

interface StepMetrics {
  heldOut: number | null
  selfReward: number | null
  pseudoAcc: number | null
}

/** Held-out accuracy (mean over the val-core sources), self-reward and pseudo-label accuracy at each step. */
function metricsAtSteps(db: Db, run: number, steps: readonly number[]): Map<number, StepMetrics> {
  const rows = db
    .prepare(
      `SELECT step,
              AVG(CASE WHEN key LIKE '${HELD_OUT_KEYS_LIKE}' THEN value END) AS heldOut,
              MAX(CASE WHEN key = '${SELF_REWARD_KEY}' THEN value END) AS selfReward,
              MAX(CASE WHEN key = '${PSEUDO_ACC_KEY}' THEN value END) AS pseudoAcc
       FROM metrics
       WHERE run_id = ? AND step IN (SELECT value FROM json_each(?))
         AND (key LIKE '${HELD_OUT_KEYS_LIKE}' OR key IN ('${SELF_REWARD_KEY}', '${PSEUDO_ACC_KEY}'))
       GROUP BY step`,
    )
    .all(run, JSON.stringify(steps)) as ({ step: number } & StepMetrics)[]
  return new Map(rows.map(({ step, ...metrics }) => [step, metrics]))
}

export const rewardHackingWarning = (bestGt: number, bestSelf: number): string =>
  `best by GT (step ${bestGt}) and best by self-reward (step ${bestSelf}) differ: possible reward hacking`

/** A run's checkpoints with their metrics and tags (user tags plus best-gt, best-self and latest, computed). */
export function checkpointTable(db: Db, runSpec: number | string): CheckpointTable {
  const run = getRun(db, runSpec)
  if (!run) throw new ApiError('not_found', `No run "${runSpec}" in this workspace; \`cwb runs\` (runs.list) lists the runs.`)
  const checkpoints = listRunCheckpoints(db, run.id)
  const metrics = metricsAtSteps(
    db,
    run.id,
    checkpoints.map((c) => c.step),
  )
  const at = (step: number): StepMetrics => metrics.get(step) ?? { heldOut: null, selfReward: null, pseudoAcc: null }
  const bestGt = bestStep(checkpoints.map((c) => ({ step: c.step, value: at(c.step).heldOut })))
  const bestSelf = bestStep(checkpoints.map((c) => ({ step: c.step, value: at(c.step).selfReward })))
  const latest = checkpoints.at(-1)?.step
  const rows: CheckpointRow[] = checkpoints.map((c) => {
    const auto = [
      ...(c.step === bestGt ? [BEST_GT_TAG] : []),
      ...(c.step === bestSelf ? [BEST_SELF_TAG] : []),
      ...(c.step === latest ? [LATEST_TAG] : []),
    ]
    const missing = !existsSync(c.path)
    return {
      id: c.id,
      run: run.id,
      runName: run.name,
      step: c.step,
      path: c.path,
      tags: [...auto, ...c.tags.filter((tag) => !(CHECKPOINT_AUTO_TAGS as readonly string[]).includes(tag))],
      createdAt: c.createdAt,
      ...at(c.step),
      hasTeacher: !missing && existsSync(join(c.path, TEACHER_FILE)),
      missing,
      bytes: diskBytes(c.path),
    }
  })
  const start = run.environment.start_checkpoint
  return {
    run: run.id,
    runName: run.name,
    mode: run.mode,
    startCheckpoint: typeof start === 'string' ? start : null,
    checkpoints: rows,
    bestGt,
    bestSelf,
    warning: bestGt !== null && bestSelf !== null && bestGt !== bestSelf ? rewardHackingWarning(bestGt, bestSelf) : null,
  }
}

const readJsonObject = (file: string): Record<string, unknown> => {
  let value: unknown
  try {
    value = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ApiError('invalid_request', `${file} cannot be read as JSON: ${(error as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('invalid_request', `${file} holds ${JSON.stringify(value)?.slice(0, 40)}, not a JSON object.`)
  }
  return value as Record<string, unknown>
}

const supportedText = (): string => SUPPORTED_MODEL_TYPES.map((type) => `"${type}"`).join(', ')

/**
 * Checks a folder as the engine would load it, from the headers only (no weights are read): Hugging Face layout,
 * a supported model_type, a valid config, weights of the config's shapes, a tokenizer that fits the config.
 * Returns config.json, the model_type and the parameter count.
 */
export async function inspectFolder(
  dir: string,
): Promise<{ config: Record<string, unknown>; modelType: string; parameters: number }> {
  if (!existsSync(dir)) throw new ApiError('not_found', `No folder ${dir}; check the path.`)
  if (!statSync(dir).isDirectory()) throw new ApiError('invalid_request', `${dir} is a file; open a checkpoint folder.`)
  for (const file of [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE]) {
    if (!existsSync(join(dir, file))) {
      throw new ApiError(
        'invalid_request',
        `${dir} has no ${file}: a checkpoint folder in Hugging Face layout holds ${CONFIG_FILE}, ${WEIGHTS_FILE} and ${TOKENIZER_FILE}.`,
      )
    }
  }
  const raw = readJsonObject(join(dir, CONFIG_FILE))
  const modelType = raw.model_type
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ApiError(
      'invalid_request',
      typeof modelType === 'string'
        ? `${join(dir, CONFIG_FILE)} has model_type "${modelType}", which this engine does not support; supported: ${supportedText()}. Pick a checkpoint of a supported architecture.`
        : `${join(dir, CONFIG_FILE)} has no "model_type" naming the architecture; supported: ${supportedText()}.`,
    )
  }
  let config
  try {
    config = parseModelConfig(raw, join(dir, CONFIG_FILE))
  } catch (error) {
    throw new ApiError('invalid_request', (error as Error).message)
  }
  let header
  try {
    header = readSafetensorsHeader(join(dir, WEIGHTS_FILE))
  } catch (error) {
    throw new ApiError('invalid_request', (error as Error).message)
  }
  const expected = weightShapes(config)
  const shape = (dims: readonly number[]): string => `[${dims.join(', ')}]`
  const problems = [
    ...Object.keys(expected)
      .filter((name) => !header.tensors[name])
      .map((name) => `${name} is missing`),
    ...Object.keys(header.tensors)
      .filter((name) => !expected[name])
      .map((name) => `${name} is not part of the model`),
    ...Object.entries(expected)
      .filter(([name, dims]) => header.tensors[name] && shape(header.tensors[name].shape) !== shape(dims))
      .map(([name, dims]) => `${name} is ${shape(header.tensors[name]!.shape)}, the config needs ${shape(dims)}`),
  ]
  if (problems.length > 0) {
    throw new ApiError(
      'invalid_request',
      `${join(dir, WEIGHTS_FILE)} does not match ${CONFIG_FILE}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}.`,
    )
  }
  const { loadTokenizer } = await import('../engine/tokenizer/tokenizer')
  const tokenizerConfig = existsSync(join(dir, TOKENIZER_CONFIG_FILE)) ? readJsonObject(join(dir, TOKENIZER_CONFIG_FILE)) : {}
  let tokenizer
  try {
    tokenizer = loadTokenizer(readJsonObject(join(dir, TOKENIZER_FILE)), tokenizerConfig, dir)
  } catch (error) {
    throw new ApiError('invalid_request', `${join(dir, TOKENIZER_FILE)}: ${(error as Error).message}`)
  }
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new ApiError(
      'invalid_request',
      `${join(dir, TOKENIZER_FILE)} has ${tokenizer.vocabSize} tokens but ${CONFIG_FILE}'s vocab_size is ${config.vocab_size}: they belong to different models.`,
    )
  }
  const parameters = Object.values(header.tensors).reduce((sum, info) => sum + info.shape.reduce((n, d) => n * d, 1), 0)
  return { config: raw, modelType, parameters }
}

/** The run's start checkpoint: its base model, and what the first checkpoint's `previous` is. */
function startOf(run: Run | null): string | null {
  const start = run?.environment.start_checkpoint
  return typeof start === 'string' ? start : null
}

/** The checkpoint before this one in its run, or the run's start for the first. */
function previousOf(db: Db, resolved: ResolvedCheckpoint): CheckpointDetail['previous'] {
  if (!resolved.checkpoint || !resolved.run) return null
  const before = listRunCheckpoints(db, resolved.run.id)
    .filter((c) => c.step < resolved.checkpoint!.step)
    .at(-1)
  if (before) return { id: before.id, step: before.step, path: before.path }
  const start = startOf(resolved.run)
  return start === null ? null : { id: storedAt(db, start)?.checkpoint.id ?? null, step: null, path: start }
}

async function checkpointDetail(db: Db, resolved: ResolvedCheckpoint): Promise<CheckpointDetail> {
  const { config, modelType, parameters } = await inspectFolder(resolved.path)
  const { checkpoint, run } = resolved
  const row = run && checkpoint ? checkpointTable(db, run.id).checkpoints.find((c) => c.id === checkpoint.id) : undefined
  const metrics =
    run && checkpoint
      ? (db.prepare('SELECT key, value FROM metrics WHERE run_id = ? AND step = ? ORDER BY key').all(run.id, checkpoint.step) as {
          key: string
          value: number | null
        }[])
      : []
  const parentRow = run?.parentCheckpointId ? checkpointById(db, run.parentCheckpointId) : undefined
  const children = db
    .prepare(
      `SELECT id, name, status FROM runs
       WHERE (@id IS NOT NULL AND parent_checkpoint_id = @id) OR json_extract(environment, '$.start_checkpoint') = @path
       ORDER BY id`,
    )
    .all({ id: checkpoint?.id ?? null, path: resolved.path }) as CheckpointDetail['children']
  return {
    id: checkpoint?.id ?? null,
    run: run?.id ?? null,
    runName: run?.name ?? null,
    step: checkpoint?.step ?? null,
    path: resolved.path,
    tags: row?.tags ?? [],
    config,
    modelType,
    parameters,
    files: listCheckpointFiles(resolved.path),
    hasTeacher: existsSync(join(resolved.path, TEACHER_FILE)),
    metrics,
    heldOut: row?.heldOut ?? null,
    selfReward: row?.selfReward ?? null,
    pseudoAcc: row?.pseudoAcc ?? null,
    base: startOf(run),
    previous: previousOf(db, resolved),
    parent: parentRow ? { id: parentRow.id, run: parentRow.runId, step: parentRow.step } : null,
    children,
  }
}

/** The weights file of a checkpoint folder: the model's, or the EMA teacher's. */
function weightsFile(resolved: ResolvedCheckpoint, weights: 'model' | 'teacher'): string {
  const file = join(resolved.path, weights === 'teacher' ? TEACHER_FILE : WEIGHTS_FILE)
  if (!existsSync(file)) {
    throw new ApiError(
      weights === 'teacher' ? 'conflict' : 'invalid_request',
      weights === 'teacher'
        ? `${resolved.label} has no EMA teacher (${TEACHER_FILE}): only Co-rewarding-II checkpoints keep one.`
        : `${file} is missing: a checkpoint folder holds ${CONFIG_FILE}, ${WEIGHTS_FILE} and ${TOKENIZER_FILE}.`,
    )
  }
  return file
}

/**
 * Runs weight statistics and deltas in a worker thread (out/main/weights-worker.js) and remembers the last results:
 * checkpoint files do not change in place (a save replaces the folder), so size and mtime identify a version.
 */
class WeightsWorker {
  private readonly cache = new Map<string, Promise<WeightStats | WeightDelta>>()
  private static readonly KEEP = 24

  private version(file: string): string {
    const stat = statSync(file)
    return `${file}:${stat.size}:${stat.mtimeMs}:${stat.ino}`
  }

  compute(request: WeightsRequest): Promise<WeightStats | WeightDelta> {
    const key = JSON.stringify([
      request.kind,
      this.version(request.file),
      request.kind === 'delta' ? this.version(request.against) : '',
    ])
    let result = this.cache.get(key)
    if (result) {
      // Most recently used last, so the oldest is the one dropped.
      this.cache.delete(key)
      this.cache.set(key, result)
      return result
    }
    result = this.start(request)
    this.cache.set(key, result)
    result.catch(() => this.cache.delete(key))
    while (this.cache.size > WeightsWorker.KEEP) this.cache.delete(this.cache.keys().next().value!)
    return result
  }

  private start(request: WeightsRequest): Promise<WeightStats | WeightDelta> {
    const entry = join(packageRoot(), 'out', 'main', 'weights-worker.js')
    if (!existsSync(entry)) return Promise.reject(new Error(`${entry} is missing: build the workbench first (npm run build).`))
    return new Promise((resolvePromise, reject) => {
      const worker = new Worker(entry, { workerData: request })
      let replied = false
      worker.once('message', (reply: WeightsReply) => {
        replied = true
        if (reply.ok) resolvePromise(reply.result as WeightStats | WeightDelta)
        else reject(new ApiError('invalid_request', reply.error))
      })
      worker.once('error', reject)
      worker.once('exit', (code) => {
        if (!replied) reject(new Error(`The weights worker exited with code ${code} before answering.`))
      })
    })
  }
}

/** What a delta compares the checkpoint against. */
function deltaTarget(
  db: Db,
  resolved: ResolvedCheckpoint,
  against: HandlerParams<'checkpoints.delta'>['against'],
): { file: string; kind: WeightDelta['against']['kind']; path: string; label: string } {
  if (against === 'teacher') {
    return {
      file: weightsFile(resolved, 'teacher'),
      kind: 'teacher',
      path: resolved.path,
      label: `EMA teacher of ${resolved.label}`,
    }
  }
  if (against === 'base' || against === 'previous') {
    if (!resolved.run) {
      throw new ApiError(
        'invalid_request',
        `against: ${resolved.label} is no run's checkpoint, so it has no ${against === 'base' ? 'base model' : 'previous checkpoint'}; compare it against another checkpoint instead.`,
      )
    }
    const target = against === 'base' ? startOf(resolved.run) : previousOf(db, resolved)?.path
    if (!target)
      throw new ApiError(
        'conflict',
        `Run ${resolved.run.id} did not record its start checkpoint, so there is no ${against} to compare with.`,
      )
    if (!existsSync(join(target, WEIGHTS_FILE))) {
      throw new ApiError(
        'conflict',
        `The ${against} of ${resolved.label} was ${target}, and its weights are gone (moved or deleted).`,
      )
    }
    const previous = against === 'previous' ? previousOf(db, resolved) : null
    const label =
      against === 'base'
        ? `base: ${target === shippedBaseModel() ? 'the shipped base model' : target}`
        : previous?.step === null
          ? `previous: the run's start checkpoint (${target})`
          : `previous: ${resolved.run.name}:${previous?.step}`
    return { file: join(target, WEIGHTS_FILE), kind: against, path: target, label }
  }
  const other = resolveCheckpointRef(db, against, 'against')
  return { file: weightsFile(other, 'model'), kind: 'checkpoint', path: other.path, label: other.label }
}

/** Which split of a dataset to probe (or evaluate) on: asked for, the run's validation split, test, validation, all labelled. */
function probeSplit(
  datasetName: string,
  requested: string | undefined,
  runSplit: string | undefined,
  labelled: Record<string, number>,
  all: Record<string, number>,
  needLabels: boolean,
): string | null {
  const splits = (counts: Record<string, number>): string =>
    Object.entries(counts)
      .map(([split, n]) => `${split} (${n})`)
      .join(', ') || 'none'
  if (requested !== undefined) {
    if (labelled[requested] || (all[requested] && !needLabels)) return requested
    if (all[requested]) {
      throw new ApiError(
        'invalid_request',
        `split: "${requested}" of dataset "${datasetName}" has no records with an answer, and ground truth is needed here; splits with answers: ${splits(labelled)}.`,
      )
    }
    throw new ApiError(
      'invalid_request',
      `split: dataset "${datasetName}" has no split "${requested}"; its splits are ${splits(all)}.`,
    )
  }
  for (const split of [runSplit, 'test', 'validation']) if (split !== undefined && labelled[split]) return split
  if (Object.keys(labelled).length > 0) return null
  throw new ApiError(
    'invalid_request',
    `Dataset "${datasetName}" has no records with an answer (${splits(all)}); ${needLabels ? 'choose a labelled dataset' : 'name a split to probe its unlabelled questions'}.`,
  )
}

export interface ProbeSet {
  dataset: string
  split: string | null
  questions: ProbeQuestion[]
}

/**
 * The first `limit` held-out questions: of the named dataset, else of the first run given (its dataset and its
 * validation split); labelled ones first, since correctness and flips need the ground truth.
 */
export function probeSet(
  db: Db,
  options: { dataset?: string | number; split?: string; limit?: number; runs: (Run | null)[]; needLabels: boolean },
): ProbeSet {
  const run = options.runs.find((r): r is Run => r !== null && typeof r.config.dataset === 'string')
  const name = options.dataset ?? (run?.config.dataset as string | undefined)
  if (name === undefined) {
    throw new ApiError(
      'invalid_request',
      'dataset: neither checkpoint belongs to a run, so there is no run dataset to probe on; name a dataset (--dataset).',
    )
  }
  const dataset = findDataset(db, name)
  if (!dataset) {
    const names = (db.prepare('SELECT name FROM datasets ORDER BY name').all() as { name: string }[]).map((d) => d.name)
    throw new ApiError(
      'invalid_request',
      `dataset: no dataset "${name}" in this workspace; ${names.length ? `it has ${names.join(', ')}` : 'import one first'}.`,
    )
  }
  const labelled = datasetSplits(db, dataset.id, { labelledOnly: true })
  const runSplit =
    options.dataset === undefined && typeof run?.config.validation_split === 'string' ? run.config.validation_split : undefined
  const split = probeSplit(dataset.name, options.split, runSplit, labelled, datasetSplits(db, dataset.id), options.needLabels)
  const withLabels = split === null || (labelled[split] ?? 0) > 0
  const records = datasetRecords(db, dataset.id, { split: split ?? undefined, labelledOnly: withLabels }).slice(0, options.limit)
  return {
    dataset: dataset.name,
    split,
    questions: records.map((r) => ({ record: r.id, question: r.question, gt: r.answer?.trim() ? r.answer : null })),
  }
}

/** Loads a checkpoint's model, or (teacher) its EMA teacher's weights with its config and tokenizer. */
async function loadProbed(resolved: ResolvedCheckpoint, teacher: boolean): Promise<LanguageModel> {
  const { loadModel } = await import('../engine/model/load')
  try {
    if (!teacher) return loadModel(resolved.path)
    weightsFile(resolved, 'teacher')
    const student = loadModel(resolved.path, { extraTensors: [TEACHER_FILE] })
    const { Transformer } = await import('../engine/model/transformer')
    const { toFloat32 } = await import('../engine/checkpoint/safetensors')
    const arrays = Object.fromEntries(
      Object.entries(student.extraTensors[TEACHER_FILE]!).map(([name, t]) => [name, toFloat32(t)]),
    )
    student.transformer.dispose()
    return { ...student, transformer: Transformer.fromArrays(student.config, arrays), extraTensors: {} }
  } catch (error) {
    if (error instanceof ApiError) throw error
    throw new ApiError('invalid_request', (error as Error).message)
  }
}

export type DiffParams = Omit<HandlerParams<'checkpoints.diff'>, 'job'>

/** The behaviour diff, for the service and `cwb diff`: probe A, then B (or A's teacher), with the same seeds. */
export async function runBehaviourDiff(
  db: Db,
  params: DiffParams,
  options: { signal?: AbortSignal; onProgress?: (stage: string, done: number, total: number) => void } = {},
): Promise<BehaviourDiffResult> {
  const a = resolveCheckpointRef(db, params.a, 'a')
  const b = params.teacher ? a : resolveCheckpointRef(db, params.b!, 'b')
  if (params.teacher) weightsFile(a, 'teacher')
  const probe = probeSet(db, {
    dataset: params.dataset,
    split: params.split,
    limit: params.probe,
    runs: [a.run, b.run],
    needLabels: false,
  })
  if (probe.questions.length === 0)
    throw new ApiError('invalid_request', `Dataset "${probe.dataset}" has no questions to probe in that split.`)
  const { useBackend } = await import('../engine/backend')
  const { probeModel, probedModel } = await import('../engine/checkpoint/probe')
  await useBackend()
  const sides = [
    { resolved: a, teacher: false, stage: `A: ${a.label}` },
    { resolved: b, teacher: params.teacher, stage: params.teacher ? `B: the EMA teacher of ${a.label}` : `B: ${b.label}` },
  ]
  const answers = []
  for (const side of sides) {
    options.signal?.throwIfAborted()
    const model = await loadProbed(side.resolved, side.teacher)
    try {
      answers.push(
        await probeModel(probedModel(model), probe.questions, {
          samples: params.samples,
          temperature: params.temperature,
          seed: params.seed,
          maxNewTokens: params.maxNewTokens,
          engine: params.engine as ProbeEngine,
          signal: options.signal,
          onProgress: (done, total) => options.onProgress?.(side.stage, done, total),
        }),
      )
    } finally {
      model.transformer.dispose()
    }
  }
  const { rows, summary } = diffBehaviour(probe.questions, answers[0]!, answers[1]!)
  return {
    a: { path: a.path, label: a.label },
    b: { path: b.path, label: params.teacher ? `EMA teacher of ${a.label}` : b.label },
    dataset: probe.dataset,
    split: probe.split,
    rows,
    summary: { ...summary, line: summaryLine(summary) },
  }
}

async function evaluateCheckpoint(
  db: Db,
  params: Omit<HandlerParams<'checkpoints.evaluate'>, 'job'>,
  job: Job,
): Promise<Result<'checkpoints.evaluate'>> {
  const resolved = resolveCheckpointRef(db, params.checkpoint)
  const probe = probeSet(db, {
    dataset: params.dataset,
    split: params.split,
    limit: params.limit,
    runs: [resolved.run],
    needLabels: true,
  })
  const { useBackend } = await import('../engine/backend')
  const { evaluate, promptFor } = await import('../engine/evaluate')
  const { SYSTEM_PROMPT } = await import('../engine/prompt')
  await useBackend()
  const model = await loadProbed(resolved, false)
  const { samples } = params
  try {
    const context = model.config.max_position_embeddings
    const longest = Math.max(...probe.questions.map((q) => promptFor(model.tokenizer, SYSTEM_PROMPT, q.question).length))
    if (longest + params.maxNewTokens > context) {
      throw new ApiError(
        'invalid_request',
        `maxNewTokens: a question of ${longest} tokens and ${params.maxNewTokens} new tokens would pass the model's context of ${context} tokens (${resolved.path}/config.json max_position_embeddings); lower maxNewTokens.`,
      )
    }
    const result = await evaluate(
      model.transformer,
      model.tokenizer,
      probe.questions.map((q) => ({ question: q.question, answer: q.gt ?? '' })),
      {
        systemPrompt: SYSTEM_PROMPT,
        maxNewTokens: params.maxNewTokens,
        samples,
        temperature: params.temperature,
        seed: params.seed,
        onProgress: (done, total) => job.progress('evaluate', done, total),
      },
    )
    return {
      path: resolved.path,
      dataset: probe.dataset,
      split: probe.split,
      questions: result.questions,
      samples,
      pass1: result.pass1,
      avgK: result.avgK ?? null,
      passK: result.passK ?? null,
      majK: result.majK ?? null,
    }
  } finally {
    model.transformer.dispose()
  }
}

const fileName = (label: string): string => label.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'checkpoint'

/** Exports to ONNX, writes the file atomically, and checks the written bytes against the engine's logits. */
export async function exportCheckpointOnnx(
  db: Db,
  workspace: string,
  params: { checkpoint: CheckpointRef; weights?: 'model' | 'teacher'; out?: string; prompts?: number },
): Promise<Result<'checkpoints.exportOnnx'>> {
  const resolved = resolveCheckpointRef(db, params.checkpoint)
  const weights = params.weights ?? 'model'
  const name = `${fileName(resolved.run && resolved.checkpoint ? `${resolved.run.name}-step-${resolved.checkpoint.step}` : basename(resolved.path))}${weights === 'teacher' ? '-teacher' : ''}.onnx`
  let file = resolve(params.out ?? join(workspace, 'exports', name))
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, name)
  const { useBackend } = await import('../engine/backend')
  const { exportOnnx } = await import('../engine/onnx/export')
  const { checkOnnxExport } = await import('../engine/checkpoint/onnx-check')
  await useBackend()
  const model = await loadProbed(resolved, weights === 'teacher')
  try {
    const bytes = exportOnnx(model.config, model.transformer.toArrays())
    mkdirSync(dirname(file), { recursive: true })
    const temporary = `${file}.tmp-${process.pid}`
    writeFileSync(temporary, bytes)
    renameSync(temporary, file)
    // Check what is on disk, not what is in memory.
    const check = await checkOnnxExport(model.transformer, readFileSync(file), { prompts: params.prompts ?? 4 })
    return { file, bytes: bytes.length, check }
  } finally {
    model.transformer.dispose()
  }
}

/** Queues a run from a checkpoint: its run's config (or the mode's defaults), `checkpoint` set, overrides on top. */
async function branch(
  ctx: CheckpointServiceContext,
  params: HandlerParams<'checkpoints.branch'>,
): Promise<Result<'checkpoints.branch'>> {
  const { db } = ctx.store
  const resolved = resolveCheckpointRef(db, params.checkpoint)
  // An external folder must be one the engine can train from (its model_type, weights and tokenizer).
  await inspectFolder(resolved.path)
  const overrides = params.config ?? {}
  const mode = (overrides.mode ?? resolved.run?.mode ?? 'co_rewarding_i') as RewardModeId
  if (!REWARD_MODE_IDS.includes(mode)) {
    throw new ApiError('invalid_request', `config.mode: ${JSON.stringify(mode)} is not one of ${REWARD_MODE_IDS.join(', ')}.`)
  }
  const base: Record<string, unknown> =
    resolved.run && resolved.run.mode === mode ? { ...resolved.run.config } : { ...defaultRunConfig(mode) }
  // Spelled by run id, so renaming the parent run later does not break the child's config.
  const checkpoint = resolved.run && resolved.checkpoint ? `${resolved.run.id}:${resolved.checkpoint.step}` : resolved.path
  const name =
    params.name ??
    (typeof overrides.name === 'string' ? overrides.name : undefined) ??
    (resolved.run && resolved.checkpoint
      ? `${resolved.run.name}-from-${resolved.checkpoint.step}`
      : `from-${basename(resolved.path)}`)
  const config = { ...base, ...overrides, name, checkpoint }
  const { config: valid, issues } = validateRunConfig(db, config)
  if (!valid) {
    const first = issues[0]!
    throw new ApiError(
      'invalid_request',
      `Nothing was branched: config.${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
      issues.map((issue) => ({ ...issue, path: `config.${issue.path}` })),
    )
  }
  const run = db.transaction(() => createQueuedRun(db, valid)).immediate()
  ctx.fillQueue()
  return { run, config: valid as unknown as Record<string, unknown> }
}

const LIVE = ['queued', 'running', 'stopping']

function deleteCheckpoint(ctx: CheckpointServiceContext, id: number, force: boolean): Result<'checkpoints.delete'> {
  const { db } = ctx.store
  const checkpoint = checkpointById(db, id)
  if (!checkpoint) throw new ApiError('not_found', `No checkpoint with id ${id}; checkpoints.list lists them.`)
  const run = getRun(db, checkpoint.runId)!
  const label = `${run.name}:${checkpoint.step}`
  const dependent = db
    .prepare(
      `SELECT id, name, status FROM runs
       WHERE status <> 'finished' AND json_extract(environment, '$.start_checkpoint') = ? ORDER BY id LIMIT 1`,
    )
    .get(checkpoint.path) as { id: number; name: string; status: string } | undefined
  if (dependent) {
    throw new ApiError(
      'conflict',
      `Checkpoint ${label} is where run ${dependent.id} ("${dependent.name}", ${dependent.status}) starts from, and it needs it to train or resume; delete or finish that run first.`,
    )
  }
  const latest = listRunCheckpoints(db, run.id).at(-1)
  if (LIVE.includes(run.status) && latest?.id === id) {
    throw new ApiError(
      'conflict',
      `Checkpoint ${label} is the latest of run ${run.id}, which is ${run.status} and would resume from it; stop the run first.`,
    )
  }
  const tags = checkpointTable(db, run.id).checkpoints.find((c) => c.id === id)?.tags ?? []
  if (tags.length > 0 && !force) {
    throw new ApiError('conflict', `Checkpoint ${label} is tagged ${tags.join(', ')}; delete it with force to confirm.`)
  }
  const removeFolder = isWithin(ctx.workspace, checkpoint.path) && existsSync(checkpoint.path)
  const freedBytes = removeFolder ? diskBytes(checkpoint.path) : 0
  db.prepare('DELETE FROM checkpoints WHERE id = ?').run(id)
  // Only folders inside the workspace are deleted: an imported run's checkpoints may be the importer's own files.
  if (removeFolder) rmSync(checkpoint.path, { recursive: true, force: true })
  refreshBestTags(db, run.id)
  return { checkpoint: id, run: run.id, step: checkpoint.step, freedBytes, removedFolder: removeFolder }
}

function tag(db: Db, id: number, add: string[], remove: string[]): Result<'checkpoints.tag'> {
  const checkpoint = checkpointById(db, id)
  if (!checkpoint) throw new ApiError('not_found', `No checkpoint with id ${id}; checkpoints.list lists them.`)
  const computed = [...add, ...remove].filter((t) => (CHECKPOINT_AUTO_TAGS as readonly string[]).includes(t))
  if (computed.length > 0) {
    throw new ApiError(
      'invalid_request',
      `${computed.map((t) => `"${t}"`).join(', ')} ${computed.length > 1 ? 'are' : 'is'} computed from the run's metrics and cannot be set by hand; choose another tag.`,
    )
  }
  tagCheckpoint(db, id, add, remove)
  return { checkpoint: id, tags: checkpointTable(db, checkpoint.runId).checkpoints.find((c) => c.id === id)!.tags }
}

export function checkpointHandlers(ctx: CheckpointServiceContext): CheckpointHandlers {
  const { db } = ctx.store
  const jobs = ctx.jobs ?? new JobRegistry((payload) => ctx.emit('job.progress', payload))
  const worker = new WeightsWorker()
  return {
    'checkpoints.overview': ({ run }) => checkpointTable(db, run),
    'checkpoints.get': ({ checkpoint }) => checkpointDetail(db, resolveCheckpointRef(db, checkpoint)),
    'checkpoints.openFolder': ({ path }) => {
      const folder = resolve(path)
      if (!existsSync(folder)) throw new ApiError('not_found', `No folder ${folder}; check the path.`)
      const stored = storedAt(db, folder)
      return checkpointDetail(db, {
        path: folder,
        checkpoint: stored?.checkpoint ?? null,
        run: stored?.run ?? null,
        label: stored ? `${stored.run.name}:${stored.checkpoint.step}` : folder,
      })
    },
    'checkpoints.stats': async ({ checkpoint, weights }) => {
      const resolved = resolveCheckpointRef(db, checkpoint)
      const file = weightsFile(resolved, weights)
      const stats = (await worker.compute({ kind: 'stats', file })) as Omit<WeightStats, 'path' | 'file'>
      return { path: resolved.path, file: basename(file), ...stats }
    },
    'checkpoints.delta': async ({ checkpoint, against }) => {
      const resolved = resolveCheckpointRef(db, checkpoint)
      const target = deltaTarget(db, resolved, against)
      const delta = (await worker.compute({ kind: 'delta', file: weightsFile(resolved, 'model'), against: target.file })) as Omit<
        WeightDelta,
        'path' | 'against'
      >
      if (delta.tensors.length === 0) {
        throw new ApiError(
          'invalid_request',
          `${resolved.label} and ${target.label} share no tensor of the same shape (${delta.mismatched.length} differ in shape, ${delta.onlyInA.length + delta.onlyInB.length} only in one): they are different architectures.`,
        )
      }
      return { path: resolved.path, against: { kind: target.kind, path: target.path, label: target.label }, ...delta }
    },
    'checkpoints.diff': ({ job, ...params }) =>
      jobs.run(job, 'diff', (running) =>
        runBehaviourDiff(db, params, {
          signal: running.signal,
          onProgress: (stage, done, total) => running.progress(stage, done, total),
        }),
      ),
    'checkpoints.evaluate': ({ job, ...params }) =>
      jobs.run(job, 'evaluate', (running) => evaluateCheckpoint(db, params, running)),
    'checkpoints.exportOnnx': (params) => exportCheckpointOnnx(db, ctx.workspace, params),
    'checkpoints.exportHf': ({ checkpoint, out, weights }) => {
      const resolved = resolveCheckpointRef(db, checkpoint)
      if (weights === 'teacher') weightsFile(resolved, 'teacher')
      const folder = resolve(out)
      try {
        return { folder, files: exportHfFolder(resolved.path, folder, weights) }
      } catch (error) {
        throw new ApiError('conflict', (error as Error).message)
      }
    },
    'checkpoints.branch': (params) => branch(ctx, params),
    'checkpoints.delete': ({ checkpoint, force }) => deleteCheckpoint(ctx, checkpoint, force),
    'checkpoints.tag': ({ checkpoint, add, remove }) => tag(db, checkpoint, add, remove),
  }
}
