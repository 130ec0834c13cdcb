// Majority voting: each rollout is rewarded for agreeing with the vote of its own group.
import { labelReward, majorityVote, type Vote, type VoteOptions } from '../answers/vote'
import type { RewardMode, Rollout, ScoredView } from './types'

export function voteOf(rollouts: readonly Rollout[], options: VoteOptions = {}): Vote {
  return majorityVote(
    rollouts.map((rollout) => rollout.answer),
    options,
  )
}

/** Rewards rollouts that match the label of `vote` (the Co-rewarding modes take the vote from another view). */
export function scoreAgainst(rollouts: readonly Rollout[], vote: Vote, options: VoteOptions = {}): ScoredView {
  return { rewards: rollouts.map((rollout) => labelReward(rollout.answer, vote.label, options)), vote }
}

export const majorityVotingMode: RewardMode = {
  id: 'majority_voting',
  binary: true,
  extraViews: [],
  needsTokenStats: false,
  usesGroundTruth: false,
  score: (groups, { voting }) =>
    groups.map(({ views }) => ({ original: scoreAgainst(views.original, voteOf(views.original, voting), voting) })),
}
