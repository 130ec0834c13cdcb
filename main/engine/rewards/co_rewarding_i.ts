// Co-rewarding-I: each view of a question is scored against the other view's vote (method doc section 7).
import { scoreAgainst, voteOf } from './majority_voting'
import type { RewardMode } from './types'

export const coRewardingIMode: RewardMode = {
  id: 'co_rewarding_i',
  binary: true,
  extraViews: ['paraphrase'],
  needsTokenStats: false,
  usesGroundTruth: false,
  score: (groups, { voting }) =>
    groups.map(({ views: { original, paraphrase = [] } }) => ({
      original: scoreAgainst(original, voteOf(paraphrase, voting), voting),
      paraphrase: scoreAgainst(paraphrase, voteOf(original, voting), voting),
    })),
}
