// The reward-mode registry: adding a mode is one module plus one line here.
import { coRewardingIMode } from './co_rewarding_i'
import { coRewardingIIMode } from './co_rewarding_ii'
import { entropyMode } from './entropy'
import { groundTruthMode } from './ground_truth'
import { majorityVotingMode } from './majority_voting'
import { selfCertaintyMode } from './self_certainty'
import type { GroupScore, QuestionGroup, RewardMode, ScoreOptions } from './types'

export const REWARD_MODES = {
  ground_truth: groundTruthMode,
  majority_voting: majorityVotingMode,
  self_certainty: selfCertaintyMode,
  entropy: entropyMode,
  co_rewarding_i: coRewardingIMode,
  co_rewarding_ii: coRewardingIIMode,
} satisfies Record<string, RewardMode>

export type RewardModeId = keyof typeof REWARD_MODES
export const REWARD_MODE_IDS = Object.keys(REWARD_MODES) as RewardModeId[]

export function isRewardModeId(id: string): id is RewardModeId {
  return Object.hasOwn(REWARD_MODES, id)
}

/** Scores a step's groups with a mode, after checking each brings the views the mode needs. */
export function scoreStep(mode: RewardMode, groups: readonly QuestionGroup[], options: ScoreOptions = {}): GroupScore[] {
  groups.forEach((group, index) => {
    for (const view of mode.extraViews)
      if (!group.views[view])
        throw new Error(`${mode.id} needs the ${view} rollouts of every question; question ${index + 1} of the step has none`)
  })
  // Only modes that declare it see ground truths, so labels cannot leak into a self-reward.
  const visible = mode.usesGroundTruth ? groups : groups.map(({ views }) => ({ views }))
  return mode.score(visible, options)
}
