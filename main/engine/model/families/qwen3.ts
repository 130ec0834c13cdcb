// Qwen3 (Qwen3ForCausalLM): per-head RMSNorm of q and k before rotation, `head_dim` of its own, optional
// attention biases (`attention_bias`).
import type { ConfigReader, FamilyTraits } from './decoder-config'

export const modelType = 'qwen3'

export function traits(config: ConfigReader): FamilyTraits {
  const attentionBias = config.bool('attention_bias', false)
  return { qkvBias: attentionBias, outputBias: attentionBias, mlpBias: false, qkNorm: true }
}
