// Which stored rollout groups took their pseudo label from a tie. A group's stored answers are scored again by the
// run's own reward mode, so the vote behind each view's label is the mode's (the view's own, the other view's, the
// teacher's) and the tie is the engine's, as in training.
import type { RolloutSample, VoteTie } from '../../preload/contract'
import { isRewardModeId, rewardMode, scoreStep } from '../engine/rewards'
import type { QuestionGroup, ScoreOptions } from '../engine/rewards/shared/types'

/** The ties of one stored question group; undefined where the run's mode has no vote to recount from answers. */
export function voteTies(modeId: string, samples: readonly RolloutSample[], options: ScoreOptions): VoteTie[] | undefined {
  if (!isRewardModeId(modeId)) return undefined
  const mode = rewardMode(modeId)
  if (mode.needsTokenStats || mode.usesGroundTruth) return undefined
  const views: QuestionGroup['views'] = { original: [] }
  for (const { view, text, answer } of samples) (views[view] ??= []).push({ text, answer })
  // An imported run may lack a view its mode votes on (verl dumps hold the policy's rollouts only).
  if (mode.extraViews.some((view) => !views[view])) return undefined
  const [scores] = scoreStep(mode, [{ views }], options)
  return (['original', 'paraphrase'] as const).flatMap((view) => {
    const scored = scores?.[view]
    // A stored label the recount does not reproduce is not claimed as a tie.
    const stored = samples.find((sample) => sample.view === view)?.pseudoLabel
    if (!scored?.tie || !scored.vote || stored !== scored.vote.label) return []
    return [{ view, answers: scored.tie, count: scored.vote.count, total: scored.vote.total }]
  })
}
