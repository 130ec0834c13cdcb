// Co-rewarding-II: the policy's rollouts are scored against the EMA teacher's vote (method doc section 8).
import type { RewardMode } from './shared/types'
import { scoreByVote } from './shared/voting'

export const coRewardingIIMode: RewardMode = {
  id: 'co_rewarding_ii',
  label: 'Co-rewarding-II',
  description: "The policy's rollouts are scored against the vote of a slowly moving (EMA) teacher on the same question.",
  colour: '#2f9e44',
  // The reference's coefficient for Co-rewarding-II.
  klCoef: 0.001,
  binary: true,
  extraViews: ['teacher'],
  needsTokenStats: false,
  usesGroundTruth: false,
  score: (groups, { voting }) =>
    groups.map(({ views: { original, teacher = [] } }) => ({
      original: scoreByVote(original, teacher, voting),
    })),
}
