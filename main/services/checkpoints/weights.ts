// Weight statistics of a checkpoint and its deltas against its base, the checkpoint before it, its EMA teacher or
// another checkpoint, computed in a worker thread so that the host stays responsive.
import { existsSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { CheckpointRef, WeightDelta, WeightStats } from '../../../preload/contract'
import { WEIGHTS_FILE } from '../../engine/checkpoint/folder'
import type { WeightsReply, WeightsRequest } from '../../engine/checkpoint/weights-worker'
import { packageRoot, shippedBaseModel } from '../../package-root'
import type { Db } from '../../store/database'
import { ApiError } from '../dispatch'
import type { HandlerParams } from '../dispatch'
import { weightsFile } from './inspect'
import { previousOf, resolveCheckpointRef, startOf } from './ref'
import type { ResolvedCheckpoint } from './ref'

/**
 * Runs weight statistics and deltas in a worker thread (out/main/weights-worker.js) and remembers the last results:
 * checkpoint files do not change in place (a save replaces the folder), so size and mtime identify a version.
 */
export class WeightsWorker {
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

/** A checkpoint's weight statistics: of its model, or of its EMA teacher. */
export async function weightStats(
  db: Db,
  worker: WeightsWorker,
  checkpoint: CheckpointRef,
  weights: HandlerParams<'checkpoints.stats'>['weights'],
): Promise<WeightStats> {
  const resolved = resolveCheckpointRef(db, checkpoint)
  const file = weightsFile(resolved, weights)
  const stats = (await worker.compute({ kind: 'stats', file })) as Omit<WeightStats, 'path' | 'file'>
  return { path: resolved.path, file: basename(file), ...stats }
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
}
