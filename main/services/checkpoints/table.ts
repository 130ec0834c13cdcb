// A run's checkpoint table: each checkpoint with the metrics at its step, its tags (the user's, plus best-gt,
// best-self and latest, computed over the validated steps and the base model), and a warning when the best by GT and
// by self-reward differ by more than the held-out accuracy's sampling error.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { CHECKPOINT_AUTO_TAGS } from '../../../preload/contract'
import type { CheckpointRow, CheckpointTable } from '../../../preload/contract'
import { TEACHER_FILE } from '../../engine/checkpoint/hf-export'
import { BEST_GT_TAG, BEST_SELF_TAG, bestStep, listRunCheckpoints, validatedSteps } from '../../store/checkpoints'
import type { Db } from '../../store/database'
import { metricsAtSteps } from '../../store/metrics'
import type { CheckpointMetrics } from '../../store/metrics'
import { getRun } from '../../store/runs'
import { ApiError } from '../dispatch'
import { diskBytes } from '../run-owner'
import { heldOutCount, rewardHackingWarning, twoProportionZ, Z_95 } from './held-out-gap'

const LATEST_TAG = 'latest'

/** Held-out questions per source at each validation, as the run's config sets them (unknown for most imports). */
function questionsPerSource(config: Record<string, unknown>): number | null {
  const validation = config.validation
  const questions = validation && typeof validation === 'object' ? (validation as Record<string, unknown>).questions : undefined
  return typeof questions === 'number' && Number.isInteger(questions) && questions > 0 ? questions : null
}

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
  const validated = validatedSteps(db, run.id)
  const bestGt = bestStep(validated.map((s) => ({ step: s.step, value: s.heldOut })))
  const bestSelf = bestStep(validated.map((s) => ({ step: s.step, value: s.selfReward })))
  const perSource = questionsPerSource(run.config)
  const counted = (step: number | null) => {
    const s = validated.find((v) => v.step === step)
    return s && perSource !== null ? heldOutCount(s.step, s.heldOut, s.sources, perSource) : undefined
  }
  const [gt, self] = bestGt !== bestSelf ? [counted(bestGt), counted(bestSelf)] : []
  const z = gt && self ? twoProportionZ(gt, self) : 0
  const rewardHacking = gt && self && z > Z_95 ? { gt, self, z, validatedSteps: validated.length } : null
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
    validatedSteps: validated.map((s) => s.step),
    questionsPerSource: perSource,
    rewardHacking,
    warning: rewardHacking && rewardHackingWarning(rewardHacking.gt, rewardHacking.self, rewardHacking.z, validated.length),
  }
}
