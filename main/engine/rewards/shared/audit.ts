// Audit metrics of a step (method doc section 9): how the self-rewards compare with ground truths the rewards
// never saw, and how many groups carry no gradient. Label-free keys are always present; GT keys need a GT.
// Per-rollout keys read the original view (for Co-I too, as the reference's critic/score does).
import { groundTruthReward, isEquivalent } from '../../answers/equivalence'
import type { Vote } from '../../answers/vote'
import type { GroupScore, QuestionGroup, RewardMode, ScoreOptions } from './types'
import { voteOf } from './voting'

export type AuditKey =
  | 'critic/score/zero_std_frac'
  | 'coreward/pseudo_acc'
  | 'coreward/pseudo_acc_equiv'
  | 'coreward/pseudo_policy_acc'
  | 'coreward/reward_acc'
  | 'coreward/majority_ratio'
  | 'coreward/tie_rate'
  | 'coreward/pseudo_nonempty_rate'
  | 'coreward/pass_acc'
export type AuditMetrics = Partial<Record<AuditKey, number>>

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0)
const share = <T>(items: readonly T[], test: (item: T) => boolean): number => items.filter(test).length / items.length

/** The audit of one step: `groups` as given to scoreStep (ground truths included), `scores` as it returned them. */
export function auditStep(
  mode: RewardMode,
  groups: readonly QuestionGroup[],
  scores: readonly GroupScore[],
  options: ScoreOptions = {},
): AuditMetrics {
  const metrics: AuditMetrics = {}
  const trained = scores.flatMap(({ original, paraphrase }) => (paraphrase ? [original, paraphrase] : [original]))
  if (trained.length === 0) return metrics
  metrics['critic/score/zero_std_frac'] = share(trained, ({ rewards }) => rewards.every((reward) => reward === rewards[0]))

  // The label that scored each original view (MV: its own vote; Co-I: the paraphrase vote; Co-II: the teacher's).
  const votes = scores.map(({ original }) => original.vote).filter((vote): vote is Vote => vote !== undefined)
  const scoringLabels = votes.length === scores.length
  if (scoringLabels) {
    metrics['coreward/majority_ratio'] = sum(votes.map(({ count, total }) => (total === 0 ? 0 : count / total))) / votes.length
    // The share of questions whose scoring label the tie-break chose. A group with no answer to vote on has no tie
    // to break: it counts as not tied (pseudo_nonempty_rate shows those groups).
    metrics['coreward/tie_rate'] = share(scores, ({ original }) => original.tie !== undefined)
    metrics['coreward/pseudo_nonempty_rate'] = share(votes, ({ label }) => label !== '')
    const labelled = scores.filter(({ original }) => original.vote?.label)
    const rollouts = sum(labelled.map(({ original }) => original.rewards.length))
    // 0 where the reference divides by zero: no group of the step has a non-empty label.
    metrics['coreward/pass_acc'] = rollouts === 0 ? 0 : sum(labelled.map(({ original }) => sum(original.rewards))) / rollouts
  }

  const audited = groups.flatMap(({ views, groundTruth }, i) =>
    groundTruth === undefined ? [] : [{ rollouts: views.original, groundTruth, scored: scores[i]!.original }],
  )
  if (audited.length === 0) return metrics
  metrics['coreward/pseudo_policy_acc'] = share(
    audited,
    ({ rollouts, groundTruth }) => voteOf(rollouts, options.voting).label === groundTruth,
  )
  if (scoringLabels) {
    metrics['coreward/pseudo_acc'] = share(audited, ({ scored, groundTruth }) => scored.vote?.label === groundTruth)
    metrics['coreward/pseudo_acc_equiv'] = share(audited, ({ scored, groundTruth }) =>
      isEquivalent(scored.vote?.label ?? '', groundTruth),
    )
  }
  if (mode.binary && !mode.usesGroundTruth) {
    const agreements = audited.flatMap(({ rollouts, groundTruth, scored }) =>
      rollouts.map((rollout, i) => scored.rewards[i] === groundTruthReward(rollout.answer, groundTruth)),
    )
    if (agreements.length > 0) metrics['coreward/reward_acc'] = share(agreements, (agrees) => agrees)
  }
  return metrics
}
