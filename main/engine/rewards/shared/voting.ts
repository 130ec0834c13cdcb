// What the voting modes share (majority voting, Co-rewarding-I and II): a view's vote, and rewards against a vote.
import { labelReward, majorityVote, tallyVote } from '../../answers/vote'
import type { Vote, VoteOptions } from '../../answers/vote'
import type { Rollout, ScoredView } from './types'

const answersOf = (rollouts: readonly Rollout[]): (string | null)[] => rollouts.map((rollout) => rollout.answer)

export function voteOf(rollouts: readonly Rollout[], options: VoteOptions = {}): Vote {
  return majorityVote(answersOf(rollouts), options)
}

/**
 * Rewards `rollouts` for matching the label voted by `voters` (majority voting: the rollouts themselves; the
 * Co-rewarding modes: another view), and marks the label when the vote was a tie.
 */
export function scoreByVote(rollouts: readonly Rollout[], voters: readonly Rollout[], options: VoteOptions = {}): ScoredView {
  const { vote, leaders } = tallyVote(answersOf(voters), options)
  const rewards = rollouts.map((rollout) => labelReward(rollout.answer, vote.label, options))
  return leaders.length > 1 ? { rewards, vote, tie: leaders } : { rewards, vote }
}
