// The checkpoint actions: evaluate on held-out questions, export ONNX (checked by running it) or a Hugging Face
// folder, branch a run from a checkpoint, delete and tag.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { CHECKPOINT_AUTO_TAGS, isLiveStatus } from '../../../preload/contract'
import type { CheckpointRef, CheckpointWeights, Result } from '../../../preload/contract'
import { exportedKind, exportModelFolder } from '../../engine/checkpoint/hf-export'
import type { ModelExport } from '../../engine/checkpoint/hf-export'
import { isRewardModeId, rewardModeIds } from '../../engine/rewards'
import { defaultRunConfig } from '../../engine/run-config'
import { getCheckpoint, listRunCheckpoints, refreshBestTags, removeCheckpoint, tagCheckpoint } from '../../store/checkpoints'
import type { Db } from '../../store/database'
import { getRun, unfinishedRunStartingAt } from '../../store/runs'
import { writeTransaction } from '../../store/sql'
import { ApiError } from '../dispatch'
import type { HandlerParams } from '../dispatch'
import type { Job } from '../jobs'
import { isWithin } from '../paths'
import { createQueuedRun, diskBytes } from '../run-owner'
import { validateRunConfig } from '../run-validation'
import { loadProbed, openProbed, probeSet } from './behaviour'
import { inspectFolder } from './inspect'
import { resolveCheckpointRef } from './ref'
import { checkpointTable } from './table'

export async function evaluateCheckpoint(
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
  const { useBackend } = await import('../../engine/backend')
  const { evaluate, promptFor } = await import('../../engine/evaluate')
  await useBackend()
  const model = await openProbed(resolved, false)
  const { samples } = params
  try {
    const context = model.contextTokens
    const longest = Math.max(...probe.questions.map((q) => promptFor(model.tokenizer, model.systemPrompt, q.question).length))
    if (longest + params.maxNewTokens > context) {
      throw new ApiError(
        'invalid_request',
        `maxNewTokens: a question of ${longest} tokens and ${params.maxNewTokens} new tokens would pass the model's context of ${context} tokens (${resolved.path}/config.json max_position_embeddings); lower maxNewTokens.`,
      )
    }
    const result = await evaluate(
      model.model,
      model.tokenizer,
      probe.questions.map((q) => ({ question: q.question, answer: q.gt ?? '' })),
      {
        systemPrompt: model.systemPrompt,
        stopTokenIds: model.stopTokenIds,
        padTokenId: model.padTokenId,
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
    model.dispose()
  }
}

const fileName = (label: string): string => label.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'checkpoint'

/** ONNX export is the workbench's own cwb-gpt's: the Hugging Face families are refused, saying what to do instead. */
function refuseOnnxExport(path: string): void {
  let kind: string
  try {
    kind = exportedKind(path)
  } catch {
    return // loading it says what is wrong
  }
  if (kind === 'cwb-gpt') return
  throw new ApiError(
    'invalid_request',
    `${path} is ${kind === 'lora' ? 'a LoRA adapter over a Hugging Face model' : 'a Hugging Face model'}: export-model writes ONNX for the workbench's cwb-gpt models only. ` +
      'The engine runs qwen2 / qwen3 / llama on onnxruntime by itself (--engine onnx, logprob_engine "onnx"); for a standalone ONNX file, export a Hugging Face folder ' +
      '(--format hf, adapters merged) and convert it with Hugging Face Optimum (optimum-cli export onnx --model DIR OUT).',
  )
}

/** Exports to ONNX, writes the file atomically, and checks the written bytes against the engine's logits. */
export async function exportCheckpointOnnx(
  db: Db,
  workspace: string,
  params: { checkpoint: CheckpointRef; weights?: CheckpointWeights; out?: string; prompts?: number },
): Promise<Result<'checkpoints.exportOnnx'>> {
  const resolved = resolveCheckpointRef(db, params.checkpoint)
  refuseOnnxExport(resolved.path)
  const weights = params.weights ?? 'model'
  const name = `${fileName(resolved.run && resolved.checkpoint ? `${resolved.run.name}-step-${resolved.checkpoint.step}` : basename(resolved.path))}${weights === 'teacher' ? '-teacher' : ''}.onnx`
  let file = resolve(params.out ?? join(workspace, 'exports', name))
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, name)
  const { useBackend } = await import('../../engine/backend')
  const { exportOnnx } = await import('../../engine/onnx/export')
  const { checkOnnxExport } = await import('../../engine/checkpoint/onnx-check')
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

/**
 * Queues a run from a checkpoint: its run's config (or the mode's defaults), `checkpoint` set, overrides on top;
 * `fillQueue` then starts it when a slot is free.
 */
export async function branchCheckpoint(
  db: Db,
  params: HandlerParams<'checkpoints.branch'>,
  fillQueue: () => void,
): Promise<Result<'checkpoints.branch'>> {
  const resolved = resolveCheckpointRef(db, params.checkpoint)
  // An external folder must be one the engine can train from (its model_type, weights and tokenizer).
  await inspectFolder(resolved.path)
  const overrides = params.config ?? {}
  const mode = overrides.mode ?? resolved.run?.mode ?? 'co_rewarding_i'
  if (typeof mode !== 'string' || !isRewardModeId(mode)) {
    throw new ApiError('invalid_request', `config.mode: ${JSON.stringify(mode)} is not one of ${rewardModeIds().join(', ')}.`)
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
  const run = writeTransaction(db, () => createQueuedRun(db, valid))
  fillQueue()
  return { run, config: valid as unknown as Record<string, unknown> }
}

/** Deletes a checkpoint (and its folder, when inside the workspace) unless a run still needs it or it is tagged. */
export function deleteCheckpoint(db: Db, workspace: string, id: number, force: boolean): Result<'checkpoints.delete'> {
  const checkpoint = getCheckpoint(db, id)
  if (!checkpoint) throw new ApiError('not_found', `No checkpoint with id ${id}; checkpoints.list lists them.`)
  const run = getRun(db, checkpoint.runId)!
  const label = `${run.name}:${checkpoint.step}`
  const dependent = unfinishedRunStartingAt(db, checkpoint.path)
  if (dependent) {
    throw new ApiError(
      'conflict',
      `Checkpoint ${label} is where run ${dependent.id} ("${dependent.name}", ${dependent.status}) starts from, and it needs it to train or resume; delete or finish that run first.`,
    )
  }
  const latest = listRunCheckpoints(db, run.id).at(-1)
  if (isLiveStatus(run.status) && latest?.id === id) {
    throw new ApiError(
      'conflict',
      `Checkpoint ${label} is the latest of run ${run.id}, which is ${run.status} and would resume from it; stop the run first.`,
    )
  }
  const tags = checkpointTable(db, run.id).checkpoints.find((c) => c.id === id)?.tags ?? []
  if (tags.length > 0 && !force) {
    throw new ApiError('conflict', `Checkpoint ${label} is tagged ${tags.join(', ')}; delete it with force to confirm.`)
  }
  const removeFolder = isWithin(workspace, checkpoint.path) && existsSync(checkpoint.path)
  const freedBytes = removeFolder ? diskBytes(checkpoint.path) : 0
  removeCheckpoint(db, id)
  // Only folders inside the workspace are deleted: an imported run's checkpoints may be the importer's own files.
  if (removeFolder) rmSync(checkpoint.path, { recursive: true, force: true })
  refreshBestTags(db, run.id)
  return { checkpoint: id, run: run.id, step: checkpoint.step, freedBytes, removedFolder: removeFolder }
}

/** Adds and removes the user's tags of a checkpoint; the computed tags (best-gt, best-self, latest) are refused. */
export function changeTags(db: Db, id: number, add: string[], remove: string[]): Result<'checkpoints.tag'> {
  const checkpoint = getCheckpoint(db, id)
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

/**
 * Writes a checkpoint (its model, or its EMA teacher as the model) as a plain folder: a Hugging Face folder (a LoRA
 * checkpoint's adapters merged into its base) or, with format 'peft', a LoRA checkpoint's adapter alone.
 */
export function exportHf(db: Db, params: HandlerParams<'checkpoints.exportHf'>): Result<'checkpoints.exportHf'> {
  const resolved = resolveCheckpointRef(db, params.checkpoint)
  const folder = resolve(params.out)
  let exported: ModelExport
  try {
    exported = exportModelFolder(resolved.path, folder, {
      weights: params.weights,
      format: params.format,
      base: params.base,
    })
  } catch (error) {
    const message = (error as Error).message
    // A folder in the way or a missing teacher is a conflict (as elsewhere); anything else is the request's mistake.
    throw new ApiError(
      /not an empty folder|is in the way|keep an EMA teacher/.test(message) ? 'conflict' : 'invalid_request',
      message,
    )
  }
  return { folder: exported.folder, kind: exported.kind, base: exported.base ?? null, files: exported.files }
}
