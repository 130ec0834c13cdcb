// Probing checkpoints on held-out questions: which questions to probe (a dataset's split, or a run's), loading a
// checkpoint's model or its EMA teacher, and the behaviour diff of two checkpoints (answers, correctness, flips).
import type { BehaviourDiffResult } from '../../../preload/contract'
import { diffBehaviour, summaryLine } from '../../engine/checkpoint/diff'
import type { ProbeQuestion } from '../../engine/checkpoint/diff'
import { TEACHER_FILE } from '../../engine/checkpoint/hf-export'
import type { ProbedModel, ProbeEngine } from '../../engine/checkpoint/probe'
import type { LanguageModel } from '../../engine/model/load'
import type { Db } from '../../store/database'
import { datasetNames, datasetRecords, datasetSplits, findDataset } from '../../store/datasets'
import type { Run } from '../../store/runs'
import { ApiError } from '../dispatch'
import type { HandlerParams } from '../dispatch'
import { weightsFile } from './inspect'
import { resolveCheckpointRef } from './ref'
import type { ResolvedCheckpoint } from './ref'

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
    const names = datasetNames(db)
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
export async function loadProbed(resolved: ResolvedCheckpoint, teacher: boolean): Promise<LanguageModel> {
  const { loadModel } = await import('../../engine/model/load')
  try {
    if (!teacher) return loadModel(resolved.path)
    weightsFile(resolved, 'teacher')
    const student = loadModel(resolved.path, { extraTensors: [TEACHER_FILE] })
    const { Transformer } = await import('../../engine/model/transformer')
    const { toFloat32 } = await import('../../engine/checkpoint/safetensors')
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

/**
 * Loads a checkpoint's model to probe or evaluate it, whatever its family (cwb-gpt, a Hugging Face qwen2 / qwen3 /
 * llama folder, a LoRA checkpoint over its base), or (teacher) its EMA teacher; a folder that cannot be loaded is
 * the caller's mistake, with the engine's reason.
 */
export async function openProbed(resolved: ResolvedCheckpoint, teacher: boolean): Promise<ProbedModel> {
  if (teacher) weightsFile(resolved, 'teacher')
  const { openProbedModel } = await import('../../engine/checkpoint/probe')
  try {
    return openProbedModel(resolved.path, { teacher })
  } catch (error) {
    throw new ApiError('invalid_request', `${resolved.label}: ${(error as Error).message}`)
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
  const { useBackend } = await import('../../engine/backend')
  const { probeModel } = await import('../../engine/checkpoint/probe')
  await useBackend()
  const sides = [
    { resolved: a, teacher: false, stage: `A: ${a.label}` },
    { resolved: b, teacher: params.teacher, stage: params.teacher ? `B: the EMA teacher of ${a.label}` : `B: ${b.label}` },
  ]
  const answers = []
  for (const side of sides) {
    options.signal?.throwIfAborted()
    const model = await openProbed(side.resolved, side.teacher)
    try {
      answers.push(
        await probeModel(model, probe.questions, {
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
      model.dispose()
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
