// The GRPO update (co-rewarding.md section 6): PPO clip with dual clip for negative advantages, the k3 KL
// estimator clamped to [-10, 10], both aggregated as a token mean per view and summed over views (so
// Co-rewarding-I's loss is (pg_orig + c kl_orig) + (pg_para + c kl_para)), computed in micro-batches.
import * as tf from '@tensorflow/tfjs'
import { tokenEntropy, tokenLogProbs, tokenSelfCertainty } from '../model/token-stats'
import type { TrainingBatch } from '../onnx/train-graph'

/** One rollout as the update sees it. Per-token arrays align with `response` (EOS included when generated). */
export interface TrainingRow {
  prompt: number[]
  response: number[]
  advantage: number
  /** log p of each response token under the policy that sampled it. */
  oldLogProbs: Float32Array
  /** log p of each response token under the KL reference (frozen initial model, or the EMA teacher). */
  refLogProbs: Float32Array
  /** 1 / (response tokens of this row's view in its mini-batch): makes the sum a token mean per view. */
  weight: number
}

export interface LossSettings {
  clipLow: number
  clipHigh: number
  dualClip: number
  klCoef: number
  /** The rollout temperature: logits are divided by it before the log-softmax, as the sampler did (default 1). */
  temperature?: number
}

/** Sums over a micro-batch, already weighted (add them up over micro-batches to get the mini-batch's values). */
export interface LossParts {
  loss: tf.Scalar
  pgLoss: number
  klLoss: number
  clipFraction: number
  entropy: number
}

export interface PackedRows {
  ids: tf.Tensor2D
  mask: tf.Tensor2D
  targets: tf.Tensor2D
  /** Positions [B, T] that predict a response token. */
  responseMask: tf.Tensor2D
  /** For each row, the position predicting its first response token. */
  starts: number[]
  length: number
}

export interface PackedArrays {
  ids: Int32Array
  mask: Int32Array
  targets: Int32Array
  responseMask: Float32Array
  starts: number[]
  length: number
}

/** Left-pads prompt+response rows and marks the positions that predict response tokens (position t predicts token t+1). */
export function packArrays(rows: { prompt: number[]; response: number[] }[], padTokenId: number): PackedArrays {
  const length = Math.max(...rows.map((r) => r.prompt.length + r.response.length))
  const ids = new Int32Array(rows.length * length).fill(padTokenId)
  const mask = new Int32Array(rows.length * length)
  const targets = new Int32Array(rows.length * length).fill(padTokenId)
  const responseMask = new Float32Array(rows.length * length)
  const starts: number[] = []
  rows.forEach((row, r) => {
    const sequence = [...row.prompt, ...row.response]
    const offset = r * length + (length - sequence.length)
    ids.set(sequence, offset)
    mask.fill(1, offset, offset + sequence.length)
    const first = length - sequence.length + row.prompt.length - 1
    starts.push(first)
    row.response.forEach((token, j) => {
      targets[r * length + first + j] = token
      responseMask[r * length + first + j] = 1
    })
  })
  return { ids, mask, targets, responseMask, starts, length }
}

/** packArrays as [B, T] tensors. */
export function packRows(rows: { prompt: number[]; response: number[] }[], padTokenId: number): PackedRows {
  const packed = packArrays(rows, padTokenId)
  const shape: [number, number] = [rows.length, packed.length]
  return {
    ids: tf.tensor2d(packed.ids, shape, 'int32'),
    mask: tf.tensor2d(packed.mask, shape, 'int32'),
    targets: tf.tensor2d(packed.targets, shape, 'int32'),
    responseMask: tf.tensor2d(packed.responseMask, shape),
    starts: packed.starts,
    length: packed.length,
  }
}

export function disposePacked(packed: PackedRows): void {
  tf.dispose([packed.ids, packed.mask, packed.targets, packed.responseMask])
}

/** Spreads per-row, per-response-token values onto the packed [B, T] grid. */
function grid(packed: PackedRows, rows: TrainingRow[], value: (row: TrainingRow, j: number) => number): tf.Tensor2D {
  const out = new Float32Array(rows.length * packed.length)
  rows.forEach((row, r) => row.response.forEach((_, j) => (out[r * packed.length + packed.starts[r]! + j] = value(row, j))))
  return tf.tensor2d(out, [rows.length, packed.length])
}

/**
 * Per-token terms (verl's compute_policy_loss and low_var_kl): pg = the PPO clipped loss, with the dual clip
 * -A c bounding it for negative advantages; kl = exp(d) - d - 1 with d = ref - logp, clamped to [-10, 10];
 * clipped = 1 where the clipped branch was taken (actor/pg_clipfrac).
 */
export function tokenLossTerms(
  logp: tf.Tensor,
  oldLogp: tf.Tensor,
  refLogp: tf.Tensor,
  advantages: tf.Tensor,
  settings: LossSettings,
): { pg: tf.Tensor; kl: tf.Tensor; clipped: tf.Tensor } {
  const ratio = tf.exp(tf.sub(logp, oldLogp))
  const loss1 = tf.mul(tf.neg(advantages), ratio)
  const loss2 = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - settings.clipLow, 1 + settings.clipHigh))
  const clippedLoss = tf.maximum(loss1, loss2)
  const dual = tf.minimum(tf.mul(tf.neg(advantages), settings.dualClip), clippedLoss)
  const pg = tf.where(tf.less(advantages, 0), dual, clippedLoss)
  const d = tf.sub(refLogp, logp)
  const kl = tf.clipByValue(tf.sub(tf.sub(tf.exp(d), d), 1), -10, 10)
  return { pg, kl, clipped: tf.cast(tf.greater(loss2, loss1), 'float32') }
}

/**
 * Logits divided by the rollout temperature (verl's log-prob passes do the same), so the passes score the
 * distribution the sampler drew from and a run at T != 1 stays on-policy. T = 1 leaves them untouched.
 */
export function tempered(logits: tf.Tensor3D, temperature = 1): tf.Tensor3D {
  return temperature === 1 ? logits : tf.mul(logits, 1 / temperature)
}

/** What the loss and the log-prob passes run: any model's forward pass (dropout on when `dropoutSeed` is given). */
export interface ForwardModel {
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D, dropoutSeed?: number): tf.Tensor3D
}

/**
 * The weighted policy-gradient + KL loss of a micro-batch, differentiable with respect to the policy; `dropoutSeed`
 * seeds training-time dropout (LoRA's), so a resumed run draws the same masks.
 */
export function microBatchLoss(
  policy: ForwardModel,
  rows: TrainingRow[],
  settings: LossSettings,
  padTokenId: number,
  dropoutSeed?: number,
): LossParts {
  const packed = packRows(rows, padTokenId)
  const advantages = grid(packed, rows, (row) => row.advantage)
  const oldLogp = grid(packed, rows, (row, j) => row.oldLogProbs[j]!)
  const refLogp = grid(packed, rows, (row, j) => row.refLogProbs[j]!)
  const weights = grid(packed, rows, (row) => row.weight)
  const stats = { pg: 0, kl: 0, clip: 0, entropy: 0 }
  const loss = tf.tidy(() => {
    const logits = tempered(policy.forward(packed.ids, packed.mask, dropoutSeed), settings.temperature)
    const { pg, kl, clipped } = tokenLossTerms(tokenLogProbs(logits, packed.targets), oldLogp, refLogp, advantages, settings)
    const weighted = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.mul(x, packed.responseMask), weights))
    const pgSum = weighted(pg)
    const klSum = weighted(kl)
    stats.pg = pgSum.dataSync()[0]!
    stats.kl = klSum.dataSync()[0]!
    stats.clip = weighted(clipped).dataSync()[0]!
    stats.entropy = weighted(tokenEntropy(logits)).dataSync()[0]!
    return tf.add(pgSum, tf.mul(klSum, settings.klCoef)) as tf.Scalar
  })
  tf.dispose([advantages, oldLogp, refLogp, weights])
  disposePacked(packed)
  return { loss, pgLoss: stats.pg, klLoss: stats.kl, clipFraction: stats.clip, entropy: stats.entropy }
}

/** Per-response-token log-probabilities, entropies and self-certainties of rows under `model` (no gradient). */
export function responseTokenStats(
  model: ForwardModel,
  rows: { prompt: number[]; response: number[] }[],
  padTokenId: number,
  microBatch: number,
  withStats: boolean,
  temperature = 1,
): { logProbs: Float32Array[]; entropy: Float32Array[]; selfCertainty: Float32Array[] } {
  const out = { logProbs: [] as Float32Array[], entropy: [] as Float32Array[], selfCertainty: [] as Float32Array[] }
  for (let start = 0; start < rows.length; start += microBatch) {
    const chunk = rows.slice(start, start + microBatch)
    const packed = packRows(chunk, padTokenId)
    const [logp, entropy, certainty] = tf.tidy(() => {
      const logits = tempered(model.forward(packed.ids, packed.mask), temperature)
      const results: tf.Tensor[] = [tokenLogProbs(logits, packed.targets)]
      if (withStats) results.push(tokenEntropy(logits), tokenSelfCertainty(logits))
      return results.map((t) => t.dataSync() as Float32Array)
    })
    chunk.forEach((row, r) => {
      const from = r * packed.length + packed.starts[r]!
      out.logProbs.push(logp!.slice(from, from + row.response.length))
      if (withStats) {
        out.entropy.push(entropy!.slice(from, from + row.response.length))
        out.selfCertainty.push(certainty!.slice(from, from + row.response.length))
      }
    })
    disposePacked(packed)
  }
  return out
}

/** Rows as the ONNX training pass takes them: packed, with each position's weight, advantage and log-probs. */
export function trainingBatch(rows: TrainingRow[], padTokenId: number): TrainingBatch {
  const packed = packArrays(rows, padTokenId)
  const size = rows.length * packed.length
  const batch: Required<TrainingBatch> = {
    ids: packed.ids,
    mask: packed.mask,
    targets: packed.targets,
    tokenWeights: new Float32Array(size),
    advantages: new Float32Array(size),
    oldLogProbs: new Float32Array(size),
    refLogProbs: new Float32Array(size),
    batch: rows.length,
    length: packed.length,
  }
  rows.forEach((row, r) => {
    const from = r * packed.length + packed.starts[r]!
    batch.tokenWeights.fill(row.weight, from, from + row.response.length)
    batch.advantages.fill(row.advantage, from, from + row.response.length)
    batch.oldLogProbs.set(row.oldLogProbs.subarray(0, row.response.length), from)
    batch.refLogProbs.set(row.refLogProbs.subarray(0, row.response.length), from)
  })
  return batch
}

/** Prompt+response rows for a mean negative log-likelihood (pre-training): each response position weighs 1 / tokens. */
export function nllTrainingBatch(rows: { prompt: number[]; response: number[] }[], padTokenId: number): TrainingBatch {
  const packed = packArrays(rows, padTokenId)
  const tokens = rows.reduce((sum, row) => sum + row.response.length, 0)
  return {
    ids: packed.ids,
    mask: packed.mask,
    targets: packed.targets,
    tokenWeights: packed.responseMask.map((m) => (tokens === 0 ? 0 : m / tokens)),
    batch: rows.length,
    length: packed.length,
  }
}
