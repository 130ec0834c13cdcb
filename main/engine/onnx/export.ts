// ONNX export of the demo model (opset 13), for onnxruntime-node. The graph takes token ids, their
// positions and the additive attention bias (both computed from the padding mask exactly as the tfjs
// model does, see inputsFor) and returns logits [B, T, V]. Weights are graph initializers.
import onnxProto from 'onnx-proto'
import type { onnx as Onnx } from 'onnx-proto'
import { weightShapes } from '../model/config'
import type { ModelConfig } from '../model/config'

// onnx-proto is CommonJS: its namespace comes through the default export.
export const { onnx } = onnxProto
const OPSET = 13
const MASKED = -1e9

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
  const { graph } = buildGraph(config, weights, options.weightsAsInputs ?? false)
  const model: Onnx.IModelProto = {
    irVersion: 7,
    producerName: 'co-rewarding-workbench',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  }
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish()
}

/** The inputs a weights-as-inputs export needs for these weights (cheap: no serialisation). */
export function onnxWeightFeeds(config: ModelConfig, weights: Record<string, Float32Array>): Record<string, WeightFeed> {
  return buildGraph(config, weights, true).feeds
}

function buildGraph(
  config: ModelConfig,
  weights: Record<string, Float32Array>,
  weightsAsInputs: boolean,
): { graph: Onnx.IGraphProto; feeds: Record<string, WeightFeed> } {
  const g = new GraphBuilder(weightsAsInputs)
  const d = config.hidden_size
  const heads = config.num_attention_heads
  const headSize = d / heads
  const shapes = weightShapes(config)
  const w = (name: string): string => {
    const values = weights[name]
    if (!values) throw new Error(`weight ${name} is missing`)
    return g.weight(name, shapes[name]!, values)
  }
  // q, k and v get their own weights (a slice of the fused qkv) so the graph needs no Split.
  const qkvPart = (layer: number, part: 0 | 1 | 2): { weight: string; bias: string } => {
    const weight = weights[`layers.${layer}.attn.qkv.weight`]!
    const bias = weights[`layers.${layer}.attn.qkv.bias`]!
    const sliced = new Float32Array(d * d)
    for (let row = 0; row < d; row++) sliced.set(weight.subarray(row * 3 * d + part * d, row * 3 * d + (part + 1) * d), row * d)
    const prefix = `layers.${layer}.attn.${'qkv'[part]}`
    return {
      weight: g.weight(`${prefix}.weight`, [d, d], sliced),
      bias: g.weight(`${prefix}.bias`, [d], bias.slice(part * d, (part + 1) * d)),
    }
  }
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
      const { weight, bias } = qkvPart(layer, part)
      const split = g.op('Transpose', [g.op('Reshape', [linear(normed, weight, bias), splitShape])], [ints('perm', [0, 2, 1, 3])])
      return rotary && part < 2 ? rotary.rotate(split) : split
    }
    const q = heads4(0)
    const k = heads4(1)
    const v = heads4(2)
    const scores = g.op('Add', [
      g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], [ints('perm', [0, 1, 3, 2])])]), headScale]),
      'attention_bias',
    ])
    const attended = g.op('MatMul', [g.op('Softmax', [scores], [int('axis', -1)]), v])
    const merged = g.op('Reshape', [g.op('Transpose', [attended], [ints('perm', [0, 2, 1, 3])]), mergeShape])
    h = g.op('Add', [h, linear(merged, w(`${p}.attn.out.weight`), w(`${p}.attn.out.bias`))])
    const normed2 = layerNorm(h, `${p}.ln_2`)
    const up = gelu(linear(normed2, w(`${p}.mlp.up.weight`), w(`${p}.mlp.up.bias`)))
    h = g.op('Add', [h, linear(up, w(`${p}.mlp.down.weight`), w(`${p}.mlp.down.bias`))])
  }
  const final = layerNorm(h, 'ln_f')
  const embedding = weights['embed_tokens.weight']!
  const transposed = new Float32Array(embedding.length)
  for (let row = 0; row < config.vocab_size; row++)
    for (let col = 0; col < d; col++) transposed[col * config.vocab_size + row] = embedding[row * d + col]!
  g.op('MatMul', [final, g.weight('lm_head.weight', [d, config.vocab_size], transposed)], [], 'logits')

  const graph: Onnx.IGraphProto = {
    name: config.model_type,
    node: g.nodes,
    initializer: g.initializers,
    input: [
      valueInfo('input_ids', onnx.TensorProto.DataType.INT64, ['batch', 'sequence']),
      valueInfo('position_ids', onnx.TensorProto.DataType.INT64, ['batch', 'sequence']),
      valueInfo('attention_bias', onnx.TensorProto.DataType.FLOAT, ['batch', 1, 'sequence', 'sequence']),
      ...g.weightInputs,
    ],
    output: [valueInfo('logits', onnx.TensorProto.DataType.FLOAT, ['batch', 'sequence', config.vocab_size])],
  }
  return { graph, feeds: g.feeds }
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
