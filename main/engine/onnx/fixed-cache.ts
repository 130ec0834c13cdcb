// Decoding one token per row a step without moving the cache. The Hugging Face-named graphs (export.ts's
// exportGptKvOnnx, decoder-export.ts) take the past and return past + new as `present`: every step the whole cache is
// concatenated, transposed (or repeated across GQA groups) for the scores and copied back to JavaScript, several
// passes over the largest data of the step. A fixed-capacity decode graph (gpt-decode.ts for cwb-gpt,
// decoder-export.ts's exportDecoderDecodeOnnx for the families) instead reads cache buffers that stay here, zero-copy:
//   inputs   input_ids [B, 1], position_ids [B, 1], cache_bias [B, 1, 1, C] (0 where a slot holds a key, -1e9 where
//            it is padding or not written yet), cache.N.key [B, kv_heads, head_dim, C] (keys stored transposed, ready
//            for q·K), cache.N.value [B, kv_heads, C, head_dim], then the weights
//   outputs  logits [B, 1, V], new.N.key / new.N.value [B, kv_heads, 1, head_dim] (this token's, rotated keys)
// and the caller writes the new key and value into the next slot. Prefill stays on the Hugging Face-named graph.
import * as ort from 'onnxruntime-node'
import type { LogitsSource } from '../sampling'
import { lastPositions, leftPadIds } from '../sampling'
import type { CacheShape, OnnxKvSession, PassWeights } from './decoder-session'
import { decodeSessionThreads } from '../threads'
import { openSession } from './session'
import type { ExecutionProvider } from './session'
import type { onnx as Onnx } from 'onnx-proto'
import { int, onnx, valueInfo } from './export'
import type { GraphBuilder } from './export'

const MASKED = -1e9

/** The inputs (before the weights) and outputs of a fixed-capacity decode graph, as the header above lists them. */
export function fixedCacheGraphIo(
  shape: CacheShape,
  vocabSize: number,
): { input: Onnx.IValueInfoProto[]; output: Onnx.IValueInfoProto[] } {
  const FLOAT = onnx.TensorProto.DataType.FLOAT
  const INT64 = onnx.TensorProto.DataType.INT64
  const { heads, headDim } = shape
  const layers = Array.from({ length: shape.layers }, (_, i) => i)
  return {
    input: [
      valueInfo('input_ids', INT64, ['batch', 1]),
      valueInfo('position_ids', INT64, ['batch', 1]),
      valueInfo('cache_bias', FLOAT, ['batch', 1, 1, 'capacity']),
      ...layers.flatMap((i) => [
        valueInfo(`cache.${i}.key`, FLOAT, ['batch', heads, headDim, 'capacity']),
        valueInfo(`cache.${i}.value`, FLOAT, ['batch', heads, 'capacity', headDim]),
      ]),
    ],
    output: [
      valueInfo('logits', FLOAT, ['batch', 1, vocabSize]),
      ...layers.flatMap((i) =>
        ['key', 'value'].map((part) => valueInfo(`new.${i}.${part}`, FLOAT, ['batch', heads, 1, headDim])),
      ),
    ],
  }
}

/**
 * The attention of a fixed-capacity decode graph for layer `layer`: q [B, KVH, G, dh] (G query heads per cache head;
 * a graph without GQA has G = the one new position) scores the cache (`cache.N.key` [B, KVH, dh, C] + `cache_bias`)
 * and this token's k [B, KVH, 1, dh] apart, one softmax over both, then takes `cache.N.value` and v in those shares.
 * k and v are the graph's `new.N.key` / `new.N.value` outputs. Returns the attended values [B, KVH, G, dh].
 */
export function fixedCacheAttention(g: GraphBuilder): (layer: number, q: string, k: string, v: string, scale: string) => string {
  const i64 = (name: string, values: number[]): string => g.constant(name, [values.length], values, 'int64')
  const last = i64('fixed_axis_last', [-1])
  const allButLast = { starts: i64('fixed_slice_start', [0]), ends: i64('fixed_slice_end_but_last', [-1]) }
  const lastOnly = { starts: i64('fixed_slice_last_start', [-1]), ends: i64('fixed_slice_last_end', [2 ** 62]) }
  return (layer, q, k, v, scale) => {
    g.op('Identity', [k], [], `new.${layer}.key`)
    g.op('Identity', [v], [], `new.${layer}.value`)
    const cached = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, `cache.${layer}.key`]), scale]), 'cache_bias'])
    const own = g.op('Mul', [g.op('ReduceSum', [g.op('Mul', [q, k]), last], [int('keepdims', 1)]), scale])
    const probs = g.op('Softmax', [g.op('Concat', [cached, own], [int('axis', -1)])], [int('axis', -1)])
    const toCache = g.op('Slice', [probs, allButLast.starts, allButLast.ends, last])
    const toOwn = g.op('Slice', [probs, lastOnly.starts, lastOnly.ends, last])
    return g.op('Add', [g.op('MatMul', [toCache, `cache.${layer}.value`]), g.op('Mul', [toOwn, v])])
  }
}

/** Small integers as int64 (a decode step converts its ids, positions and mask every pass: no intermediate arrays). */
export function int64Of(values: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]!)
  return out
}

/** Wraps weight feeds as onnxruntime tensors over the same Float32Arrays (no copy). */
export function weightTensors(weights: PassWeights): Record<string, ort.Tensor> {
  const tensors: Record<string, ort.Tensor> = {}
  for (const [name, feed] of Object.entries(weights))
    tensors[name] = feed instanceof ort.Tensor ? feed : new ort.Tensor('float32', feed.data, feed.dims)
  return tensors
}

/**
 * The prefill of left-padded prompt rows where rows repeat (a group's G samples): each distinct prompt runs once.
 * Returns the next-token logits of every row [B, V], which distinct prompt each row is (`source`), and the distinct
 * prompts' padded mask [U, length] and cache per layer [U, heads, length, head_dim].
 */
export async function prefillDistinct(
  model: OnnxKvSession,
  rows: number[][],
  padTokenId: number,
  weights?: Record<string, ort.Tensor>,
): Promise<{
  logits: Float32Array
  length: number
  mask: Int32Array
  source: number[]
  keys: ort.Tensor[]
  values: ort.Tensor[]
}> {
  const vocab = model.vocabSize
  const keyOf = rows.map((row) => row.join(','))
  const distinct = [...new Set(keyOf)]
  const unique = distinct.map((key) => rows[keyOf.indexOf(key)]!)
  const { ids, mask, length } = leftPadIds(unique, padTokenId)
  const result = await model.run({ ids, mask, batch: unique.length, length }, weights)
  const source = keyOf.map((key) => distinct.indexOf(key))
  const uniqueLogits = lastPositions(result.logits, unique.length, length, vocab)
  const logits = new Float32Array(rows.length * vocab)
  source.forEach((u, r) => logits.set(uniqueLogits.subarray(u * vocab, (u + 1) * vocab), r * vocab))
  return { logits, length, mask, source, keys: result.keys, values: result.values }
}

/** The rows of one decode pass and their cache buffers (capacity `capacity` slots, `used` of them written). */
interface Rows {
  rows: number[]
  /** Per row: the next position id (its real tokens so far). */
  positions: number[]
  bias: Float32Array
  keys: Float32Array[]
  values: Float32Array[]
}

/** A session of a fixed-capacity decode graph (gpt-decode.ts's, decoder-export.ts's); the weights are fed with every pass. */
export class FixedCacheDecoder {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly vocabSize: number,
    readonly cache: CacheShape,
  ) {}

  /** `parameters` (the model's) sets the session's threads: one for a tiny model (threads.ts, decodeSessionThreads). */
  static async open(
    bytes: Uint8Array,
    vocabSize: number,
    cache: CacheShape,
    parameters: number,
    providers: ExecutionProvider[] = ['cpu'],
  ): Promise<FixedCacheDecoder> {
    return new FixedCacheDecoder(await openSession(bytes, providers, decodeSessionThreads(parameters)), vocabSize, cache)
  }

  async release(): Promise<void> {
    await this.session.release()
  }

  /**
   * Fixed-capacity sampling: prefill on `kv` (the Hugging Face-named graph, each distinct prompt once), then one
   * token per row a step through this graph; rows that finish leave the pass once a quarter of its rows have.
   */
  logits(kv: OnnxKvSession, weights: PassWeights): LogitsSource {
    const { session } = this
    const vocab = this.vocabSize
    const layerCount = this.cache.layers
    const heads = this.cache.heads
    const headSize = this.cache.headDim
    const fed = weightTensors(weights)
    let live: Rows | undefined
    let batch = 0
    let capacity = 0
    let used = 0
    const slotFloats = heads * headSize
    const pick = (data: Float32Array, keep: number[], size: number): Float32Array => {
      const out = new Float32Array(keep.length * size)
      keep.forEach((row, i) => out.set(data.subarray(row * size, (row + 1) * size), i * size))
      return out
    }
    /** Moves the buffers to a larger capacity (slots keep their index). */
    const grow = (rows: Rows, next: number): void => {
      const n = rows.rows.length
      const bias = new Float32Array(n * next).fill(MASKED)
      for (let r = 0; r < n; r++) bias.set(rows.bias.subarray(r * capacity, (r + 1) * capacity), r * next)
      rows.bias = bias
      rows.keys = rows.keys.map((old) => {
        const out = new Float32Array(n * slotFloats * next)
        for (let line = 0; line < n * slotFloats; line++)
          out.set(old.subarray(line * capacity, (line + 1) * capacity), line * next)
        return out
      })
      rows.values = rows.values.map((old) => {
        const out = new Float32Array(n * heads * next * headSize)
        for (let line = 0; line < n * heads; line++)
          out.set(old.subarray(line * capacity * headSize, (line + 1) * capacity * headSize), line * next * headSize)
        return out
      })
      capacity = next
    }
    return {
      vocabSize: vocab,
      async prefill(rows, padTokenId) {
        batch = rows.length
        const prefilled = await prefillDistinct(kv, rows, padTokenId, fed)
        const { length, mask, source, keys, values } = prefilled
        used = length
        capacity = length + 32
        const n = rows.length
        const state: Rows = {
          rows: rows.map((_, r) => r),
          positions: source.map((u) => mask.subarray(u * length, (u + 1) * length).reduce((a, b) => a + b, 0)),
          bias: new Float32Array(n * capacity).fill(MASKED),
          keys: [],
          values: [],
        }
        source.forEach((u, r) => {
          for (let s = 0; s < length; s++) if (mask[u * length + s] === 1) state.bias[r * capacity + s] = 0
        })
        for (let layer = 0; layer < layerCount; layer++) {
          // present [U, heads, P, head_size] -> keys [B, heads, head_size, C] (transposed), values [B, heads, C, head_size].
          const k = keys[layer]!.data as Float32Array
          const v = values[layer]!.data as Float32Array
          const kt = new Float32Array(n * slotFloats * capacity)
          const vc = new Float32Array(n * heads * capacity * headSize)
          source.forEach((u, r) => {
            for (let h = 0; h < heads; h++) {
              const from = (u * heads + h) * length * headSize
              for (let s = 0; s < length; s++) {
                for (let j = 0; j < headSize; j++)
                  kt[((r * heads + h) * headSize + j) * capacity + s] = k[from + s * headSize + j]!
                vc.set(v.subarray(from + s * headSize, from + (s + 1) * headSize), ((r * heads + h) * capacity + s) * headSize)
              }
            }
          })
          state.keys.push(kt)
          state.values.push(vc)
        }
        live = state
        return prefilled.logits
      },
      async step(tokens, active) {
        const logits = new Float32Array(batch * vocab)
        if (!live) return logits
        let rows = live
        const keep = rows.rows.map((_, i) => i).filter((i) => active?.[rows.rows[i]!] ?? true)
        if (keep.length === 0) {
          live = undefined
          return logits
        }
        // Finished rows leave the pass once a quarter of it has finished (each removal copies the buffers).
        if (keep.length <= (rows.rows.length * 3) / 4) {
          rows = {
            rows: keep.map((i) => rows.rows[i]!),
            positions: keep.map((i) => rows.positions[i]!),
            bias: pick(rows.bias, keep, capacity),
            keys: rows.keys.map((t) => pick(t, keep, slotFloats * capacity)),
            values: rows.values.map((t) => pick(t, keep, slotFloats * capacity)),
          }
        }
        if (used === capacity) grow(rows, capacity * 2)
        const n = rows.rows.length
        const feeds: Record<string, ort.Tensor> = {
          ...fed,
          input_ids: new ort.Tensor('int64', int64Of(rows.rows.map((r) => tokens[r]!)), [n, 1]),
          position_ids: new ort.Tensor('int64', int64Of(rows.positions), [n, 1]),
          cache_bias: new ort.Tensor('float32', rows.bias, [n, 1, 1, capacity]),
        }
        for (let layer = 0; layer < layerCount; layer++) {
          feeds[`cache.${layer}.key`] = new ort.Tensor('float32', rows.keys[layer]!, [n, heads, headSize, capacity])
          feeds[`cache.${layer}.value`] = new ort.Tensor('float32', rows.values[layer]!, [n, heads, capacity, headSize])
        }
        const result = await session.run(feeds)
        const out = result.logits!.data as Float32Array
        rows.rows.forEach((r, i) => logits.set(out.subarray(i * vocab, (i + 1) * vocab), r * vocab))
        // This token's key and value go to slot `used`, which the next pass attends to.
        for (let layer = 0; layer < layerCount; layer++) {
          const k = result[`new.${layer}.key`]!.data as Float32Array
          const v = result[`new.${layer}.value`]!.data as Float32Array
          const kt = rows.keys[layer]!
          const vc = rows.values[layer]!
          for (let line = 0; line < n * heads; line++) {
            for (let j = 0; j < headSize; j++) kt[(line * headSize + j) * capacity + used] = k[line * headSize + j]!
            vc.set(v.subarray(line * headSize, (line + 1) * headSize), (line * capacity + used) * headSize)
          }
        }
        for (let i = 0; i < n; i++) {
          rows.bias[i * capacity + used] = 0
          rows.positions[i]! += 1
        }
        used += 1
        live = rows
        return logits
      },
      dispose() {
        live = undefined
      },
    }
  }
}
