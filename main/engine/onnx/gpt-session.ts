// The demo model (cwb-gpt) run by onnxruntime-node through its KV-cached graph (export.ts, exportGptKvOnnx): the
// session class of the Hugging Face families, so rollouts decode one token per step with onnxDecoderLogits
// (decoder-session.ts), fed the trainer's current weights (onnxWeightFeeds) for every pass.
import type * as ort from 'onnxruntime-node'
import type { ModelConfig } from '../model/config'
import type { LogitsSource } from '../sampling'
import { OnnxKvSession, weightTensors } from './decoder-session'
import type { PassWeights } from './decoder-session'
import { exportGptDecodeOnnx } from './gpt-decode'
import { FixedCacheDecoder } from './fixed-cache'
import { exportGptKvOnnx, onnxWeightFeeds } from './export'
import type { ExecutionProvider } from './session'

export class OnnxGpt extends OnnxKvSession {
  private constructor(
    session: ort.InferenceSession,
    readonly config: ModelConfig,
    weights: Record<string, ort.Tensor>,
    private readonly decoder: FixedCacheDecoder,
  ) {
    const heads = config.num_attention_heads
    super(session, config.vocab_size, { layers: config.num_hidden_layers, heads, headDim: config.hidden_size / heads }, weights)
  }

  /**
   * Exports the cached graph for `config` and opens it; `weights` (Transformer.toArrays()) become the session's own.
   * Without them every pass is given its weights (onnxWeightFeeds of the model in training).
   */
  static async create(
    config: ModelConfig,
    weights?: Record<string, Float32Array>,
    providers: ExecutionProvider[] = ['cpu'],
  ): Promise<OnnxGpt> {
    const own = weights ? weightTensors(onnxWeightFeeds(config, weights)) : {}
    const heads = config.num_attention_heads
    const shape = { layers: config.num_hidden_layers, heads, headDim: config.hidden_size / heads }
    const decoder = await FixedCacheDecoder.open(exportGptDecodeOnnx(config), config.vocab_size, shape, providers)
    return new OnnxGpt(await OnnxKvSession.open(exportGptKvOnnx(config), providers), config, own, decoder)
  }

  /** Decode steps run on the fixed-capacity graph (gpt-decode.ts, fixed-cache.ts), which reads the cache in place. */
  override sampler(weights?: PassWeights): LogitsSource {
    return this.decoder.logits(this, weights ?? this.weights)
  }

  override async release(): Promise<void> {
    await Promise.all([super.release(), this.decoder.release()])
  }
}
