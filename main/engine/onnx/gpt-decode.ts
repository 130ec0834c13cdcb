// Decoding cwb-gpt one token per row a step without moving its cache. The Hugging Face-named graph (export.ts,
// exportGptKvOnnx) takes the past and returns past + new as `present`: every step the whole cache is concatenated,
// transposed for the scores and copied back to JavaScript, several passes over the largest data of the step. This
// graph instead reads a cache buffer of fixed capacity that stays in JavaScript, zero-copy:
//   inputs   input_ids [B, 1], position_ids [B, 1], cache_bias [B, 1, 1, C] (0 where a slot holds a key, -1e9 where
//            it is padding or not written yet), cache.N.key [B, heads, head_size, C] (keys stored transposed, ready
//            for q·K), cache.N.value [B, heads, C, head_size], then the weights of onnxWeightFeeds
//   outputs  logits [B, 1, V], new.N.key / new.N.value [B, heads, 1, head_size] (this token's, rotated keys)
// Attention scores q over the cache and over the new key apart, one softmax over both, so nothing is concatenated
// but the scores; the caller writes the new key and value into the next slot. Prefill stays on the Hugging Face graph.
import * as ort from 'onnxruntime-node'
import type { ModelConfig } from '../model/config'
import type { LogitsSource } from '../sampling'
import { sessionThreads } from '../threads'
import { prefillDistinct, weightTensors } from './decoder-session'
import type { OnnxKvSession, PassWeights } from './decoder-session'
import { encodeModel, GraphBuilder, gptNodes, graphWeights, int, onnx, valueInfo } from './export'
import type { ExecutionProvider } from './session'

const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64
const MASKED = -1e9

export function exportGptDecodeOnnx(config: ModelConfig): Uint8Array {
  const g = new GraphBuilder(true)
  const empty = new Float32Array(0)
  const shapes = graphWeights(config)
  const i64 = (name: string, values: number[]): string => g.constant(name, [values.length], values, 'int64')
  const last = i64('axis_last', [-1])
  const allButLast = { starts: i64('slice_start', [0]), ends: i64('slice_end_but_last', [-1]) }
  const lastOnly = { starts: i64('slice_last_start', [-1]), ends: i64('slice_last_end', [2 ** 62]) }
  gptNodes(g, config, (name) => g.weight(name, shapes[name]!.dims, empty), {
    attend(layer, q, k, v, scale) {
      g.op('Identity', [k], [], `new.${layer}.key`)
      g.op('Identity', [v], [], `new.${layer}.value`)
      const cached = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, `cache.${layer}.key`]), scale]), 'cache_bias'])
      const own = g.op('Mul', [g.op('ReduceSum', [g.op('Mul', [q, k]), last], [int('keepdims', 1)]), scale])
      const probs = g.op('Softmax', [g.op('Concat', [cached, own], [int('axis', -1)])], [int('axis', -1)])
      const toCache = g.op('Slice', [probs, allButLast.starts, allButLast.ends, last])
      const toOwn = g.op('Slice', [probs, lastOnly.starts, lastOnly.ends, last])
      return g.op('Add', [g.op('MatMul', [toCache, `cache.${layer}.value`]), g.op('Mul', [toOwn, v])])
    },
  })
  const heads = config.num_attention_heads
  const headSize = config.hidden_size / heads
  const layers = Array.from({ length: config.num_hidden_layers }, (_, i) => i)
  return encodeModel({
    name: `${config.model_type}-decode`,
    node: g.nodes,
    initializer: g.initializers,
    input: [
      valueInfo('input_ids', INT64, ['batch', 1]),
      valueInfo('position_ids', INT64, ['batch', 1]),
      valueInfo('cache_bias', FLOAT, ['batch', 1, 1, 'capacity']),
      ...layers.flatMap((i) => [
        valueInfo(`cache.${i}.key`, FLOAT, ['batch', heads, headSize, 'capacity']),
        valueInfo(`cache.${i}.value`, FLOAT, ['batch', heads, 'capacity', headSize]),
      ]),
      ...g.weightInputs,
    ],
    output: [
      valueInfo('logits', FLOAT, ['batch', 1, config.vocab_size]),
      ...layers.flatMap((i) => [
        valueInfo(`new.${i}.key`, FLOAT, ['batch', heads, 1, headSize]),
        valueInfo(`new.${i}.value`, FLOAT, ['batch', heads, 1, headSize]),
      ]),
    ],
  })
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

/** A session of exportGptDecodeOnnx; the weights are fed with every pass. */
export class GptDecoder {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: ModelConfig,
  ) {}

  static async create(config: ModelConfig, providers: ExecutionProvider[] = ['cpu']): Promise<GptDecoder> {
    const session = await ort.InferenceSession.create(exportGptDecodeOnnx(config), {
      executionProviders: providers,
      graphOptimizationLevel: 'all',
      ...sessionThreads(),
    })
    return new GptDecoder(session, config)
  }

  async release(): Promise<void> {
    await this.session.release()
  }

  /**
   * Fixed-capacity sampling: prefill on `kv` (the Hugging Face-named graph, each distinct prompt once), then one
   * token per row a step through this graph; rows that finish leave the pass once a quarter of its rows have.
   */
  logits(kv: OnnxKvSession, weights: PassWeights): LogitsSource {
    const { config, session } = this
    const vocab = config.vocab_size
    const layerCount = config.num_hidden_layers
    const heads = config.num_attention_heads
    const headSize = config.hidden_size / heads
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
          input_ids: new ort.Tensor(
            'int64',
            BigInt64Array.from(rows.rows, (r) => BigInt(tokens[r]!)),
            [n, 1],
          ),
          position_ids: new ort.Tensor(
            'int64',
            BigInt64Array.from(rows.positions, (p) => BigInt(p)),
            [n, 1],
          ),
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
