// Running an exported model with onnxruntime-node: CPU here, the CUDA provider where it is installed.
import * as ort from 'onnxruntime-node'
import { sessionThreads } from '../threads'
import type { SessionThreads } from '../threads'
import type { Transformer } from '../model/transformer'
import { exportOnnx, inputsFor } from './export'
import type { WeightFeed } from './export'

export type ExecutionProvider = 'cpu' | 'cuda'

/** Opens a graph in onnxruntime as every session of the engine is opened: full graph optimisation, CWB_THREADS. */
export function openSession(
  bytes: Uint8Array,
  providers: ExecutionProvider[] = ['cpu'],
  threads: SessionThreads = sessionThreads(),
): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { executionProviders: providers, graphOptimizationLevel: 'all', ...threads })
}

export class OnnxModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly vocabSize: number,
  ) {}

  static async create(bytes: Uint8Array, vocabSize: number, providers: ExecutionProvider[] = ['cpu']): Promise<OnnxModel> {
    return new OnnxModel(await openSession(bytes, providers), vocabSize)
  }

  /** A session of the transformer's weights as they are now (exported in memory; later updates do not reach it). */
  static ofTransformer(transformer: Transformer): Promise<OnnxModel> {
    const { config } = transformer
    return OnnxModel.create(exportOnnx(config, transformer.toArrays()), config.vocab_size)
  }

  /**
   * Logits [B, T, V] (flat) for left-padded `ids` with `mask` (1 = real token), both [B, T] row-major.
   * `weights` feeds a model exported with weights as inputs.
   */
  async logits(
    ids: Int32Array,
    mask: Int32Array,
    batch: number,
    length: number,
    weights?: Record<string, WeightFeed>,
  ): Promise<Float32Array> {
    const { inputIds, positionIds, attentionBias } = inputsFor(ids, mask, batch, length)
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [batch, length]),
      position_ids: new ort.Tensor('int64', positionIds, [batch, length]),
      attention_bias: new ort.Tensor('float32', attentionBias, [batch, 1, length, length]),
    }
    for (const [name, feed] of Object.entries(weights ?? {})) feeds[name] = new ort.Tensor('float32', feed.data, feed.dims)
    const result = await this.session.run(feeds)
    return result.logits!.data as Float32Array
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}
