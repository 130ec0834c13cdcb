// The demo model: a decoder-only transformer (pre-norm, causal attention, learned or rotary positions,
// tied embeddings) on @tensorflow/tfjs. Prompts are left-padded; positions count valid tokens only.
import * as tf from '@tensorflow/tfjs'
import { Random } from '../../random'
import { weightShapes } from './config'
import type { ModelConfig } from './config'
import { embed, gelu, layerNorm, linear } from './ops'

const MASKED = -1e9

/** Per-layer keys and values of the tokens seen so far, plus which of them are real (not padding). */
export interface KvCache {
  keys: tf.Tensor4D[]
  values: tf.Tensor4D[]
  /** [B, T] 1 for real tokens, 0 for padding. */
  mask: tf.Tensor2D
  /** Position of the next token, per row. */
  nextPosition: tf.Tensor1D
}

export function disposeCache(cache: KvCache): void {
  tf.dispose([...cache.keys, ...cache.values, cache.mask, cache.nextPosition])
}

/** What one decoding step after `cache` feeds the model: the new token's position, the grown mask and its bias. */
export function decodingStep(cache: KvCache, rows: number): { positions: tf.Tensor2D; mask: tf.Tensor2D; bias: tf.Tensor4D } {
  const positions = cache.nextPosition.expandDims(1) as tf.Tensor2D
  const mask = tf.concat([cache.mask, tf.ones([rows, 1], 'int32')], 1) as tf.Tensor2D
  const bias = tf
    .mul(tf.sub(1, mask.cast('float32')), MASKED)
    .expandDims(1)
    .expandDims(1) as tf.Tensor4D
  return { positions, mask, bias }
}

/** A prefill's or decoding step's logits [B, V] and the cache it leaves, out of the step's tidy result. */
export function withCache(step: { logits: tf.Tensor2D } & KvCache): { logits: tf.Tensor2D; cache: KvCache } {
  const { logits, keys, values, mask, nextPosition } = step
  return { logits, cache: { keys, values, mask, nextPosition } }
}

export class Transformer {
  private constructor(
    readonly config: ModelConfig,
    readonly weights: Map<string, tf.Variable>,
  ) {}

  /** Seeded initialisation: the same seed gives the same weights on every backend. */
  static initialise(config: ModelConfig, seed: number): Transformer {
    const random = new Random(seed)
    const data: Record<string, Float32Array> = {}
    const depthScale = 1 / Math.sqrt(2 * config.num_hidden_layers)
    for (const [name, shape] of Object.entries(weightShapes(config))) {
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1))
      if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name === 'ln_f.weight') values.fill(1)
      else if (!name.endsWith('.bias')) {
        const std = config.initializer_range * (/attn\.out|mlp\.down/.test(name) ? depthScale : 1)
        for (let i = 0; i < values.length; i++) values[i] = random.normal() * std
      }
      data[name] = values
    }
    return Transformer.fromArrays(config, data)
  }

  /** Builds the model from named weight arrays (e.g. read from model.safetensors); shapes come from the config. */
  static fromArrays(config: ModelConfig, data: Record<string, Float32Array>): Transformer {
    const weights = new Map<string, tf.Variable>()
    for (const [name, shape] of Object.entries(weightShapes(config))) {
      const values = data[name]
      if (!values) throw new Error(`weight ${name} is missing`)
      weights.set(name, tf.variable(tf.tensor(values, shape, 'float32'), true, `${name}#${Math.random().toString(36).slice(2)}`))
    }
    return new Transformer(config, weights)
  }

  /** A frozen copy with its own variables (the reference model for KL, or an EMA teacher). */
  clone(trainable = false): Transformer {
    const weights = new Map<string, tf.Variable>()
    for (const [name, variable] of this.weights) {
      weights.set(name, tf.variable(variable.clone(), trainable, `${name}#${Math.random().toString(36).slice(2)}`))
    }
    return new Transformer(this.config, weights)
  }

  /** Named weights as plain arrays (for safetensors and ONNX export). */
  toArrays(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {}
    for (const [name, variable] of this.weights) out[name] = variable.dataSync() as Float32Array
    return out
  }

  trainableVariables(): tf.Variable[] {
    return [...this.weights.values()]
  }

  dispose(): void {
    for (const variable of this.weights.values()) variable.dispose()
  }

  private w(name: string): tf.Variable {
    const weight = this.weights.get(name)
    if (!weight) throw new Error(`weight ${name} is missing`)
    return weight
  }

  private headSize(): number {
    return this.config.hidden_size / this.config.num_attention_heads
  }

  private embedTokens(ids: tf.Tensor2D, positions: tf.Tensor2D): tf.Tensor3D {
    const tokens = embed(this.w('embed_tokens.weight') as tf.Variable<tf.Rank.R2>, ids)
    if (this.config.position_embedding_type !== 'learned') return tokens as tf.Tensor3D
    return tf.add(tokens, embed(this.w('embed_positions.weight') as tf.Variable<tf.Rank.R2>, positions)) as tf.Tensor3D
  }

  /** Rotates q or k [B, H, T, dh] by their positions [B, T] (GPT-NeoX half-split layout). */
  private rotate(x: tf.Tensor4D, positions: tf.Tensor2D): tf.Tensor4D {
    const half = this.headSize() / 2
    const inverse = tf.tensor1d(Array.from({ length: half }, (_, i) => 1 / this.config.rope_theta ** ((2 * i) / (2 * half))))
    const angles = tf.mul(positions.cast('float32').expandDims(-1), inverse) as tf.Tensor3D // [B, T, half]
    const cos = tf.cos(angles).expandDims(1)
    const sin = tf.sin(angles).expandDims(1)
    const [x1, x2] = tf.split(x, 2, -1) as [tf.Tensor4D, tf.Tensor4D]
    return tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))], -1) as tf.Tensor4D
  }

  /** [B, T, d] -> [B, H, T, dh] */
  private splitHeads(x: tf.Tensor): tf.Tensor4D {
    const [batch, length] = x.shape as [number, number, number]
    return x.reshape([batch, length, this.config.num_attention_heads, this.headSize()]).transpose([0, 2, 1, 3])
  }

  /**
   * One block over `x` [B, T, d]; `keys`/`values` from earlier tokens are prepended when decoding.
   * `bias` [B, 1, T, Tall] holds 0 where attention is allowed and a large negative number elsewhere.
   */
  private block(
    layer: number,
    x: tf.Tensor3D,
    positions: tf.Tensor2D,
    bias: tf.Tensor,
    past?: { keys: tf.Tensor4D; values: tf.Tensor4D },
  ): { out: tf.Tensor3D; keys: tf.Tensor4D; values: tf.Tensor4D } {
    const p = `layers.${layer}.`
    const eps = this.config.layer_norm_epsilon
    const [batch, length, width] = x.shape
    const normed = layerNorm(x, this.w(`${p}ln_1.weight`) as tf.Tensor1D, this.w(`${p}ln_1.bias`) as tf.Tensor1D, eps)
    const qkv = linear(normed, this.w(`${p}attn.qkv.weight`) as tf.Tensor2D, this.w(`${p}attn.qkv.bias`) as tf.Tensor1D)
    const [q0, k0, v0] = tf.split(qkv, 3, -1)
    let q = this.splitHeads(q0!)
    let k = this.splitHeads(k0!)
    const v = this.splitHeads(v0!)
    if (this.config.position_embedding_type === 'rotary') {
      q = this.rotate(q, positions)
      k = this.rotate(k, positions)
    }
    const keys = past ? (tf.concat([past.keys, k], 2) as tf.Tensor4D) : k
    const values = past ? (tf.concat([past.values, v], 2) as tf.Tensor4D) : v
    const scores = tf.add(tf.mul(tf.matMul(q, tf.transpose(keys, [0, 1, 3, 2])), 1 / Math.sqrt(this.headSize())), bias)
    const attended = tf.matMul(tf.softmax(scores), values) // [B, H, T, dh]
    const merged = attended.transpose([0, 2, 1, 3]).reshape([batch, length, width])
    const h = tf.add(x, linear(merged, this.w(`${p}attn.out.weight`) as tf.Tensor2D, this.w(`${p}attn.out.bias`) as tf.Tensor1D))
    const normed2 = layerNorm(h, this.w(`${p}ln_2.weight`) as tf.Tensor1D, this.w(`${p}ln_2.bias`) as tf.Tensor1D, eps)
    const up = gelu(linear(normed2, this.w(`${p}mlp.up.weight`) as tf.Tensor2D, this.w(`${p}mlp.up.bias`) as tf.Tensor1D))
    const down = linear(up, this.w(`${p}mlp.down.weight`) as tf.Tensor2D, this.w(`${p}mlp.down.bias`) as tf.Tensor1D)
    return { out: tf.add(h, down) as tf.Tensor3D, keys, values }
  }

  private logits(h: tf.Tensor3D): tf.Tensor3D {
    const normed = layerNorm(
      h,
      this.w('ln_f.weight') as tf.Tensor1D,
      this.w('ln_f.bias') as tf.Tensor1D,
      this.config.layer_norm_epsilon,
    )
    return linear(normed, tf.transpose(this.w('embed_tokens.weight') as tf.Tensor2D)) as tf.Tensor3D
  }

  /** Positions of left-padded rows: the count of real tokens before each one (padding gets 0). */
  static positionsOf(mask: tf.Tensor2D): tf.Tensor2D {
    const one = tf.scalar(1, 'int32')
    return tf.maximum(tf.sub(tf.cumsum(mask.cast('int32'), 1), one), tf.scalar(0, 'int32')) as tf.Tensor2D
  }

  /** Additive attention bias [B, 1, T, T]: causal, and never towards padding. */
  private static causalBias(mask: tf.Tensor2D): tf.Tensor4D {
    const length = mask.shape[1]
    const causal = tf.linalg.bandPart(tf.ones([length, length]), -1, 0)
    const allowed = tf.mul(causal, mask.cast('float32').expandDims(1).expandDims(1)) // [B, 1, T, T]
    return tf.mul(tf.sub(1, allowed), MASKED) as tf.Tensor4D
  }

  /** Logits [B, T, V] for every position of left-padded `ids` [B, T] with `mask` [B, T] (1 = real token). */
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const positions = Transformer.positionsOf(mask)
      const bias = Transformer.causalBias(mask)
      let h = this.embedTokens(ids, positions)
      for (let layer = 0; layer < this.config.num_hidden_layers; layer++) h = this.block(layer, h, positions, bias).out
      return this.logits(h)
    })
  }

  /** Runs the prompt once and keeps its keys and values: returns the last position's logits [B, V]. */
  prefill(ids: tf.Tensor2D, mask: tf.Tensor2D): { logits: tf.Tensor2D; cache: KvCache } {
    const result = tf.tidy(() => {
      const positions = Transformer.positionsOf(mask)
      const bias = Transformer.causalBias(mask)
      let h = this.embedTokens(ids, positions)
      const keys: tf.Tensor4D[] = []
      const values: tf.Tensor4D[] = []
      for (let layer = 0; layer < this.config.num_hidden_layers; layer++) {
        const out = this.block(layer, h, positions, bias)
        h = out.out
        keys.push(out.keys)
        values.push(out.values)
      }
      const length = ids.shape[1]
      const last = this.logits(h.slice([0, length - 1, 0], [-1, 1, -1])).squeeze([1]) as tf.Tensor2D
      const nextPosition = mask.sum(1).cast('int32') as tf.Tensor1D
      return { logits: last, keys, values, mask: mask.cast('int32') as tf.Tensor2D, nextPosition }
    })
    return withCache(result)
  }

  /** Feeds one token per row [B] after the cached ones; returns its logits [B, V] and the grown cache (the old one is disposed). */
  decode(tokens: tf.Tensor1D, cache: KvCache): { logits: tf.Tensor2D; cache: KvCache } {
    const result = tf.tidy(() => {
      const { positions, mask, bias } = decodingStep(cache, tokens.shape[0])
      let h = this.embedTokens(tokens.expandDims(1) as tf.Tensor2D, positions)
      const keys: tf.Tensor4D[] = []
      const values: tf.Tensor4D[] = []
      for (let layer = 0; layer < this.config.num_hidden_layers; layer++) {
        const out = this.block(layer, h, positions, bias, { keys: cache.keys[layer]!, values: cache.values[layer]! })
        h = out.out
        keys.push(out.keys)
        values.push(out.values)
      }
      const logits = this.logits(h).squeeze([1]) as tf.Tensor2D
      return { logits, keys, values, mask, nextPosition: tf.add(cache.nextPosition, tf.scalar(1, 'int32')) as tf.Tensor1D }
    })
    disposeCache(cache)
    return withCache(result)
  }
}
