// Self-certainty (Intuitor): the mean over response tokens of logsumexp(logits) - mean(logits).
import { tokenStatMode } from './shared/token-stat-mode'

export const selfCertaintyMode = tokenStatMode(
  {
    id: 'self_certainty',
    label: 'Self-certainty',
    description: 'Each rollout is rewarded for its self-certainty: how far its token distributions are from uniform (Intuitor).',
    colour: '#c2255c',
  },
  'selfCertainty',
  1,
)
