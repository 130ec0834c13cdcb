// The demo model's training pass as one ONNX graph: forward, loss and the backward pass written out by hand, so the
// update runs on onnxruntime's native kernels (onnxruntime-node has no training API; tfjs's wasm backend runs one
// thread at a fraction of the speed). The weights are inputs under their checkpoint names and shapes; the outputs are
// the loss, its parts and `grad.<name>` for every weight. The optimizer stays outside (optim/adamw.ts).
//
// Objectives (token weights w already hold the response mask and the per-view 1/tokens of grpo.ts):
//   grpo  sum w (pg + klCoef kl): pg the PPO clipped loss with the dual clip for negative advantages, kl the clamped
//         k3 estimator, exactly grpo.ts's tokenLossTerms. Where tfjs's gradient picks a side at a tie (maximum,
//         minimum, clipByValue), this graph picks the same side.
//   nll   -sum w log p (pre-training's loss when w sums to 1).
// The backward pass, from the bottom up: dL/dlogp per token, dlogits = dL/dlogp (onehot(target) - softmax), the tied
// head and final norm, then per block the MLP (tanh GELU), the second norm, the attention output, softmax attention,
// rotary positions (rotation by minus the angle), the fused qkv projection and the first norm; the embedding rows get
// onehot(ids)^T dx (a matrix product instead of a scatter, deterministic and fast at the demo's vocabulary).
import * as ort from 'onnxruntime-node'
import type { onnx as Onnx } from 'onnx-proto'
import { weightShapes } from '../model/config'
import type { ModelConfig } from '../model/config'
import { openSession } from './session'
import { encodeModel, GraphBuilder, inputsFor, int, ints, onnx, valueInfo } from './export'

const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

export type TrainingObjective = 'grpo' | 'nll'

/** The GRPO loss's settings (grpo.ts LossSettings). */
export interface TrainingLossSettings {
  clipLow: number
  clipHigh: number
  dualClip: number
  klCoef: number
  /** The rollout temperature the logits are divided by (default 1). */
  temperature?: number
}

/** Left-padded rows [B, T] (row-major) and, per position, what the loss needs of the token it predicts. */
export interface TrainingBatch {
  ids: Int32Array
  mask: Int32Array
  targets: Int32Array
  /** The loss weight of each position (0 where it predicts no response token). */
  tokenWeights: Float32Array
  batch: number
  length: number
  /** grpo only: per position. */
  advantages?: Float32Array
  oldLogProbs?: Float32Array
  refLogProbs?: Float32Array
}

/** Sums over the batch, weighted by the token weights, and the gradient of `loss` for every weight. */
export interface TrainingPass {
  loss: number
  pg: number
  kl: number
  clip: number
  entropy: number
  grads: Record<string, Float32Array>
}

export const gradName = (name: string): string => `grad.${name}`

/** Serialises the training graph of `config` for `objective`. */
export function exportTrainingGraph(config: ModelConfig, objective: TrainingObjective): Uint8Array {
  return encodeModel(buildTrainingGraph(config, objective))
}

function buildTrainingGraph(config: ModelConfig, objective: TrainingObjective): Onnx.IGraphProto {
  const g = new GraphBuilder(true)
  const d = config.hidden_size
  const heads = config.num_attention_heads
  const headSize = d / heads
  const ff = config.intermediate_size
  const vocab = config.vocab_size
  const shapes = weightShapes(config)
  const w = (name: string): string => {
    if (!(name in g.feeds)) g.weight(name, shapes[name]!, new Float32Array(0))
    return name
  }
  const i64 = (name: string, values: number[]): string => g.constant(name, [values.length], values, 'int64')
  const scalar = (name: string, value: number): string => g.constant(name, [], [value])
  const op = (type: string, inputs: string[], attributes: Parameters<GraphBuilder['op']>[2] = []): string =>
    g.op(type, inputs, attributes)
  const add = (a: string, b: string): string => op('Add', [a, b])
  const sub = (a: string, b: string): string => op('Sub', [a, b])
  const mul = (a: string, b: string): string => op('Mul', [a, b])
  const matMul = (a: string, b: string): string => op('MatMul', [a, b])
  const transpose = (x: string, perm: number[]): string => op('Transpose', [x], [ints('perm', perm)])
  const asFloat = (x: string): string => op('Cast', [x], [int('to', FLOAT)])

  const eps = scalar('layer_norm_epsilon', config.layer_norm_epsilon)
  const zero = scalar('zero', 0)
  const half = scalar('half', 0.5)
  const one = scalar('one', 1)
  const three = scalar('three', 3)
  const geluScale = scalar('gelu_scale', Math.sqrt(2 / Math.PI))
  const geluCubic = scalar('gelu_cubic', 0.044715)
  const geluCubic3 = scalar('gelu_cubic_3', 3 * 0.044715)
  const headScale = scalar('head_scale', 1 / Math.sqrt(headSize))
  const axes01 = i64('axes_0_1', [0, 1])
  const axisLast = i64('axis_last', [-1])
  const splitShape = i64('split_heads_shape', [0, 0, heads, headSize])
  const mergeShape = i64('merge_heads_shape', [0, 0, d])
  const flatShapes = new Map<number, string>()
  /** [B, T, width] -> [B*T, width] */
  const flat = (x: string, width: number): string => {
    if (!flatShapes.has(width)) flatShapes.set(width, i64(`flat_${width}`, [-1, width]))
    return op('Reshape', [x, flatShapes.get(width)!])
  }
  /** The gradient of a weight [in, out] used as x [B, T, in] @ W: x^T dy over every position. */
  const weightGrad = (x: string, dy: string, inSize: number, outSize: number, name: string): void => {
    g.op('Gemm', [flat(x, inSize), flat(dy, outSize)], [int('transA', 1)], gradName(name))
  }
  const sumPositions = (dy: string, name: string): void => {
    g.op('ReduceSum', [dy, axes01], [int('keepdims', 0)], gradName(name))
  }
  const meanLast = (x: string): string => op('ReduceMean', [x], [ints('axes', [-1]), int('keepdims', 1)])

  // Layer norm, keeping what its backward pass needs.
  interface Norm {
    out: string
    xhat: string
    std: string
    prefix: string
  }
  const layerNorm = (x: string, prefix: string): Norm => {
    const centred = sub(x, meanLast(x))
    const std = op('Sqrt', [add(meanLast(mul(centred, centred)), eps)])
    const xhat = op('Div', [centred, std])
    return { out: add(mul(xhat, w(`${prefix}.weight`)), w(`${prefix}.bias`)), xhat, std, prefix }
  }
  /** dx of a layer norm, and its weight and bias gradients. */
  const layerNormBackward = (norm: Norm, dy: string): string => {
    g.op('ReduceSum', [mul(dy, norm.xhat), axes01], [int('keepdims', 0)], gradName(`${norm.prefix}.weight`))
    sumPositions(dy, `${norm.prefix}.bias`)
    const dxhat = mul(dy, w(`${norm.prefix}.weight`))
    const centred = sub(sub(dxhat, meanLast(dxhat)), mul(norm.xhat, meanLast(mul(dxhat, norm.xhat))))
    return op('Div', [centred, norm.std])
  }

  // Rotary positions: x [B, H, T, dh] rotated by angle(position) in the half-split layout, and back.
  let rotate: ((x: string, sign: 1 | -1) => string) | undefined
  if (config.position_embedding_type === 'rotary') {
    const halfHead = headSize / 2
    const inverse = Array.from({ length: halfHead }, (_, i) => 1 / config.rope_theta ** ((2 * i) / headSize))
    const angles = mul(op('Unsqueeze', [asFloat('position_ids'), axisLast]), g.constant('rope_inverse', [halfHead], inverse))
    const axis1 = i64('axis_1', [1])
    const cos = op('Unsqueeze', [op('Cos', [angles]), axis1])
    const sin = op('Unsqueeze', [op('Sin', [angles]), axis1])
    const start = i64('rope_first_start', [0])
    const middle = i64('rope_first_end', [halfHead])
    const end = i64('rope_second_end', [headSize])
    const axis3 = i64('rope_axes', [3])
    rotate = (x, sign) => {
      const x1 = op('Slice', [x, start, middle, axis3])
      const x2 = op('Slice', [x, middle, end, axis3])
      // Forward: [x1 cos - x2 sin, x2 cos + x1 sin]; backward (the transpose): [x1 cos + x2 sin, x2 cos - x1 sin].
      const first = sign === 1 ? sub(mul(x1, cos), mul(x2, sin)) : add(mul(x1, cos), mul(x2, sin))
      const second = sign === 1 ? add(mul(x2, cos), mul(x1, sin)) : sub(mul(x2, cos), mul(x1, sin))
      return op('Concat', [first, second], [int('axis', -1)])
    }
  }

  // Forward.
  const qkvBounds = [0, d, 2 * d, 3 * d].map((v, i) => i64(`qkv_bound_${i}`, [v]))
  let x = op('Gather', [w('embed_tokens.weight'), 'input_ids'], [int('axis', 0)])
  if (config.position_embedding_type === 'learned')
    x = add(x, op('Gather', [w('embed_positions.weight'), 'position_ids'], [int('axis', 0)]))
  interface Block {
    x: string
    norm1: Norm
    q: string
    k: string
    v: string
    probs: string
    merged: string
    norm2: Norm
    up: string
    tanh: string
    activated: string
  }
  const blocks: Block[] = []
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const p = `layers.${layer}`
    const norm1 = layerNorm(x, `${p}.ln_1`)
    const qkv = add(matMul(norm1.out, w(`${p}.attn.qkv.weight`)), w(`${p}.attn.qkv.bias`))
    const headsOf = (part: number): string => {
      const slice = op('Slice', [qkv, qkvBounds[part]!, qkvBounds[part + 1]!, axisLast])
      const split = transpose(op('Reshape', [slice, splitShape]), [0, 2, 1, 3])
      return rotate && part < 2 ? rotate(split, 1) : split
    }
    const [q, k, v] = [headsOf(0), headsOf(1), headsOf(2)]
    const scores = add(mul(matMul(q, transpose(k, [0, 1, 3, 2])), headScale), 'attention_bias')
    const probs = op('Softmax', [scores], [int('axis', -1)])
    const merged = op('Reshape', [transpose(matMul(probs, v), [0, 2, 1, 3]), mergeShape])
    const h = add(x, add(matMul(merged, w(`${p}.attn.out.weight`)), w(`${p}.attn.out.bias`)))
    const norm2 = layerNorm(h, `${p}.ln_2`)
    const up = add(matMul(norm2.out, w(`${p}.mlp.up.weight`)), w(`${p}.mlp.up.bias`))
    const tanh = op('Tanh', [mul(geluScale, add(up, mul(geluCubic, op('Pow', [up, three]))))])
    const activated = mul(mul(half, up), add(one, tanh))
    blocks.push({ x, norm1, q, k, v, probs, merged, norm2, up, tanh, activated })
    x = add(h, add(matMul(activated, w(`${p}.mlp.down.weight`)), w(`${p}.mlp.down.bias`)))
  }
  const normF = layerNorm(x, 'ln_f')
  const embedding = w('embed_tokens.weight')
  // GRPO scores the tempered distribution the rollouts were drawn from: logits / T (times 1/T, as tfjs does).
  const setting = (i: number, name: string): string => op('Gather', ['loss_settings', i64(name, [i])], [int('axis', 0)])
  const inverseTemperature = objective === 'grpo' ? op('Squeeze', [setting(4, 'setting_4')]) : undefined
  const rawLogits = matMul(normF.out, transpose(embedding, [1, 0]))
  const logits = inverseTemperature ? mul(rawLogits, inverseTemperature) : rawLogits
  const logpAll = op('LogSoftmax', [logits], [int('axis', -1)])
  const probsAll = op('Exp', [logpAll])
  const logp = op('Squeeze', [
    op('GatherElements', [logpAll, op('Unsqueeze', ['targets', axisLast])], [int('axis', -1)]),
    axisLast,
  ])
  const entropy = op('Neg', [op('ReduceSum', [mul(probsAll, logpAll), axisLast], [int('keepdims', 0)])])
  const weighted = (t: string, name: string): string => g.op('ReduceSum', [mul(t, 'token_weights')], [int('keepdims', 0)], name)
  weighted(entropy, 'entropy_sum')

  // The loss and dL/dlogp per position.
  let dLogp: string
  if (objective === 'grpo') {
    const [clipLow, clipHigh, dualClip, klCoef] = [0, 1, 2, 3].map((i) => op('Squeeze', [setting(i, `setting_${i}`)]))
    const ratio = op('Exp', [sub(logp, 'old_logp')])
    const negA = op('Neg', ['advantages'])
    const lower = sub(one, clipLow!)
    const upper = add(one, clipHigh!)
    const loss1 = mul(negA, ratio)
    const loss2 = mul(negA, op('Clip', [ratio, lower, upper]))
    const clippedLoss = op('Max', [loss1, loss2])
    const dualValue = mul(negA, dualClip!)
    const negative = op('Less', ['advantages', zero])
    const pg = op('Where', [negative, op('Min', [dualValue, clippedLoss]), clippedLoss])
    const diff = sub('ref_logp', logp)
    const expDiff = op('Exp', [diff])
    const klRaw = sub(sub(expDiff, diff), one)
    const kl = op('Clip', [klRaw, scalar('kl_low', -10), scalar('kl_high', 10)])
    const pgSum = weighted(pg, 'pg_sum')
    const klSum = weighted(kl, 'kl_sum')
    weighted(asFloat(op('Greater', [loss2, loss1])), 'clip_sum')
    g.op('Add', [pgSum, mul(klSum, klCoef!)], [], 'loss')
    // tfjs's choices at ties: maximum's gradient goes to its first input where a >= b, minimum's where a <= b,
    // clipByValue's passes where min <= x <= max.
    const either = (a: string, b: string): string => op('Or', [a, b])
    const insideClip = op('And', [op('GreaterOrEqual', [ratio, lower]), op('LessOrEqual', [ratio, upper])])
    const dClipped = mul(mul(negA, ratio), asFloat(either(op('GreaterOrEqual', [loss1, loss2]), insideClip)))
    const dPg = op('Where', [negative, mul(dClipped, asFloat(op('Greater', [dualValue, clippedLoss]))), dClipped])
    const insideKl = op('And', [op('GreaterOrEqual', [klRaw, 'kl_low']), op('LessOrEqual', [klRaw, 'kl_high'])])
    const dKl = mul(sub(one, expDiff), asFloat(insideKl))
    dLogp = mul('token_weights', add(dPg, mul(klCoef!, dKl)))
  } else {
    weighted(op('Neg', [logp]), 'loss')
    for (const name of ['pg_sum', 'kl_sum', 'clip_sum']) g.op('Identity', [zero], [], name)
    dLogp = op('Neg', ['token_weights'])
  }

  // Backward: the head (tied to the token embedding) and the final norm.
  const onehotValues = g.constant('onehot_values', [2], [0, 1])
  const onehot = (indices: string, depth: number, name: string): string =>
    op('OneHot', [indices, i64(name, [depth]), onehotValues], [int('axis', -1)])
  const dScaled = mul(op('Unsqueeze', [dLogp, axisLast]), sub(onehot('targets', vocab, 'vocab_depth'), probsAll))
  const dLogits = inverseTemperature ? mul(dScaled, inverseTemperature) : dScaled
  const dHead = op('Gemm', [flat(dLogits, vocab), flat(normF.out, d)], [int('transA', 1)])
  let dx = layerNormBackward(normF, matMul(dLogits, embedding))

  for (let layer = config.num_hidden_layers - 1; layer >= 0; layer--) {
    const p = `layers.${layer}`
    const b = blocks[layer]!
    // MLP: down, GELU (tanh form), up, second norm.
    weightGrad(b.activated, dx, ff, d, `${p}.mlp.down.weight`)
    sumPositions(dx, `${p}.mlp.down.bias`)
    const dActivated = matMul(dx, transpose(w(`${p}.mlp.down.weight`), [1, 0]))
    const tanhGrad = sub(one, mul(b.tanh, b.tanh))
    const innerGrad = mul(geluScale, add(one, mul(geluCubic3, mul(b.up, b.up))))
    const geluGrad = add(mul(half, add(one, b.tanh)), mul(mul(half, b.up), mul(tanhGrad, innerGrad)))
    const dUp = mul(dActivated, geluGrad)
    weightGrad(b.norm2.out, dUp, d, ff, `${p}.mlp.up.weight`)
    sumPositions(dUp, `${p}.mlp.up.bias`)
    const dh = add(dx, layerNormBackward(b.norm2, matMul(dUp, transpose(w(`${p}.mlp.up.weight`), [1, 0]))))
    // Attention output projection.
    weightGrad(b.merged, dh, d, d, `${p}.attn.out.weight`)
    sumPositions(dh, `${p}.attn.out.bias`)
    const dMerged = matMul(dh, transpose(w(`${p}.attn.out.weight`), [1, 0]))
    const dAttended = transpose(op('Reshape', [dMerged, splitShape]), [0, 2, 1, 3])
    // Softmax attention.
    const dProbs = matMul(dAttended, transpose(b.v, [0, 1, 3, 2]))
    const dV = matMul(transpose(b.probs, [0, 1, 3, 2]), dAttended)
    const rowDot = op('ReduceSum', [mul(dProbs, b.probs), axisLast], [int('keepdims', 1)])
    const dScores = mul(mul(b.probs, sub(dProbs, rowDot)), headScale)
    let dQ = matMul(dScores, b.k)
    let dK = matMul(transpose(dScores, [0, 1, 3, 2]), b.q)
    if (rotate) {
      dQ = rotate(dQ, -1)
      dK = rotate(dK, -1)
    }
    const mergeHeads = (t: string): string => op('Reshape', [transpose(t, [0, 2, 1, 3]), mergeShape])
    const dQkv = op('Concat', [mergeHeads(dQ), mergeHeads(dK), mergeHeads(dV)], [int('axis', -1)])
    weightGrad(b.norm1.out, dQkv, d, 3 * d, `${p}.attn.qkv.weight`)
    sumPositions(dQkv, `${p}.attn.qkv.bias`)
    dx = add(dh, layerNormBackward(b.norm1, matMul(dQkv, transpose(w(`${p}.attn.qkv.weight`), [1, 0]))))
  }
  // Embeddings: each row's gradient is the sum over the positions that read it.
  const dTokens = op('Gemm', [flat(onehot('input_ids', vocab, 'vocab_depth_ids'), vocab), flat(dx, d)], [int('transA', 1)])
  g.op('Add', [dTokens, dHead], [], gradName('embed_tokens.weight'))
  if (config.position_embedding_type === 'learned') {
    const positions = flat(
      onehot('position_ids', config.max_position_embeddings, 'position_depth'),
      config.max_position_embeddings,
    )
    g.op('Gemm', [positions, flat(dx, d)], [int('transA', 1)], gradName('embed_positions.weight'))
  }

  const outputs = [
    ...['loss', 'pg_sum', 'kl_sum', 'clip_sum', 'entropy_sum'].map((name) => valueInfo(name, FLOAT, [])),
    ...Object.entries(shapes).map(([name, shape]) => valueInfo(gradName(name), FLOAT, shape)),
  ]
  const rows = (name: string, type = FLOAT): Onnx.IValueInfoProto => valueInfo(name, type, ['batch', 'sequence'])
  const inputs = [
    rows('input_ids', INT64),
    rows('position_ids', INT64),
    valueInfo('attention_bias', FLOAT, ['batch', 1, 'sequence', 'sequence']),
    rows('targets', INT64),
    rows('token_weights'),
    ...(objective === 'grpo'
      ? [rows('advantages'), rows('old_logp'), rows('ref_logp'), valueInfo('loss_settings', FLOAT, [5])]
      : []),
    ...Object.keys(shapes).map((name) => g.weightInputs.find((input) => input.name === name)!),
  ]
  return { name: `${config.model_type}-training`, node: g.nodes, initializer: g.initializers, input: inputs, output: outputs }
}

/** A warm onnxruntime session of the training graph; the weights are fed with every pass. */
export class OnnxTrainingGraph {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: ModelConfig,
    readonly objective: TrainingObjective,
  ) {}

  static async create(config: ModelConfig, objective: TrainingObjective): Promise<OnnxTrainingGraph> {
    return new OnnxTrainingGraph(await openSession(exportTrainingGraph(config, objective)), config, objective)
  }

  /** One forward and backward pass over `batch` with `weights` (every weight of the model, by name). */
  async run(weights: Record<string, Float32Array>, batch: TrainingBatch, settings?: TrainingLossSettings): Promise<TrainingPass> {
    const { batch: rows, length } = batch
    const { inputIds, positionIds, attentionBias } = inputsFor(batch.ids, batch.mask, rows, length)
    const grid = (data: Float32Array | undefined, name: string): ort.Tensor => {
      if (!data) throw new Error(`the ${this.objective} training pass needs ${name}`)
      return new ort.Tensor('float32', data, [rows, length])
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [rows, length]),
      position_ids: new ort.Tensor('int64', positionIds, [rows, length]),
      attention_bias: new ort.Tensor('float32', attentionBias, [rows, 1, length, length]),
      targets: new ort.Tensor(
        'int64',
        BigInt64Array.from(batch.targets, (v) => BigInt(v)),
        [rows, length],
      ),
      token_weights: grid(batch.tokenWeights, 'token weights'),
    }
    if (this.objective === 'grpo') {
      if (!settings) throw new Error('the grpo training pass needs the loss settings')
      feeds.advantages = grid(batch.advantages, 'advantages')
      feeds.old_logp = grid(batch.oldLogProbs, 'old log-probs')
      feeds.ref_logp = grid(batch.refLogProbs, 'reference log-probs')
      feeds.loss_settings = new ort.Tensor(
        'float32',
        Float32Array.of(settings.clipLow, settings.clipHigh, settings.dualClip, settings.klCoef, 1 / (settings.temperature ?? 1)),
        [5],
      )
    }
    const shapes = weightShapes(this.config)
    for (const [name, shape] of Object.entries(shapes)) {
      const data = weights[name]
      if (!data) throw new Error(`weight ${name} is missing`)
      feeds[name] = new ort.Tensor('float32', data, shape)
    }
    const result = await this.session.run(feeds)
    const value = (name: string): number => (result[name]!.data as Float32Array)[0]!
    const grads: Record<string, Float32Array> = {}
    for (const name of Object.keys(shapes)) grads[name] = result[gradName(name)]!.data as Float32Array
    return {
      loss: value('loss'),
      pg: value('pg_sum'),
      kl: value('kl_sum'),
      clip: value('clip_sum'),
      entropy: value('entropy_sum'),
      grads,
    }
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}
