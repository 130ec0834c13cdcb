// Co-rewarding-II: the policy's rollouts are scored against the EMA teacher's vote (method doc section 8).
import { scoreAgainst, voteOf } from './majority_voting'
import type { RewardMode } from './types'

export const coRewardingIIMode: RewardMode = {
  id: 'co_rewarding_ii',
  binary: true,
  extraViews: ['teacher'],
  needsTokenStats: false,
  usesGroundTruth: false,
  score: (groups, { voting }) =>
    groups.map(({ views: { original, teacher = [] } }) => ({
      original: scoreAgainst(original, voteOf(teacher, voting), voting),
    })),
}
