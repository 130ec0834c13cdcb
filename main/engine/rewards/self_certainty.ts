// Self-certainty (Intuitor): the mean over response tokens of logsumexp(logits) - mean(logits).
import { tokenStatMode } from './token-stat-mode'

export const selfCertaintyMode = tokenStatMode('self_certainty', 'selfCertainty', 1)
