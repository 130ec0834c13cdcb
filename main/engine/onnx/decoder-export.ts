// ONNX export (opset 13) of the Hugging Face decoder families (qwen2, qwen3, llama) with the KV cache in the graph,
// named as Hugging Face's ONNX exports (optimum) name them:
//   inputs   input_ids [B, T] int64, attention_mask [B, P + T] int64 (1 = real token, past and new),
//            position_ids [B, T] int64 (fed by the caller: cumulative attention mask - 1, at least 0, as the tfjs
//            decoder computes them), past_key_values.N.key / .value [B, kv_heads, P, head_dim] float32 (P may be 0),
//            then the weights (see decoderWeightFeeds)
//   outputs  logits [B, T, V], present.N.key / .value [B, kv_heads, P + T, head_dim] (rotated keys, as in transformers)
// The semantics are the tfjs decoder's (model/families/decoder.ts): RMSNorm, q/k/v projections (+ biases), Qwen3's
// per-head q/k RMSNorm, rotate-half rope, grouped-query attention by repeating KV heads, SwiGLU, tied or untied head.
// The causal, padding-aware additive bias (0 or -1e9) is built in the graph from attention_mask: query t (absolute
// index P + t) sees key s when s <= P + t and attention_mask[s] = 1. Rope's cos / sin tables [max_positions, head_dim/2]
// are computed here in float64 from the inverse frequencies (plain, linear, llama3) and gathered by position_ids.
// Every weight and the rope tables are graph inputs, never initializers, so the protobuf stays a few hundred KB
// whatever the model's size (onnxruntime refuses in-memory models over 2 GiB); no external-data file is written.
import type { onnx as Onnx } from 'onnx-proto'
import { decoderWeightShapes } from '../model/families/decoder-config'
import type { DecoderConfig } from '../model/families/decoder-config'
import { inverseFrequencies } from '../model/families/rope'
import { encodeModel, GraphBuilder, int, ints, maskBias, onnx, valueInfo } from './export'
import { fixedCacheAttention, fixedCacheGraphIo } from './fixed-cache'
import type { WeightFeed } from './export'

const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

/** The graph's non-weight input and output names, as Hugging Face's ONNX exports have them. */
export function decoderIoNames(layers: number): { inputs: string[]; outputs: string[] } {
  const cache = (prefix: string): string[] =>
    Array.from({ length: layers }, (_, i) => [`${prefix}.${i}.key`, `${prefix}.${i}.value`]).flat()
  return {
    inputs: ['input_ids', 'attention_mask', 'position_ids', ...cache('past_key_values')],
    outputs: ['logits', ...cache('present')],
  }
}

/** Projections are fed transposed ([in, out], for MatMul) under their name plus `.T`; everything else as in the file. */
const isProjection = (name: string): boolean => /_proj\.weight$/.test(name) || name === 'lm_head.weight'
export const feedName = (name: string): string => (isProjection(name) ? `${name}.T` : name)

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!
  return out
}

/** The rope tables cos and sin [max_positions, head_dim / 2], computed in float64 and rounded once. */
function ropeTables(config: DecoderConfig): { cos: Float32Array; sin: Float32Array } {
  const inverse = inverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling)
  const half = inverse.length
  const cos = new Float32Array(config.maxPositions * half)
  const sin = new Float32Array(config.maxPositions * half)
  for (let p = 0; p < config.maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      // tfjs multiplies in float32: round the angle the same way so both engines rotate by the same amounts.
      const angle = Math.fround(p * Math.fround(inverse[i]!))
      cos[p * half + i] = Math.cos(angle)
      sin[p * half + i] = Math.sin(angle)
    }
  }
  return { cos, sin }
}

/**
 * The weight inputs the graph expects: every weight of decoderWeightShapes (read in Hugging Face layout, projections
 * transposed to [in, out]) plus `rope.cos` / `rope.sin`. `read` returns a tensor's float32 values as in the file;
 * `readTransposed`, when given, returns a projection already as [in, out] (the layout the tfjs decoder keeps).
 */
export function decoderWeightFeeds(
  config: DecoderConfig,
  read: (name: string) => Float32Array,
  readTransposed?: (name: string) => Float32Array,
): Record<string, WeightFeed> {
  const feeds: Record<string, WeightFeed> = {}
  for (const [name, shape] of Object.entries(decoderWeightShapes(config))) {
    const projection = isProjection(name)
    const values = projection && readTransposed ? readTransposed(name) : read(name)
    const size = shape.reduce((a, b) => a * b, 1)
    if (values.length !== size) throw new Error(`weight ${name}: ${values.length} values for shape [${shape.join(', ')}]`)
    if (projection)
      feeds[feedName(name)] = {
        dims: [shape[1]!, shape[0]!],
        data: readTransposed ? values : transpose(values, shape[0]!, shape[1]!),
      }
    else feeds[name] = { dims: shape, data: values }
  }
  const { cos, sin } = ropeTables(config)
  const half = config.headDim / 2
  feeds['rope.cos'] = { dims: [config.maxPositions, half], data: cos }
  feeds['rope.sin'] = { dims: [config.maxPositions, half], data: sin }
  return feeds
}

/** Serialises the decoder graph (weights as inputs: the bytes hold no weights, only the config's shapes). */
export function exportDecoderOnnx(config: DecoderConfig): Uint8Array {
  return encodeModel(buildDecoderGraph(config))
}

/** The fixed-capacity decode graph of the same model (fixed-cache.ts): one token per row, the cache read in place. */
export function exportDecoderDecodeOnnx(config: DecoderConfig): Uint8Array {
  return encodeModel(buildDecoderGraph(config, true))
}

function buildDecoderGraph(c: DecoderConfig, decode = false): Onnx.IGraphProto {
  const g = new GraphBuilder(true)
  const empty = new Float32Array(0)
  const shapes = decoderWeightShapes(c)
  const declared = new Set<string>()
  const w = (name: string): string => {
    const shape = shapes[name]
    if (!shape) throw new Error(`weight ${name} is not part of this config`)
    if (declared.has(name)) return feedName(name)
    declared.add(name)
    return g.weight(feedName(name), isProjection(name) ? [shape[1]!, shape[0]!] : shape, empty)
  }
  const half = c.headDim / 2
  const groups = c.heads / c.kvHeads
  const i64 = (name: string, values: number[]): string => g.constant(name, [values.length], values, 'int64')
  const eps = g.constant('rms_norm_eps', [], [c.rmsNormEps])
  const one = g.constant('one', [], [1])
  const headScale = g.constant('head_scale', [], [1 / Math.sqrt(c.headDim)])
  const axis1 = i64('axis_1', [1])
  const qShape = i64('q_heads_shape', [0, 0, c.heads, c.headDim])
  const kvShape = i64('kv_heads_shape', [0, 0, c.kvHeads, c.headDim])
  const mergeShape = i64('merge_heads_shape', [0, 0, c.heads * c.headDim])
  // GQA: [B, KVH, S, dh] -> [B, KVH, groups, S, dh] -> [B, H, S, dh], as transformers' repeat_kv.
  const repeat =
    groups === 1 || decode
      ? undefined
      : {
          axis: i64('axis_2', [2]),
          tiles: i64('repeat_kv_tiles', [1, 1, groups, 1, 1]),
          shape: i64('repeat_kv_shape', [0, c.heads, -1, c.headDim]),
        }

  const rmsNorm = (x: string, weight: string): string => {
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], [ints('axes', [-1]), int('keepdims', 1)])
    const inverse = g.op('Div', [one, g.op('Sqrt', [g.op('Add', [meanSquare, eps])])])
    return g.op('Mul', [g.op('Mul', [x, inverse]), weight])
  }
  const project = (x: string, name: string, bias: boolean): string => {
    const product = g.op('MatMul', [x, w(`${name}.weight`)])
    return bias ? g.op('Add', [product, w(`${name}.bias`)]) : product
  }

  // The additive attention bias [B, 1, T, P + T] from attention_mask (the decode graph takes cache_bias instead).
  const bias = decode ? undefined : maskBias(g)
  const attendFixed = decode ? fixedCacheAttention(g) : undefined
  const groupShapes = decode
    ? {
        group: i64('gqa_group_shape', [0, c.kvHeads, groups, c.headDim]),
        heads: i64('gqa_heads_shape', [0, c.heads, 1, c.headDim]),
      }
    : undefined

  // Rope: cos / sin [B, 1, T, half] gathered by position_ids.
  const cos = g.op('Unsqueeze', [
    g.op('Gather', [g.weight('rope.cos', [c.maxPositions, half], empty), 'position_ids'], [int('axis', 0)]),
    axis1,
  ])
  const sin = g.op('Unsqueeze', [
    g.op('Gather', [g.weight('rope.sin', [c.maxPositions, half], empty), 'position_ids'], [int('axis', 0)]),
    axis1,
  ])
  const firstStart = i64('rope_first_start', [0])
  const firstEnd = i64('rope_first_end', [half])
  const secondEnd = i64('rope_second_end', [c.headDim])
  const lastAxis = i64('rope_axes', [3])
  const rotate = (x: string): string => {
    const x1 = g.op('Slice', [x, firstStart, firstEnd, lastAxis])
    const x2 = g.op('Slice', [x, firstEnd, secondEnd, lastAxis])
    const first = g.op('Sub', [g.op('Mul', [x1, cos]), g.op('Mul', [x2, sin])])
    const second = g.op('Add', [g.op('Mul', [x2, cos]), g.op('Mul', [x1, sin])])
    return g.op('Concat', [first, second], [int('axis', -1)])
  }
  const splitHeads = (x: string, shape: string): string =>
    g.op('Transpose', [g.op('Reshape', [x, shape])], [ints('perm', [0, 2, 1, 3])])
  const repeatKv = (x: string): string =>
    repeat ? g.op('Reshape', [g.op('Tile', [g.op('Unsqueeze', [x, repeat.axis]), repeat.tiles]), repeat.shape]) : x

  let h = g.op('Gather', [w('model.embed_tokens.weight'), 'input_ids'], [int('axis', 0)])
  for (let layer = 0; layer < c.layers; layer++) {
    const p = `model.layers.${layer}.`
    const normed = rmsNorm(h, w(`${p}input_layernorm.weight`))
    let q = splitHeads(project(normed, `${p}self_attn.q_proj`, c.qkvBias), qShape)
    let k = splitHeads(project(normed, `${p}self_attn.k_proj`, c.qkvBias), kvShape)
    const v = splitHeads(project(normed, `${p}self_attn.v_proj`, c.qkvBias), kvShape)
    if (c.qkNorm) {
      q = rmsNorm(q, w(`${p}self_attn.q_norm.weight`))
      k = rmsNorm(k, w(`${p}self_attn.k_norm.weight`))
    }
    q = rotate(q)
    k = rotate(k)
    let attended: string
    if (attendFixed) {
      // One position: q [B, H, 1, dh] as [B, KVH, groups, dh] (head h = kv head h / groups, as repeat_kv), so the
      // cache is read per KV head, never repeated.
      const grouped = attendFixed(layer, g.op('Reshape', [q, groupShapes!.group]), k, v, headScale)
      attended = g.op('Reshape', [grouped, groupShapes!.heads])
    } else {
      const keys = g.op('Concat', [`past_key_values.${layer}.key`, k], [int('axis', 2)], `present.${layer}.key`)
      const values = g.op('Concat', [`past_key_values.${layer}.value`, v], [int('axis', 2)], `present.${layer}.value`)
      const scores = g.op('Add', [
        g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [repeatKv(keys)], [ints('perm', [0, 1, 3, 2])])]), headScale]),
        bias!,
      ])
      attended = g.op('MatMul', [g.op('Softmax', [scores], [int('axis', -1)]), repeatKv(values)])
    }
    const merged = g.op('Reshape', [g.op('Transpose', [attended], [ints('perm', [0, 2, 1, 3])]), mergeShape])
    h = g.op('Add', [h, project(merged, `${p}self_attn.o_proj`, c.outputBias)])
    const normed2 = rmsNorm(h, w(`${p}post_attention_layernorm.weight`))
    const gate = project(normed2, `${p}mlp.gate_proj`, c.mlpBias)
    const up = project(normed2, `${p}mlp.up_proj`, c.mlpBias)
    const swiglu = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up])
    h = g.op('Add', [h, project(swiglu, `${p}mlp.down_proj`, c.mlpBias)])
  }
  const final = rmsNorm(h, w('model.norm.weight'))
  if (c.tieWordEmbeddings) {
    // Tied head: Gemm with transB reads the [V, d] embedding as is (no transposed copy in memory).
    const flat = g.op('Reshape', [final, i64('flat_shape', [-1, c.hiddenSize])])
    const product = g.op('Gemm', [flat, w('model.embed_tokens.weight')], [int('transB', 1)])
    const outShape = g.op(
      'Concat',
      [g.op('Slice', [g.op('Shape', [final]), i64('bt_start', [0]), i64('bt_end', [2])]), i64('vocab_dim', [c.vocabSize])],
      [int('axis', 0)],
    )
    g.op('Reshape', [product, outShape], [], 'logits')
  } else g.op('MatMul', [final, w('lm_head.weight')], [], 'logits')

  const cacheInfo = (name: string, sequence: string): Onnx.IValueInfoProto =>
    valueInfo(name, FLOAT, ['batch', c.kvHeads, sequence, c.headDim])
  if (decode) {
    const io = fixedCacheGraphIo({ layers: c.layers, heads: c.kvHeads, headDim: c.headDim }, c.vocabSize)
    return {
      name: `${c.modelType}-decode`,
      node: g.nodes,
      initializer: g.initializers,
      input: [...io.input, ...g.weightInputs],
      output: io.output,
    }
  }
  const names = decoderIoNames(c.layers)
  return {
    name: c.modelType,
    node: g.nodes,
    initializer: g.initializers,
    input: [
      valueInfo('input_ids', INT64, ['batch', 'sequence']),
      valueInfo('attention_mask', INT64, ['batch', 'total_sequence']),
      valueInfo('position_ids', INT64, ['batch', 'sequence']),
      ...names.inputs.slice(3).map((name) => cacheInfo(name, 'past_sequence')),
      ...g.weightInputs,
    ],
    output: [
      valueInfo('logits', FLOAT, ['batch', 'sequence', c.vocabSize]),
      ...names.outputs.slice(1).map((name) => cacheInfo(name, 'total_sequence')),
    ],
  }
}
