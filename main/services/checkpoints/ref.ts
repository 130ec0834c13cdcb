// Naming a checkpoint in a request: by id, folder, RUN:STEP or `base`, with what the store knows of it and where
// it came from (its run's start checkpoint, the checkpoint before it).
import { existsSync } from 'node:fs'
import type { CheckpointDetail, CheckpointRef } from '../../../preload/contract'
import { shippedBaseModel } from '../../package-root'
import { checkpointAtPath, getCheckpoint, listRunCheckpoints } from '../../store/checkpoints'
import type { RunCheckpoint } from '../../store/checkpoints'
import type { Db } from '../../store/database'
import { getRun } from '../../store/runs'
import type { Run } from '../../store/runs'
import { checkpointFromStore } from '../checkpoint-spec'
import { ApiError } from '../dispatch'

/** The shipped base model, named `base` where a checkpoint is asked for. */
export const BASE_CHECKPOINT = 'base'

/** A checkpoint as named by the caller, with what the store knows of it (nothing for an external folder). */
export interface ResolvedCheckpoint {
  path: string
  checkpoint: RunCheckpoint | null
  run: Run | null
  /** How it is named in results: RUN-NAME:STEP, "base model", or the folder. */
  label: string
}

/** The stored checkpoint at a folder, with its run. */
export function storedAt(db: Db, path: string): { checkpoint: RunCheckpoint; run: Run } | undefined {
  const checkpoint = checkpointAtPath(db, path)
  return checkpoint && { checkpoint, run: getRun(db, checkpoint.runId)! }
}

/** Resolves a checkpoint id, folder, RUN:STEP or `base`; a name that finds nothing is the caller's mistake. */
export function resolveCheckpointRef(db: Db, ref: CheckpointRef, what = 'checkpoint'): ResolvedCheckpoint {
  if (typeof ref === 'number') {
    const checkpoint = getCheckpoint(db, ref)
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

/** The run's start checkpoint: its base model, and what the first checkpoint's `previous` is. */
export function startOf(run: Run | null): string | null {
  const start = run?.environment.start_checkpoint
  return typeof start === 'string' ? start : null
}

/** The checkpoint before this one in its run, or the run's start for the first. */
export function previousOf(db: Db, resolved: ResolvedCheckpoint): CheckpointDetail['previous'] {
  if (!resolved.checkpoint || !resolved.run) return null
  const before = listRunCheckpoints(db, resolved.run.id)
    .filter((c) => c.step < resolved.checkpoint!.step)
    .at(-1)
  if (before) return { id: before.id, step: before.step, path: before.path }
  const start = startOf(resolved.run)
  return start === null ? null : { id: storedAt(db, start)?.checkpoint.id ?? null, step: null, path: start }
}
