// One checkpoint in detail (checkpoints.get, checkpoints.openFolder): its config and files as inspected, the
// metrics at its step, its tags, and its lineage.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { CheckpointDetail } from '../../../preload/contract'
import { listCheckpointFiles } from '../../engine/checkpoint/folder'
import { TEACHER_FILE } from '../../engine/checkpoint/hf-export'
import { getCheckpoint } from '../../store/checkpoints'
import type { Db } from '../../store/database'
import { metricsAtStep } from '../../store/metrics'
import { runsFromCheckpoint } from '../../store/runs'
import { ApiError } from '../dispatch'
import { inspectFolder } from './inspect'
import { previousOf, startOf, storedAt } from './ref'
import type { ResolvedCheckpoint } from './ref'
import { checkpointTable } from './table'

/** One checkpoint: its config, files, metrics and tags, and its lineage (base, previous, parent, children). */
export async function checkpointDetail(db: Db, resolved: ResolvedCheckpoint): Promise<CheckpointDetail> {
  const { config, modelType, parameters, adapter } = await inspectFolder(resolved.path)
  const { checkpoint, run } = resolved
  const row = run && checkpoint ? checkpointTable(db, run.id).checkpoints.find((c) => c.id === checkpoint.id) : undefined
  const metrics = run && checkpoint ? metricsAtStep(db, run.id, checkpoint.step) : []
  const parentRow = run?.parentCheckpointId ? getCheckpoint(db, run.parentCheckpointId) : undefined
  const children = runsFromCheckpoint(db, checkpoint?.id ?? null, resolved.path)
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
    ...(adapter && {
      adapter: {
        rank: adapter.settings.rank,
        alpha: adapter.settings.alpha,
        dropout: adapter.settings.dropout,
        targetModules: adapter.settings.targetModules,
        base: adapter.base,
        parameters: adapter.parameters,
      },
    }),
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

/** The detail of a folder that may be no stored checkpoint (an external one). */
export function folderDetail(db: Db, path: string): Promise<CheckpointDetail> {
  const folder = resolve(path)
  if (!existsSync(folder)) throw new ApiError('not_found', `No folder ${folder}; check the path.`)
  const stored = storedAt(db, folder)
  return checkpointDetail(db, {
    path: folder,
    checkpoint: stored?.checkpoint ?? null,
    run: stored?.run ?? null,
    label: stored ? `${stored.run.name}:${stored.checkpoint.step}` : folder,
  })
}
