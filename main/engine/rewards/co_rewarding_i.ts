// Co-rewarding-I: each view of a question is scored against the other view's vote (method doc section 7); with
// crossView false (the paper's ablation), against its own view's vote instead.
import type { RewardMode } from './shared/types'
import { scoreByVote } from './shared/voting'

export const coRewardingIMode: RewardMode = {
  id: 'co_rewarding_i',
  label: 'Co-rewarding-I',
  description: "The policy answers each question and its paraphrase; each view is scored against the other view's vote.",
  colour: '#1c7ed6',
  // The reference's coefficient for Co-rewarding-I.
  klCoef: 0.005,
  binary: true,
  extraViews: ['paraphrase'],
  needsTokenStats: false,
  usesGroundTruth: false,
  score: (groups, { voting, crossView = true }) =>
    groups.map(({ views: { original, paraphrase = [] } }) => ({
      original: scoreByVote(original, crossView ? paraphrase : original, voting),
      paraphrase: scoreByVote(paraphrase, crossView ? original : paraphrase, voting),
    })),
}
