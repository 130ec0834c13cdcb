// Llama (LlamaForCausalLM): optional biases on attention (`attention_bias`) and MLP (`mlp_bias`).
import { readDecoderConfig } from './decoder-config'
import type { ConfigReader, DecoderConfig } from './decoder-config'

export const modelType = 'llama'

export function decoderConfig(config: ConfigReader): DecoderConfig {
  const attentionBias = config.bool('attention_bias', false)
  return readDecoderConfig(config, {
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    qkvBias: attentionBias,
    outputBias: attentionBias,
    mlpBias: config.bool('mlp_bias', false),
    qkNorm: false,
  })
}
