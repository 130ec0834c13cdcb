// The demo model (cwb-gpt) run by onnxruntime-node through its KV-cached graph (export.ts, exportGptKvOnnx) and its
// fixed-capacity decode graph (gpt-decode.ts): the session class of the Hugging Face families, so rollouts prefill
// and decode as theirs do (OnnxKvSession.sampler), fed the trainer's current weights (onnxWeightFeeds) for every pass.
import type * as ort from 'onnxruntime-node'
import { parameterCount } from '../model/config'
import type { ModelConfig } from '../model/config'
import { OnnxKvSession, weightTensors } from './decoder-session'
import type { CacheShape } from './decoder-session'
import { exportGptDecodeOnnx } from './gpt-decode'
import { FixedCacheDecoder } from './fixed-cache'
import { exportGptKvOnnx, onnxWeightFeeds } from './export'
import type { ExecutionProvider } from './session'

export class OnnxGpt extends OnnxKvSession {
  private constructor(
    opened: { session: ort.InferenceSession; decoder: FixedCacheDecoder },
    readonly config: ModelConfig,
    weights: Record<string, ort.Tensor>,
  ) {
    super(opened.session, config.vocab_size, gptCacheShape(config), weights, opened.decoder)
  }

  /**
   * Exports the graphs for `config` and opens them; `weights` (Transformer.toArrays()) become the session's own.
   * Without them every pass is given its weights (onnxWeightFeeds of the model in training).
   */
  static async create(
    config: ModelConfig,
    weights?: Record<string, Float32Array>,
    providers: ExecutionProvider[] = ['cpu'],
  ): Promise<OnnxGpt> {
    const own = weights ? weightTensors(onnxWeightFeeds(config, weights)) : {}
    const opened = await OnnxKvSession.open(
      exportGptKvOnnx(config),
      exportGptDecodeOnnx(config),
      config.vocab_size,
      gptCacheShape(config),
      parameterCount(config),
      providers,
    )
    return new OnnxGpt(opened, config, own)
  }
}

function gptCacheShape(config: ModelConfig): CacheShape {
  const heads = config.num_attention_heads
  return { layers: config.num_hidden_layers, heads, headDim: config.hidden_size / heads }
}
