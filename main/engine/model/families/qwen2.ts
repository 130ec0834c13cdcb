// Qwen2 (Qwen2ForCausalLM): biases on q, k and v (not on the output projection or the MLP).
import type { FamilyTraits } from './decoder-config'

export const modelType = 'qwen2'

export function traits(): FamilyTraits {
  return { qkvBias: true, outputBias: false, mlpBias: false, qkNorm: false }
}
