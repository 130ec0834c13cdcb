// ONNX exports of the demo model (opset 13), for onnxruntime-node. exportOnnx's graph takes token ids, their
// positions and the additive attention bias (both computed from the padding mask exactly as the tfjs
// model does, see inputsFor) and returns logits [B, T, V]; weights are graph initializers or inputs.
// exportGptKvOnnx's graph has the KV cache in it (Hugging Face's names, as decoder-export.ts), for rollouts that
// decode one token per step. Both share their nodes (gptNodes) and their weights (onnxWeightFeeds).
import onnxProto from 'onnx-proto'
import type { onnx as Onnx } from 'onnx-proto'
import { weightShapes } from '../model/config'
import type { ModelConfig } from '../model/config'

// onnx-proto is CommonJS: its namespace comes through the default export.
export const { onnx } = onnxProto
const OPSET = 13
const MASKED = -1e9
const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

export type Attr = Onnx.IAttributeProto

/** A weight fed at run time: weights as graph inputs let one warm session follow a model that trains. */
export interface WeightFeed {
  dims: number[]
  data: Float32Array
}

/** Nodes, initializers and weight inputs of a graph being built (shared with decoder-export.ts). */
export class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = []
  readonly initializers: Onnx.ITensorProto[] = []
  readonly weightInputs: Onnx.IValueInfoProto[] = []
  readonly feeds: Record<string, WeightFeed> = {}
  private counter = 0

  constructor(private readonly weightsAsInputs: boolean) {}

  /** A tensor derived from the model's weights: an initializer, or a graph input fed with each run. */
  weight(name: string, dims: number[], values: Float32Array): string {
    if (!this.weightsAsInputs) return this.constant(name, dims, values)
    this.feeds[name] = { dims, data: values }
    this.weightInputs.push(valueInfo(name, onnx.TensorProto.DataType.FLOAT, dims))
    return name
  }

  constant(name: string, dims: number[], values: Float32Array | number[], type: 'float' | 'int64' = 'float'): string {
    const tensor: Onnx.ITensorProto = { name, dims }
    if (type === 'float') {
      tensor.dataType = onnx.TensorProto.DataType.FLOAT
      const floats = values instanceof Float32Array ? values : Float32Array.from(values)
      tensor.rawData = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength)
    } else {
      tensor.dataType = onnx.TensorProto.DataType.INT64
      const ints = BigInt64Array.from(Array.from(values, (v) => BigInt(v)))
      tensor.rawData = new Uint8Array(ints.buffer)
    }
    this.initializers.push(tensor)
    return name
  }

  op(type: string, inputs: string[], attributes: Attr[] = [], outputName?: string): string {
    const output = outputName ?? `${type.toLowerCase()}_${this.counter++}`
    this.nodes.push({ opType: type, input: inputs, output: [output], attribute: attributes, name: output })
    return output
  }
}

export const ints = (name: string, values: number[]): Attr => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
})
export const int = (name: string, value: number): Attr => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: value })

export function valueInfo(name: string, elemType: number, dims: (number | string)[]): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  }
}

/** Serialises the model to ONNX bytes: with these weights inside, or (weightsAsInputs) expecting them as inputs. */
export function exportOnnx(
  config: ModelConfig,
  weights: Record<string, Float32Array>,
  options: { weightsAsInputs?: boolean } = {},
): Uint8Array {
  const weightsAsInputs = options.weightsAsInputs ?? false
  const g = new GraphBuilder(weightsAsInputs)
  const feeds = onnxWeightFeeds(config, weights)
  gptNodes(
    g,
    config,
    (name) => g.weight(name, feeds[name]!.dims, feeds[name]!.data),
    concatAttention(g, { bias: 'attention_bias', keysValues: (_, keys, values) => ({ keys, values }) }),
  )
  return encodeModel({
    name: config.model_type,
    node: g.nodes,
    initializer: g.initializers,
    input: [
      valueInfo('input_ids', INT64, ['batch', 'sequence']),
      valueInfo('position_ids', INT64, ['batch', 'sequence']),
      valueInfo('attention_bias', FLOAT, ['batch', 1, 'sequence', 'sequence']),
      ...g.weightInputs,
    ],
    output: [valueInfo('logits', FLOAT, ['batch', 'sequence', config.vocab_size])],
  })
}

/**
 * The model's KV-cached graph, with the names of decoder-export.ts (Hugging Face's ONNX exports):
 *   inputs   input_ids [B, T], attention_mask [B, P + T] (1 = real token, past and new), position_ids [B, T] (fed by
 *            the caller: cumulative attention mask - 1, at least 0), past_key_values.N.key / .value [B, heads, P,
 *            head_size] (P may be 0), then the weights of onnxWeightFeeds
 *   outputs  logits [B, T, V], present.N.key / .value [B, heads, P + T, head_size] (with rotary positions the keys
 *            are the rotated ones)
 * Every weight is a graph input, so one session follows a model that trains and the bytes hold only the shapes.
 */
export function exportGptKvOnnx(config: ModelConfig): Uint8Array {
  const g = new GraphBuilder(true)
  const empty = new Float32Array(0)
  const shapes = graphWeights(config)
  const concat = (past: string, now: string, present: string): string => g.op('Concat', [past, now], [int('axis', 2)], present)
  gptNodes(
    g,
    config,
    (name) => g.weight(name, shapes[name]!.dims, empty),
    concatAttention(g, {
      bias: maskBias(g),
      keysValues: (layer, keys, values) => ({
        keys: concat(`past_key_values.${layer}.key`, keys, `present.${layer}.key`),
        values: concat(`past_key_values.${layer}.value`, values, `present.${layer}.value`),
      }),
    }),
  )
  const layers = Array.from({ length: config.num_hidden_layers }, (_, i) => i)
  const cache = (prefix: string, sequence: string): Onnx.IValueInfoProto[] =>
    layers.flatMap((i) =>
      ['key', 'value'].map((part) =>
        valueInfo(`${prefix}.${i}.${part}`, FLOAT, [
          'batch',
          config.num_attention_heads,
          sequence,
          config.hidden_size / config.num_attention_heads,
        ]),
      ),
    )
  return encodeModel({
    name: config.model_type,
    node: g.nodes,
    initializer: g.initializers,
    input: [
      valueInfo('input_ids', INT64, ['batch', 'sequence']),
      valueInfo('attention_mask', INT64, ['batch', 'total_sequence']),
      valueInfo('position_ids', INT64, ['batch', 'sequence']),
      ...cache('past_key_values', 'past_sequence'),
      ...g.weightInputs,
    ],
    output: [valueInfo('logits', FLOAT, ['batch', 'sequence', config.vocab_size]), ...cache('present', 'total_sequence')],
  })
}

export function encodeModel(graph: Onnx.IGraphProto): Uint8Array {
  const model: Onnx.IModelProto = {
    irVersion: 7,
    producerName: 'co-rewarding-workbench',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  }
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish()
}

/** The inputs a weights-as-inputs export (exportOnnx's or exportGptKvOnnx's) needs for these weights (no serialisation). */
export function onnxWeightFeeds(config: ModelConfig, weights: Record<string, Float32Array>): Record<string, WeightFeed> {
  const feeds: Record<string, WeightFeed> = {}
  for (const [name, { dims, derive }] of Object.entries(graphWeights(config))) feeds[name] = { dims, data: derive(weights) }
  return feeds
}

/**
 * The weights the graphs take and how each comes from the model's: q, k and v get their own (a slice of the fused
 * qkv) so the graph needs no Split, and the tied head is the embedding transposed (for MatMul); the rest as they are.
 */
export function graphWeights(
  config: ModelConfig,
): Record<string, { dims: number[]; derive: (weights: Record<string, Float32Array>) => Float32Array }> {
  const d = config.hidden_size
  const vocab = config.vocab_size
  const source = (weights: Record<string, Float32Array>, name: string): Float32Array => {
    const values = weights[name]
    if (!values) throw new Error(`weight ${name} is missing`)
    return values
  }
  const out: ReturnType<typeof graphWeights> = {}
  for (const [name, dims] of Object.entries(weightShapes(config))) {
    const fused = /^(layers\.\d+\.attn)\.qkv\.(weight|bias)$/.exec(name)
    if (!fused) {
      out[name] = { dims, derive: (weights) => source(weights, name) }
      continue
    }
    for (const part of [0, 1, 2]) {
      const prefix = `${fused[1]}.${'qkv'[part]}`
      if (fused[2] === 'bias')
        out[`${prefix}.bias`] = { dims: [d], derive: (weights) => source(weights, name).slice(part * d, (part + 1) * d) }
      else
        out[`${prefix}.weight`] = {
          dims: [d, d],
          derive: (weights) => {
            const weight = source(weights, name)
            const sliced = new Float32Array(d * d)
            for (let row = 0; row < d; row++)
              sliced.set(weight.subarray(row * 3 * d + part * d, row * 3 * d + (part + 1) * d), row * d)
            return sliced
          },
        }
    }
  }
  out['lm_head.weight'] = {
    dims: [d, vocab],
    derive: (weights) => {
      const embedding = source(weights, 'embed_tokens.weight')
      const transposed = new Float32Array(embedding.length)
      for (let row = 0; row < vocab; row++)
        for (let col = 0; col < d; col++) transposed[col * vocab + row] = embedding[row * d + col]!
      return transposed
    },
  }
  return out
}

/**
 * The additive attention bias [B, 1, T, P + T] (0 or -1e9) built in the graph from attention_mask [B, P + T], as
 * decoder-export.ts builds it: query t (absolute index P + t) sees key s when s <= P + t and the mask is 1 there.
 */
export function maskBias(g: GraphBuilder): string {
  const i64 = (name: string, values: number[]): string => g.constant(name, [values.length], values, 'int64')
  const axis0 = i64('mask_axis_0', [0])
  const axis1 = i64('mask_axis_1', [1])
  const scalar = (x: string): string => g.op('Squeeze', [x, axis0])
  const total = g.op('Gather', [g.op('Shape', ['attention_mask']), axis1], [int('axis', 0)]) // [1]: P + T
  const length = g.op('Gather', [g.op('Shape', ['input_ids']), axis1], [int('axis', 0)]) // [1]: T
  const step = g.constant('mask_range_step', [], [1], 'int64')
  const keyIndex = g.op('Range', [g.constant('mask_range_start', [], [0], 'int64'), scalar(total), step])
  const queryIndex = g.op('Range', [scalar(g.op('Sub', [total, length])), scalar(total), step])
  const future = g.op('Greater', [g.op('Unsqueeze', [keyIndex, axis0]), g.op('Unsqueeze', [queryIndex, axis1])]) // [T, S]
  const padding = g.op('Not', [g.op('Cast', ['attention_mask'], [int('to', onnx.TensorProto.DataType.BOOL)])]) // [B, S]
  const blocked = g.op('Or', [g.op('Unsqueeze', [future, axis0]), g.op('Unsqueeze', [padding, i64('mask_axes_1_2', [1, 2])])])
  return g.op('Where', [blocked, g.constant('mask_masked', [], [MASKED]), g.constant('mask_zero', [], [0])]) // [B, 1, T, S]
}

/** How a graph's attention sees keys and values: its bias [B, 1, T, S], and the keys and values of this pass's layer. */
interface ConcatAttention {
  bias: string
  /** From this pass's keys and values [B, heads, T, head_size], those attended to (the cached graph prepends its past). */
  keysValues(layer: number, keys: string, values: string): { keys: string; values: string }
}

/** A layer's attention: the attended values [B, heads, T, head_size] of this pass's q, k and v, scores scaled by `scale`. */
export interface Attention {
  attend(layer: number, q: string, k: string, v: string, scale: string): string
}

/** Softmax attention of q over the keys and values `keysValues` gives, with an additive bias. */
function concatAttention(g: GraphBuilder, { bias, keysValues }: ConcatAttention): Attention {
  return {
    attend(layer, q, k, v, scale) {
      const { keys, values } = keysValues(layer, k, v)
      const scores = g.op('Add', [
        g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [keys], [ints('perm', [0, 1, 3, 2])])]), scale]),
        bias,
      ])
      return g.op('MatMul', [g.op('Softmax', [scores], [int('axis', -1)]), values])
    },
  }
}

/** The model's nodes from input_ids and position_ids to logits, the same for both graphs but for `attention`. */
export function gptNodes(g: GraphBuilder, config: ModelConfig, w: (name: string) => string, attention: Attention): void {
  const d = config.hidden_size
  const heads = config.num_attention_heads
  const headSize = d / heads
  const eps = g.constant('layer_norm_epsilon', [], [config.layer_norm_epsilon])
  const half = g.constant('half', [], [0.5])
  const one = g.constant('one', [], [1])
  const three = g.constant('three', [], [3])
  const geluScale = g.constant('gelu_scale', [], [Math.sqrt(2 / Math.PI)])
  const geluCubic = g.constant('gelu_cubic', [], [0.044715])
  const headScale = g.constant('head_scale', [], [1 / Math.sqrt(headSize)])
  const splitShape = g.constant('split_heads_shape', [4], [0, 0, heads, headSize], 'int64')
  const mergeShape = g.constant('merge_heads_shape', [3], [0, 0, d], 'int64')

  const layerNorm = (x: string, prefix: string): string => {
    const mean = g.op('ReduceMean', [x], [ints('axes', [-1]), int('keepdims', 1)])
    const centred = g.op('Sub', [x, mean])
    const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], [ints('axes', [-1]), int('keepdims', 1)])
    const normed = g.op('Div', [centred, g.op('Sqrt', [g.op('Add', [variance, eps])])])
    return g.op('Add', [g.op('Mul', [normed, w(`${prefix}.weight`)]), w(`${prefix}.bias`)])
  }
  const linear = (x: string, weight: string, bias: string): string => g.op('Add', [g.op('MatMul', [x, weight]), bias])
  const gelu = (x: string): string => {
    const inner = g.op('Mul', [geluScale, g.op('Add', [x, g.op('Mul', [geluCubic, g.op('Pow', [x, three])])])])
    return g.op('Mul', [g.op('Mul', [half, x]), g.op('Add', [one, g.op('Tanh', [inner])])])
  }

  let rotary: { cos: string; sin: string; rotate: (x: string) => string } | undefined
  if (config.position_embedding_type === 'rotary') {
    const halfHead = headSize / 2
    const inverse = Array.from({ length: halfHead }, (_, i) => 1 / config.rope_theta ** ((2 * i) / headSize))
    const angles = g.op('Mul', [
      g.op('Unsqueeze', ['position_ids_float', g.constant('axis_last', [1], [-1], 'int64')]),
      g.constant('rope_inverse', [halfHead], inverse),
    ])
    const axis1 = g.constant('axis_1', [1], [1], 'int64')
    const cos = g.op('Unsqueeze', [g.op('Cos', [angles]), axis1])
    const sin = g.op('Unsqueeze', [g.op('Sin', [angles]), axis1])
    const starts1 = g.constant('rope_first_start', [1], [0], 'int64')
    const ends1 = g.constant('rope_first_end', [1], [halfHead], 'int64')
    const ends2 = g.constant('rope_second_end', [1], [headSize], 'int64')
    const axes = g.constant('rope_axes', [1], [3], 'int64')
    rotary = {
      cos,
      sin,
      rotate: (x) => {
        const x1 = g.op('Slice', [x, starts1, ends1, axes])
        const x2 = g.op('Slice', [x, ends1, ends2, axes])
        const first = g.op('Sub', [g.op('Mul', [x1, cos]), g.op('Mul', [x2, sin])])
        const second = g.op('Add', [g.op('Mul', [x2, cos]), g.op('Mul', [x1, sin])])
        return g.op('Concat', [first, second], [int('axis', -1)])
      },
    }
    g.nodes.unshift({
      opType: 'Cast',
      input: ['position_ids'],
      output: ['position_ids_float'],
      attribute: [int('to', onnx.TensorProto.DataType.FLOAT)],
      name: 'position_ids_float',
    })
  }

  let h = g.op('Gather', [w('embed_tokens.weight'), 'input_ids'], [int('axis', 0)])
  if (config.position_embedding_type === 'learned') {
    h = g.op('Add', [h, g.op('Gather', [w('embed_positions.weight'), 'position_ids'], [int('axis', 0)])])
  }
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const p = `layers.${layer}`
    const normed = layerNorm(h, `${p}.ln_1`)
    const heads4 = (part: 0 | 1 | 2): string => {
      const prefix = `${p}.attn.${'qkv'[part]}`
      const projected = linear(normed, w(`${prefix}.weight`), w(`${prefix}.bias`))
      const split = g.op('Transpose', [g.op('Reshape', [projected, splitShape])], [ints('perm', [0, 2, 1, 3])])
      return rotary && part < 2 ? rotary.rotate(split) : split
    }
    const attended = attention.attend(layer, heads4(0), heads4(1), heads4(2), headScale)
    const merged = g.op('Reshape', [g.op('Transpose', [attended], [ints('perm', [0, 2, 1, 3])]), mergeShape])
    h = g.op('Add', [h, linear(merged, w(`${p}.attn.out.weight`), w(`${p}.attn.out.bias`))])
    const normed2 = layerNorm(h, `${p}.ln_2`)
    const up = gelu(linear(normed2, w(`${p}.mlp.up.weight`), w(`${p}.mlp.up.bias`)))
    h = g.op('Add', [h, linear(up, w(`${p}.mlp.down.weight`), w(`${p}.mlp.down.bias`))])
  }
  const final = layerNorm(h, 'ln_f')
  g.op('MatMul', [final, w('lm_head.weight')], [], 'logits')
}

/** The graph's inputs for left-padded rows: ids, positions (count of real tokens before each) and the causal, padding-aware bias. */
export function inputsFor(
  ids: Int32Array,
  mask: Int32Array,
  batch: number,
  length: number,
): {
  inputIds: BigInt64Array
  positionIds: BigInt64Array
  attentionBias: Float32Array
} {
  const inputIds = BigInt64Array.from(ids, (v) => BigInt(v))
  const positionIds = new BigInt64Array(batch * length)
  const attentionBias = new Float32Array(batch * length * length)
  for (let b = 0; b < batch; b++) {
    let seen = 0
    for (let t = 0; t < length; t++) {
      seen += mask[b * length + t]!
      positionIds[b * length + t] = BigInt(Math.max(0, seen - 1))
      for (let s = 0; s < length; s++) {
        const allowed = s <= t && mask[b * length + s] === 1
        attentionBias[(b * length + t) * length + s] = allowed ? 0 : MASKED
      }
    }
  }
  return { inputIds, positionIds, attentionBias }
}
