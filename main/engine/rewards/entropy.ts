// Entropy minimisation: the reward is minus the mean token entropy over the response.
import { maskedMean, tokenStatsOf } from './self_certainty'
import type { RewardMode } from './types'

export const entropyMode: RewardMode = {
  id: 'entropy',
  binary: false,
  extraViews: [],
  needsTokenStats: true,
  usesGroundTruth: false,
  score: (groups) =>
    groups.map(({ views }) => ({
      original: {
        rewards: views.original.map((rollout) => {
          const { entropy, mask } = tokenStatsOf(rollout, 'entropy')
          return -maskedMean(entropy, mask)
        }),
      },
    })),
}
