// Majority voting: each rollout is rewarded for agreeing with the vote of its own group.
import type { RewardMode } from './shared/types'
import { scoreByVote } from './shared/voting'

export const majorityVotingMode: RewardMode = {
  id: 'majority_voting',
  label: 'Majority voting',
  description: 'Each rollout is rewarded for agreeing with the majority answer of its own group (TTRL).',
  colour: '#e8590c',
  // The reference publishes no KL coefficient for the baselines: they take Co-rewarding-II's.
  klCoef: 0.001,
  binary: true,
  extraViews: [],
  needsTokenStats: false,
  usesGroundTruth: false,
  score: (groups, { voting }) => groups.map(({ views }) => ({ original: scoreByVote(views.original, views.original, voting) })),
}
