// Entropy minimisation: the reward is minus the mean token entropy over the response.
import { tokenStatMode } from './shared/token-stat-mode'

export const entropyMode = tokenStatMode(
  {
    id: 'entropy',
    label: 'Entropy',
    description: 'Each rollout is rewarded for confident tokens: minus its mean token entropy (entropy minimisation).',
    colour: '#7048e8',
  },
  'entropy',
  -1,
)
