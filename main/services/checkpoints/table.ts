// A run's checkpoint table: each checkpoint with the metrics at its step, its tags (the user's, plus best-gt,
// best-self and latest, computed), and a warning when the best by GT and by self-reward differ.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { CHECKPOINT_AUTO_TAGS } from '../../../preload/contract'
import type { CheckpointRow, CheckpointTable } from '../../../preload/contract'
import { TEACHER_FILE } from '../../engine/checkpoint/hf-export'
import { BEST_GT_TAG, BEST_SELF_TAG, bestStep, listRunCheckpoints } from '../../store/checkpoints'
import type { Db } from '../../store/database'
import { metricsAtSteps } from '../../store/metrics'
import type { CheckpointMetrics } from '../../store/metrics'
import { getRun } from '../../store/runs'
import { ApiError } from '../dispatch'
import { diskBytes } from '../run-owner'

const LATEST_TAG = 'latest'

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
  const at = (step: number): CheckpointMetrics => metrics.get(step) ?? { heldOut: null, selfReward: null, pseudoAcc: null }
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
