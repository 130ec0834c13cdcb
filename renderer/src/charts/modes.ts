// Reward modes as the user reads them.
import type { REWARD_MODES } from '../../../preload/contract'

export type RewardMode = (typeof REWARD_MODES)[number]

export const MODE_LABELS: Record<RewardMode, string> = {
  ground_truth: 'Ground truth',
  majority_voting: 'Majority voting',
  self_certainty: 'Self-certainty',
  entropy: 'Entropy',
  co_rewarding_i: 'Co-rewarding-I',
  co_rewarding_ii: 'Co-rewarding-II',
}

export const modeLabel = (mode: string): string => MODE_LABELS[mode as RewardMode] ?? mode
