// Weight statistics of a checkpoint and its deltas against its base, the checkpoint before it, its EMA teacher or
// another checkpoint, computed in a worker thread so that the host stays responsive.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { CheckpointRef, CheckpointWeights, WeightDelta, WeightStats } from '../../../preload/contract'
import { ADAPTER_WEIGHTS_FILE, adapterBase, isAdapterFolder, readAdapterConfig } from '../../engine/checkpoint/adapter'
import { CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE } from '../../engine/checkpoint/folder'
import { TEACHER_FILE } from '../../engine/checkpoint/hf-export'
import { INDEX_FILE, readShardIndex } from '../../engine/checkpoint/hf-weights'
import { readSafetensorsHeader } from '../../engine/checkpoint/safetensors'
import type { WeightSource } from '../../engine/checkpoint/stats'
import type { WeightsReply, WeightsRequest } from '../../engine/checkpoint/weights-worker'
import { packageRoot, shippedBaseModel } from '../../package-root'
import type { Db } from '../../store/database'
import { ApiError } from '../dispatch'
import type { HandlerParams } from '../dispatch'
import { previousOf, resolveCheckpointRef, startOf } from './ref'
import type { ResolvedCheckpoint } from './ref'

/**
 * Runs weight statistics and deltas in a worker thread (out/main/weights-worker.js) and remembers the last results:
 * checkpoint files do not change in place (a save replaces the folder), so size and mtime identify a version.
 */
export class WeightsWorker {
  private readonly cache = new Map<string, Promise<WeightStats | WeightDelta>>()
  private static readonly KEEP = 24

  private version(source: WeightSource): string {
    return sourceFiles(source)
      .map((file) => {
        const stat = statSync(file)
        return `${file}:${stat.size}:${stat.mtimeMs}:${stat.ino}`
      })
      .join('|')
  }

  compute(request: WeightsRequest): Promise<WeightStats | WeightDelta> {
    const key = JSON.stringify([
      request.kind,
      request.source,
      this.version(request.source),
      request.kind === 'delta' ? [request.against, this.version(request.against)] : '',
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

/** The files a source reads (what identifies its version). */
function sourceFiles(source: WeightSource): string[] {
  if (source.kind === 'file') return [source.file]
  const folderFiles = (dir: string): string[] =>
    existsSync(join(dir, INDEX_FILE))
      ? [join(dir, INDEX_FILE), ...new Set(readShardIndex(dir).values())].filter((file) => existsSync(file))
      : [join(dir, WEIGHTS_FILE)]
  return source.kind === 'folder' ? folderFiles(source.dir) : [source.file, ...folderFiles(source.base)]
}

/**
 * Where a checkpoint folder's weights are: a model folder's (one model.safetensors or shards), a LoRA checkpoint's
 * adapter over its base, or the EMA teacher's file (for a LoRA checkpoint, the teacher's adapter over the same base).
 */
export function weightSource(path: string, label: string, weights: CheckpointWeights): WeightSource {
  const teacher = join(path, TEACHER_FILE)
  if (weights === 'teacher' && !existsSync(teacher)) {
    throw new ApiError('conflict', `${label} has no EMA teacher (${TEACHER_FILE}): only Co-rewarding-II checkpoints keep one.`)
  }
  if (isAdapterFolder(path)) {
    let source: WeightSource
    try {
      const { settings } = readAdapterConfig(path)
      source = {
        kind: 'adapter',
        file: weights === 'teacher' ? teacher : join(path, ADAPTER_WEIGHTS_FILE),
        base: adapterBase(path),
        rank: settings.rank,
        alpha: settings.alpha,
      }
    } catch (error) {
      throw new ApiError('invalid_request', `${label}: ${(error as Error).message}`)
    }
    if (!existsSync(source.file))
      throw new ApiError('invalid_request', `${source.file} is missing: a LoRA checkpoint holds ${ADAPTER_WEIGHTS_FILE}.`)
    return source
  }
  if (weights === 'teacher') return { kind: 'file', file: teacher }
  if (!existsSync(join(path, WEIGHTS_FILE)) && !existsSync(join(path, INDEX_FILE))) {
    throw new ApiError(
      'invalid_request',
      `${path} has no weights (neither ${WEIGHTS_FILE} nor ${INDEX_FILE}): a checkpoint folder holds ${CONFIG_FILE}, its weights and ${TOKENIZER_FILE}, or a LoRA adapter.`,
    )
  }
  return { kind: 'folder', dir: path }
}

const tensorShapes = (file: string): string =>
  JSON.stringify(
    Object.entries(readSafetensorsHeader(file).tensors)
      .map(([name, info]) => [name, info.shape])
      .sort(([a], [b]) => (a! < b! ? -1 : 1)),
  )

/**
 * What two sources are compared as: two LoRA adapters over the same base with the same tensors compare their
 * adapter tensors (A and B); otherwise an adapter counts as its base with its update merged in (so a LoRA checkpoint
 * against its base gives the merged delta, scale·B·A, per adapted weight).
 */
function comparable(a: WeightSource, b: WeightSource): [WeightSource, WeightSource] {
  if (a.kind === 'adapter' && b.kind === 'adapter' && a.base === b.base && tensorShapes(a.file) === tensorShapes(b.file))
    return [
      { kind: 'file', file: a.file },
      { kind: 'file', file: b.file },
    ]
  return [a, b]
}

/** What a delta compares the checkpoint against. */
function deltaTarget(
  db: Db,
  resolved: ResolvedCheckpoint,
  against: HandlerParams<'checkpoints.delta'>['against'],
): { source: WeightSource; kind: WeightDelta['against']['kind']; path: string; label: string } {
  if (against === 'teacher') {
    return {
      source: weightSource(resolved.path, resolved.label, 'teacher'),
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
    if (!existsSync(target)) {
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
    let source: WeightSource
    try {
      source = weightSource(target, target, 'model')
    } catch (error) {
      throw new ApiError('conflict', `The ${against} of ${resolved.label} was ${target}: ${(error as ApiError).message}`)
    }
    return { source, kind: against, path: target, label }
  }
  const other = resolveCheckpointRef(db, against, 'against')
  return { source: weightSource(other.path, other.label, 'model'), kind: 'checkpoint', path: other.path, label: other.label }
}

/** A checkpoint's weight statistics: of its model (a LoRA checkpoint's adapter, with adapter statistics), or of its EMA teacher. */
export async function weightStats(
  db: Db,
  worker: WeightsWorker,
  checkpoint: CheckpointRef,
  weights: HandlerParams<'checkpoints.stats'>['weights'],
): Promise<WeightStats> {
  const resolved = resolveCheckpointRef(db, checkpoint)
  const source = weightSource(resolved.path, resolved.label, weights)
  const stats = (await worker.compute({ kind: 'stats', source })) as Omit<WeightStats, 'path' | 'file'>
  const file =
    source.kind === 'folder' ? (existsSync(join(source.dir, INDEX_FILE)) ? INDEX_FILE : WEIGHTS_FILE) : basename(source.file)
  return { path: resolved.path, file, ...stats }
}

/** How a checkpoint's weights moved from what `against` names; refused when the two share no tensor. */
export async function weightDelta(
  db: Db,
  worker: WeightsWorker,
  checkpoint: CheckpointRef,
  against: HandlerParams<'checkpoints.delta'>['against'],
): Promise<WeightDelta> {
  const resolved = resolveCheckpointRef(db, checkpoint)
  const target = deltaTarget(db, resolved, against)
  const own = weightSource(resolved.path, resolved.label, 'model')
  const [typeA, typeB] = [modelTypeOf(own), modelTypeOf(target.source)]
  if (typeA && typeB && typeA !== typeB) {
    throw new ApiError(
      'invalid_request',
      `${resolved.label} is a ${typeA} model and ${target.label} a ${typeB} model: weight deltas compare checkpoints of one architecture; pick a checkpoint of the same model_type.`,
    )
  }
  const [source, reference] = comparable(own, target.source)
  const delta = (await worker.compute({ kind: 'delta', source, against: reference })) as Omit<WeightDelta, 'path' | 'against'>
  if (delta.tensors.length === 0) {
    throw new ApiError(
      'invalid_request',
      `${resolved.label} (${describeSource(source)}) and ${target.label} (${describeSource(reference)}) share no tensor of the same shape (${delta.mismatched.length} differ in shape, ${delta.onlyInA.length + delta.onlyInB.length} only in one): they are different architectures.`,
    )
  }
  return { path: resolved.path, against: { kind: target.kind, path: target.path, label: target.label }, ...delta }
}

/** config.json's model_type of a folder (of the base, for an adapter); undefined for a lone file or none. */
function modelTypeOf(source: WeightSource): string | undefined {
  if (source.kind === 'file') return undefined
  try {
    const dir = source.kind === 'folder' ? source.dir : source.base
    const type = (JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as { model_type?: unknown }).model_type
    return typeof type === 'string' ? type : undefined
  } catch {
    return undefined
  }
}

/** A source in words, for refusals: its model_type, or a LoRA adapter over its base. */
function describeSource(source: WeightSource): string {
  const type = modelTypeOf(source)
  const model = type ? `model_type ${type}` : 'no model_type'
  if (source.kind === 'folder') return model
  if (source.kind === 'adapter') return `LoRA adapter over ${source.base}, ${model}`
  return basename(source.file)
}
