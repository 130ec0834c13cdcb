// Self-certainty and entropy share one shape: the reward is a signed masked mean of a per-token statistic.
import type { RewardMode, Rollout, TokenStats } from './types'

/** Mean of `values` where `mask` is 1; an empty response (no masked token) scores 0 rather than NaN. */
export function maskedMean(values: ArrayLike<number>, mask: ArrayLike<number>): number {
  let sum = 0
  let count = 0
  for (let i = 0; i < mask.length; i++) {
    const weight = mask[i] ?? 0
    sum += (values[i] ?? 0) * weight
    count += weight
  }
  return count === 0 ? 0 : sum / count
}

/** The token statistics of a rollout, or an error that names the mode that needed them. */
export function tokenStatsOf(rollout: Rollout, mode: string): TokenStats {
  if (!rollout.tokens) throw new Error(`${mode} needs the token statistics of every rollout; the engine supplied none`)
  return rollout.tokens
}

/** A mode rewarding `sign` times the masked mean of `statistic`; `about` is what the UI shows of it. */
export function tokenStatMode(
  about: Pick<RewardMode, 'id' | 'label' | 'description' | 'colour'>,
  statistic: 'selfCertainty' | 'entropy',
  sign: 1 | -1,
): RewardMode {
  return {
    ...about,
    // The reference publishes no KL coefficient for the baselines: they take Co-rewarding-II's.
    klCoef: 0.001,
    binary: false,
    extraViews: [],
    needsTokenStats: true,
    usesGroundTruth: false,
    score: (groups) =>
      groups.map(({ views }) => ({
        original: {
          rewards: views.original.map((rollout) => {
            const stats: TokenStats = tokenStatsOf(rollout, about.id)
            return sign * maskedMean(stats[statistic], stats.mask)
          }),
        },
      })),
  }
}
