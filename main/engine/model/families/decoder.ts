// The decoder shared by Llama, Qwen2 and Qwen3 (float32, inference only), nanoGPT-style: embed, then per layer
// RMSNorm -> grouped-query attention with rotary positions -> residual, RMSNorm -> SwiGLU MLP -> residual, then a
// final RMSNorm and the output head (tied to the embeddings or its own lm_head). Rows are left-padded; position ids
// are the cumulative attention mask minus one, so a sequence gives the same numbers alone or padded in a batch.
import * as tf from '@tensorflow/tfjs'
import type { WeightFiles } from '../../checkpoint/hf-weights'
import { linear } from '../ops'
import { Transformer } from '../transformer'
import type { KvCache } from '../transformer'
import { decodingStep, disposeCache, withCache } from '../transformer'
import { decoderWeightShapes } from './decoder-config'
import type { DecoderConfig } from './decoder-config'
import { ALL_MODEL_TYPES } from './index'
import { applyRotary, inverseFrequencies, rotaryAngles } from './rope'

const MASKED = -1e9

/** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, epsilon: number): tf.Tensor {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), epsilon))), weight)
}

/** Repeats each of the KV heads [B, KVH, T, dh] `groups` times -> [B, KVH * groups, T, dh] (as transformers' repeat_kv). */
export function repeatKv(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  if (groups === 1) return x
  const [batch, kvHeads, length, dim] = x.shape
  return x
    .expandDims(2)
    .tile([1, 1, groups, 1, 1])
    .reshape([batch, kvHeads * groups, length, dim])
}

const isProjection = (name: string): boolean => /_proj\.weight$/.test(name) || name === 'lm_head.weight'

export class Decoder {
  private readonly inverse: Float64Array

  private constructor(
    readonly config: DecoderConfig,
    /** Norms and biases as in the file; projections transposed to [in, out]; the embedding [V, d]. */
    private readonly weights: Map<string, tf.Tensor>,
  ) {
    this.inverse = inverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling)
  }

  /** Loads every weight the config needs, one tensor at a time; missing or misshapen weights are refused together. */
  static load(config: DecoderConfig, files: WeightFiles, source: string): Decoder {
    const expected = decoderWeightShapes(config)
    const shapeText = (shape: number[]): string => `[${shape.join(', ')}]`
    const missing = Object.keys(expected).filter((name) => !files.shapes.has(name))
    const misshapen = Object.entries(expected)
      .filter(([name, shape]) => files.shapes.has(name) && shapeText(files.shapes.get(name)!.shape) !== shapeText(shape))
      .map(([name, shape]) => `${name} is ${shapeText(files.shapes.get(name)!.shape)}, config.json needs ${shapeText(shape)}`)
    if (missing.length > 0 || misshapen.length > 0) {
      const list = (items: string[], what: string): string =>
        items.length === 0 ? '' : `${items.length} ${what} (${items.slice(0, 3).join('; ')}${items.length > 3 ? '; ...' : ''}) `
      throw new Error(
        `${source}: the weights do not match config.json (model_type "${config.modelType}"): ${list(missing, 'missing')}${list(misshapen, 'with the wrong shape')}` +
          `- is this a complete ${config.modelType} folder in Hugging Face layout? (this engine loads model_type ${ALL_MODEL_TYPES.join(', ')})`,
      )
    }
    const weights = new Map<string, tf.Tensor>()
    try {
      for (const [name, shape] of Object.entries(expected)) {
        const values = tf.tensor(files.read(name), shape, 'float32')
        if (isProjection(name)) {
          weights.set(name, tf.transpose(values))
          values.dispose()
        } else weights.set(name, values)
      }
    } catch (error) {
      tf.dispose([...weights.values()])
      throw error
    }
    return new Decoder(config, weights)
  }

  dispose(): void {
    tf.dispose([...this.weights.values()])
  }

  private w(name: string): tf.Tensor {
    const weight = this.weights.get(name)
    if (!weight) throw new Error(`weight ${name} is missing`)
    return weight
  }

  private project(x: tf.Tensor, name: string, bias: boolean): tf.Tensor {
    return linear(x, this.w(`${name}.weight`) as tf.Tensor2D, bias ? (this.w(`${name}.bias`) as tf.Tensor1D) : undefined)
  }

  /** [B, T, n * dh] -> [B, n, T, dh] */
  private splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
    const [batch, length] = x.shape as [number, number, number]
    return x.reshape([batch, length, heads, this.config.headDim]).transpose([0, 2, 1, 3])
  }

  private block(
    layer: number,
    x: tf.Tensor3D,
    rotary: { cos: tf.Tensor4D; sin: tf.Tensor4D },
    bias: tf.Tensor,
    past?: { keys: tf.Tensor4D; values: tf.Tensor4D },
  ): { out: tf.Tensor3D; keys: tf.Tensor4D; values: tf.Tensor4D } {
    const c = this.config
    const p = `model.layers.${layer}.`
    const [batch, length] = x.shape
    const normed = rmsNorm(x, this.w(`${p}input_layernorm.weight`) as tf.Tensor1D, c.rmsNormEps)
    let q = this.splitHeads(this.project(normed, `${p}self_attn.q_proj`, c.qkvBias), c.heads)
    let k = this.splitHeads(this.project(normed, `${p}self_attn.k_proj`, c.qkvBias), c.kvHeads)
    const v = this.splitHeads(this.project(normed, `${p}self_attn.v_proj`, c.qkvBias), c.kvHeads)
    if (c.qkNorm) {
      q = rmsNorm(q, this.w(`${p}self_attn.q_norm.weight`) as tf.Tensor1D, c.rmsNormEps) as tf.Tensor4D
      k = rmsNorm(k, this.w(`${p}self_attn.k_norm.weight`) as tf.Tensor1D, c.rmsNormEps) as tf.Tensor4D
    }
    q = applyRotary(q, rotary.cos, rotary.sin)
    k = applyRotary(k, rotary.cos, rotary.sin)
    const keys = past ? (tf.concat([past.keys, k], 2) as tf.Tensor4D) : k
    const values = past ? (tf.concat([past.values, v], 2) as tf.Tensor4D) : v
    const groups = c.heads / c.kvHeads
    const scores = tf.add(
      tf.mul(tf.matMul(q, tf.transpose(repeatKv(keys, groups), [0, 1, 3, 2])), 1 / Math.sqrt(c.headDim)),
      bias,
    )
    const attended = tf.matMul(tf.softmax(scores), repeatKv(values, groups)) // [B, H, T, dh]
    const merged = attended.transpose([0, 2, 1, 3]).reshape([batch, length, c.heads * c.headDim])
    const h = tf.add(x, this.project(merged, `${p}self_attn.o_proj`, c.outputBias))
    const normed2 = rmsNorm(h, this.w(`${p}post_attention_layernorm.weight`) as tf.Tensor1D, c.rmsNormEps)
    const gate = this.project(normed2, `${p}mlp.gate_proj`, c.mlpBias)
    const up = this.project(normed2, `${p}mlp.up_proj`, c.mlpBias)
    const down = this.project(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), `${p}mlp.down_proj`, c.mlpBias)
    return { out: tf.add(h, down) as tf.Tensor3D, keys, values }
  }

  /** Logits [B, T, V] of final hidden states [B, T, d]. */
  head(h: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const normed = rmsNorm(h, this.w('model.norm.weight') as tf.Tensor1D, this.config.rmsNormEps)
      if (!this.config.tieWordEmbeddings) return linear(normed, this.w('lm_head.weight') as tf.Tensor2D) as tf.Tensor3D
      const [batch, length, width] = normed.shape as [number, number, number]
      const embeddings = this.w('model.embed_tokens.weight') as tf.Tensor2D
      return tf.matMul(normed.reshape([-1, width]) as tf.Tensor2D, embeddings, false, true).reshape([batch, length, -1])
    })
  }

  private run(
    ids: tf.Tensor2D,
    positions: tf.Tensor2D,
    bias: tf.Tensor,
    cache?: KvCache,
  ): { h: tf.Tensor3D; keys: tf.Tensor4D[]; values: tf.Tensor4D[] } {
    const rotary = rotaryAngles(positions, this.inverse)
    let h = tf
      .gather(this.w('model.embed_tokens.weight'), ids.reshape([-1]))
      .reshape([...ids.shape, this.config.hiddenSize]) as tf.Tensor3D
    const keys: tf.Tensor4D[] = []
    const values: tf.Tensor4D[] = []
    for (let layer = 0; layer < this.config.layers; layer++) {
      const past = cache && { keys: cache.keys[layer]!, values: cache.values[layer]! }
      const out = this.block(layer, h, rotary, bias, past)
      h = out.out
      keys.push(out.keys)
      values.push(out.values)
    }
    return { h, keys, values }
  }

  /** Additive attention bias [B, 1, T, T]: causal, and never towards padding. */
  private static causalBias(mask: tf.Tensor2D): tf.Tensor4D {
    const length = mask.shape[1]
    const causal = tf.linalg.bandPart(tf.ones([length, length]), -1, 0)
    const allowed = tf.mul(causal, mask.cast('float32').expandDims(1).expandDims(1))
    return tf.mul(tf.sub(1, allowed), MASKED) as tf.Tensor4D
  }

  /** Final hidden states [B, T, d] (before the last norm) of left-padded `ids` with `mask` (1 = real token). */
  hidden(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => this.run(ids, Transformer.positionsOf(mask), Decoder.causalBias(mask)).h)
  }

  /** Logits [B, T, V] for every position. */
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => this.head(this.hidden(ids, mask)))
  }

  /** Runs the prompt once and keeps its keys and values: returns the last position's logits [B, V]. */
  prefill(ids: tf.Tensor2D, mask: tf.Tensor2D): { logits: tf.Tensor2D; cache: KvCache } {
    const result = tf.tidy(() => {
      const { h, keys, values } = this.run(ids, Transformer.positionsOf(mask), Decoder.causalBias(mask))
      const length = ids.shape[1]
      const last = this.head(h.slice([0, length - 1, 0], [-1, 1, -1])).squeeze([1]) as tf.Tensor2D
      return {
        logits: last,
        keys,
        values,
        mask: mask.cast('int32') as tf.Tensor2D,
        nextPosition: mask.sum(1).cast('int32') as tf.Tensor1D,
      }
    })
    return withCache(result)
  }

  /** Feeds one token per row [B] after the cached ones; the old cache is disposed. */
  decode(tokens: tf.Tensor1D, cache: KvCache): { logits: tf.Tensor2D; cache: KvCache } {
    const result = tf.tidy(() => {
      const { positions, mask, bias } = decodingStep(cache, tokens.shape[0])
      const { h, keys, values } = this.run(tokens.expandDims(1) as tf.Tensor2D, positions, bias, cache)
      const logits = this.head(h).squeeze([1]) as tf.Tensor2D
      return { logits, keys, values, mask, nextPosition: tf.add(cache.nextPosition, tf.scalar(1, 'int32')) as tf.Tensor1D }
    })
    disposeCache(cache)
    return withCache(result)
  }
}
