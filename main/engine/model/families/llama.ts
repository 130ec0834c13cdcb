// Llama (LlamaForCausalLM): optional biases on attention (`attention_bias`) and MLP (`mlp_bias`).
import type { ConfigReader, FamilyTraits } from './decoder-config'

export const modelType = 'llama'

export function traits(config: ConfigReader): FamilyTraits {
  const attentionBias = config.bool('attention_bias', false)
  return { qkvBias: attentionBias, outputBias: attentionBias, mlpBias: config.bool('mlp_bias', false), qkNorm: false }
}
