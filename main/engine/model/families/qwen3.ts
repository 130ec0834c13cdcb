// Qwen3 (Qwen3ForCausalLM): per-head RMSNorm of q and k before rotation, `head_dim` of its own, optional
// attention biases (`attention_bias`).
import { readDecoderConfig } from './decoder-config'
import type { ConfigReader, DecoderConfig } from './decoder-config'

export const modelType = 'qwen3'

export function decoderConfig(config: ConfigReader): DecoderConfig {
  const attentionBias = config.bool('attention_bias', false)
  return readDecoderConfig(config, {
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    qkvBias: attentionBias,
    outputBias: attentionBias,
    mlpBias: false,
    qkNorm: true,
  })
}
