// Qwen2 (Qwen2ForCausalLM): biases on q, k and v (not on the output projection or the MLP).
import { readDecoderConfig } from './decoder-config'
import type { ConfigReader, DecoderConfig } from './decoder-config'

export const modelType = 'qwen2'

export function decoderConfig(config: ConfigReader): DecoderConfig {
  return readDecoderConfig(config, {
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    qkvBias: true,
    outputBias: false,
    mlpBias: false,
    qkNorm: false,
  })
}
