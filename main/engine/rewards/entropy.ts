// Entropy minimisation: the reward is minus the mean token entropy over the response.
import { tokenStatMode } from './token-stat-mode'

export const entropyMode = tokenStatMode('entropy', 'entropy', -1)
