// What the voting modes share (majority voting, Co-rewarding-I and II): a view's vote, and rewards against a label.
import { labelReward, majorityVote } from '../../answers/vote'
import type { Vote, VoteOptions } from '../../answers/vote'
import type { Rollout, ScoredView } from './types'

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
