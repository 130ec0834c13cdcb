// GT reward: the reference's compute_score against each question's ground truth.
import { groundTruthReward } from '../answers/equivalence'
import { extractAnswer } from '../answers/extract'
import type { RewardMode } from './shared/types'

/** The reference's compute_score on a raw response: its last box, GT-equivalent to the ground truth. */
export function computeScore(response: string, groundTruth: string): 0 | 1 {
  return groundTruthReward(extractAnswer(response), groundTruth)
}

export const groundTruthMode: RewardMode = {
  id: 'ground_truth',
  label: 'Ground truth',
  description: 'Each rollout is rewarded for an answer equivalent to the labelled answer (the supervised upper bound).',
  colour: '#343a40',
  // The reference publishes no KL coefficient for the baselines: they take Co-rewarding-II's.
  klCoef: 0.001,
  binary: true,
  extraViews: [],
  needsTokenStats: false,
  usesGroundTruth: true,
  score: (groups) =>
    groups.map(({ views, groundTruth }, index) => {
      if (groundTruth === undefined)
        throw new Error(`ground_truth: question ${index + 1} of the step has no ground truth; give every question one`)
      return { original: { rewards: views.original.map((rollout) => groundTruthReward(rollout.answer, groundTruth)) } }
    }),
}
