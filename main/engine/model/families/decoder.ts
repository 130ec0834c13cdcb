// The decoder shared by Llama, Qwen2 and Qwen3 (float32), nanoGPT-style: embed, then per layer
// RMSNorm -> grouped-query attention with rotary positions -> residual, RMSNorm -> SwiGLU MLP -> residual, then a
// final RMSNorm and the output head (tied to the embeddings or its own lm_head). Rows are left-padded; position ids
// are the cumulative attention mask minus one, so a sequence gives the same numbers alone or padded in a batch.
// Loaded for inference, its weights are plain tensors; `trainFull` turns them into variables (full fine-tuning), and
// `attach` adds LoRA adapters (lora.ts) over a frozen base, which copies made by `clone` share.
import * as tf from '@tensorflow/tfjs'
import type { WeightFiles } from '../../checkpoint/hf-weights'
import { LoraAdapters } from '../lora'
import { embed, frozenLinear, linear } from '../ops'
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
  // concat, not tile: tfjs has no gradient for tiling a rank-5 tensor, and training back-propagates through this.
  const expanded = x.expandDims(2)
  return tf
    .concat(
      Array.from({ length: groups }, () => expanded),
      2,
    )
    .reshape([batch, kvHeads * groups, length, dim])
}

const isProjection = (name: string): boolean => /_proj\.weight$/.test(name) || name === 'lm_head.weight'

const transposeBack = (name: string, values: tf.Tensor): Float32Array =>
  (isProjection(name) ? tf.tidy(() => tf.transpose(values).dataSync()) : values.dataSync()) as Float32Array

export class Decoder {
  private readonly inverse: Float64Array
  /** The LoRA adapters over the base, when attached. */
  adapters: LoraAdapters | undefined

  private constructor(
    readonly config: DecoderConfig,
    /** Norms and biases as in the file; projections transposed to [in, out]; the embedding [V, d]. */
    private readonly params: Map<string, tf.Tensor>,
    /** False for a copy sharing another decoder's frozen base: disposing it leaves the base alone. */
    private readonly ownsBase = true,
  ) {
    this.inverse = inverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling)
  }

  /** The weights training updates: the adapters' with LoRA attached, else every weight (after trainFull). */
  get weights(): Map<string, tf.Variable> {
    if (this.adapters) return this.adapters.weights
    if (![...this.params.values()].every((w) => w instanceof tf.Variable))
      throw new Error('this decoder was loaded for inference: call trainFull() or attach() adapters to train it')
    return this.params as Map<string, tf.Variable>
  }

  trainableVariables(): tf.Variable[] {
    return [...this.weights.values()].filter((v) => v.trainable)
  }

  /** Full fine-tuning: every weight becomes a trainable variable (sharing its data, no copy). */
  trainFull(): this {
    for (const [name, tensor] of this.params) {
      if (tensor instanceof tf.Variable) continue
      this.params.set(name, tf.variable(tensor, true, uniqueName(name)))
      tensor.dispose()
    }
    return this
  }

  /** Adds LoRA adapters over this decoder's base (which stays frozen); disposing the decoder disposes them. */
  attach(adapters: LoraAdapters): this {
    this.adapters?.dispose()
    this.adapters = adapters
    return this
  }

  /**
   * A copy for the KL reference or an EMA teacher: with adapters, the same frozen base and a copy of the adapters;
   * else a copy of every weight.
   */
  clone(trainable = false): Decoder {
    if (this.adapters) return new Decoder(this.config, this.params, false).attach(this.adapters.clone(trainable))
    const params = new Map<string, tf.Tensor>()
    for (const [name, weight] of this.params) params.set(name, tf.variable(weight.clone(), trainable, uniqueName(name)))
    return new Decoder(this.config, params)
  }

  /** The trainable weights as plain arrays, in the layout training keeps them (the optimizer's and EMA's names). */
  toArrays(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {}
    for (const [name, variable] of this.weights) out[name] = variable.dataSync() as Float32Array
    return out
  }

  /** Replaces the trainable weights by arrays in checkpoint layout (see checkpointArrays). */
  assignCheckpointArrays(arrays: Record<string, Float32Array>, source: string): void {
    for (const [name, variable] of this.weights) {
      const values = arrays[name]
      if (!values || values.length !== variable.size)
        throw new Error(`${source} has no tensor ${name} of ${variable.size} values`)
      tf.tidy(() => {
        const tensor = tf.tensor(values, this.adapters || !isProjection(name) ? variable.shape : [...variable.shape].reverse())
        variable.assign(this.adapters || !isProjection(name) ? tensor : tf.transpose(tensor))
      })
    }
  }

  /** The trainable weights in checkpoint layout: PEFT's for adapters, Hugging Face's ([out, in] projections) else. */
  checkpointArrays(): { arrays: Record<string, Float32Array>; shapes: Record<string, number[]> } {
    if (this.adapters) return { arrays: this.adapters.toArrays(), shapes: this.adapters.shapes() }
    const arrays: Record<string, Float32Array> = {}
    const shapes = decoderWeightShapes(this.config)
    for (const [name, weight] of this.params) arrays[name] = transposeBack(name, weight)
    return { arrays, shapes }
  }

  /**
   * Every weight in Hugging Face layout with the adapters merged in (W + scale B A), one at a time: what an exported
   * merged folder holds. `transposed` gives projections as the engine keeps them, [in, out] (ONNX feeds).
   */
  mergedWeight(name: string, transposed = false): Float32Array {
    const weight = this.params.get(name)
    if (!weight) throw new Error(`weight ${name} is missing`)
    const module = name.replace(/\.weight$/, '')
    const adapted = this.adapters?.has(module) && name.endsWith('.weight')
    if (!adapted) return transposed || !isProjection(name) ? (weight.dataSync() as Float32Array) : transposeBack(name, weight)
    return tf.tidy(() => {
      const merged = tf.add(weight, this.adapters!.mergedDelta(module))
      return (transposed ? merged : tf.transpose(merged)).dataSync() as Float32Array
    })
  }

  /** A base weight's shape in Hugging Face layout ([out, in] for projections). */
  baseShape(name: string): number[] {
    const weight = this.params.get(name)
    if (!weight) throw new Error(`weight ${name} is missing`)
    return isProjection(name) ? [...weight.shape].reverse() : weight.shape
  }

  /** Parameters of the base (embedding included once, even when tied). */
  parameters(): number {
    return [...this.params.values()].reduce((sum, w) => sum + w.size, 0)
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
    this.adapters?.dispose()
    if (this.ownsBase) tf.dispose([...this.params.values()])
  }

  private w(name: string): tf.Tensor {
    const weight = this.params.get(name)
    if (!weight) throw new Error(`weight ${name} is missing`)
    return weight
  }

  /** A projection; with an adapter on it, plus the adapter's update (dropout only when `dropoutSeed` is given). */
  private project(x: tf.Tensor, name: string, bias: boolean): tf.Tensor {
    const weight = this.w(`${name}.weight`) as tf.Tensor2D
    // Under LoRA the base does not train: its projections pass gradients to their inputs only.
    const project = weight instanceof tf.Variable && weight.trainable ? linear : frozenLinear
    const out = project(x, weight, bias ? (this.w(`${name}.bias`) as tf.Tensor1D) : undefined)
    if (!this.adapters?.has(name)) return out
    return tf.add(out, this.adapters.delta(name, x, this.dropoutSeed === undefined ? undefined : this.dropoutSeed++))
  }

  /** Set only during a training forward pass: the seed of the next adapter dropout mask. */
  private dropoutSeed: number | undefined

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
    let h = embed(this.w('model.embed_tokens.weight') as tf.Tensor2D, ids) as tf.Tensor3D
    const keys: tf.Tensor4D[] = []
    const values: tf.Tensor4D[] = []
    for (let layer = 0; layer < this.config.layers; layer++) {
      const past = cache && { keys: cache.keys[layer]!, values: cache.values[layer]! }
      // One tidy per layer: without a gradient tape (sampling, log-prob passes) a layer's intermediates are freed before
      // the next layer runs; under one, tfjs keeps what the backward pass needs anyway.
      const out = tf.tidy(() => this.block(layer, h, rotary, bias, past))
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

  /** Logits [B, T, V] for every position; `dropoutSeed` (training only) switches the adapters' dropout on. */
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D, dropoutSeed?: number): tf.Tensor3D {
    this.dropoutSeed = dropoutSeed
    try {
      return tf.tidy(() => this.head(this.hidden(ids, mask)))
    } finally {
      this.dropoutSeed = undefined
    }
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

const uniqueName = (name: string): string => `${name}#${Math.random().toString(36).slice(2)}`
