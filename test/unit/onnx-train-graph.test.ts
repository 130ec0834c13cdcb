// The hand-written backward pass of the ONNX training graph against tfjs's autodiff of the same loss (grpo.ts's
// microBatchLoss, pre-training's mean NLL) and against central finite differences of the graph's own loss.
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { ModelConfig, weightShapes } from '../../main/engine/model/config'
import { Transformer } from '../../main/engine/model/transformer'
import { tokenLogProbs } from '../../main/engine/model/token-stats'
import { OnnxTrainingGraph } from '../../main/engine/onnx/train-graph'
import { microBatchLoss, nllTrainingBatch, responseTokenStats, trainingBatch } from '../../main/engine/trainer/grpo'
import type { TrainingRow } from '../../main/engine/trainer/grpo'
import { Random } from '../../main/random'

beforeAll(async () => {
  await useBackend('wasm')
})

const PAD = 0
const settings = { clipLow: 0.2, clipHigh: 0.28, dualClip: 3, klCoef: 0.05 }

function configOf(positions: 'learned' | 'rotary'): ModelConfig {
  return ModelConfig.parse({
    model_type: 'cwb-gpt',
    vocab_size: 41,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 48,
    max_position_embeddings: 24,
    position_embedding_type: positions,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: PAD,
  })
}

/** Every weight random (norm gains and biases too), so no gradient term hides behind a zero or a one. */
function randomModel(config: ModelConfig, seed: number): Transformer {
  const random = new Random(seed)
  const data: Record<string, Float32Array> = {}
  for (const [name, shape] of Object.entries(weightShapes(config))) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1))
    const gain = /ln_\d|ln_f/.test(name) && name.endsWith('.weight')
    for (let i = 0; i < values.length; i++) values[i] = (gain ? 1 : 0) + random.normal() * (gain ? 0.2 : 0.15)
    data[name] = values
  }
  return Transformer.fromArrays(config, data)
}

/** Rows of different lengths, advantages of both signs, and old / reference log-probs off the current ones so that
 * some tokens are clipped, some dual-clipped and the KL is not zero. */
function rowsFor(model: Transformer, seed: number): TrainingRow[] {
  const random = new Random(seed)
  const token = (): number => 3 + Math.floor(random.next() * 38)
  const shapes = [
    [5, 4],
    [3, 7],
    [8, 2],
    [4, 5],
    [6, 6],
  ]
  const base = shapes.map(([p, r]) => ({
    prompt: Array.from({ length: p! }, token),
    response: Array.from({ length: r! }, token),
  }))
  const current = responseTokenStats(model, base, PAD, 8, false).logProbs
  const advantages = [1.2, -0.8, 0.5, -1.5, 0]
  const tokens = base.reduce((sum, row) => sum + row.response.length, 0)
  return base.map((row, r) => ({
    ...row,
    advantage: advantages[r]!,
    oldLogProbs: current[r]!.map((lp) => lp + (random.next() - 0.5) * 1.2),
    refLogProbs: current[r]!.map((lp) => lp + (random.next() - 0.5) * 0.6),
    weight: 1 / tokens,
  }))
}

function tfjsGrads(model: Transformer, loss: () => tf.Scalar): { value: number; grads: Record<string, Float32Array> } {
  const { value, grads } = tf.variableGrads(loss)
  const out: Record<string, Float32Array> = {}
  for (const [name, variable] of model.weights) out[name] = grads[variable.name]!.dataSync() as Float32Array
  const result = { value: value.dataSync()[0]!, grads: out }
  tf.dispose([value, ...Object.values(grads)])
  return result
}

function expectClose(actual: Record<string, Float32Array>, expected: Record<string, Float32Array>): void {
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name]!
    expect(got.length, name).toBe(want.length)
    const scale = Math.max(1e-3, ...Array.from(want, Math.abs))
    let worst = 0
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!))
    expect(worst / scale, `${name}: largest difference ${worst} against a largest gradient of ${scale}`).toBeLessThan(2e-4)
  }
}

describe.each(['learned', 'rotary'] as const)('the ONNX training graph with %s positions', (positions) => {
  const config = configOf(positions)
  const model = randomModel(config, 7)
  const weights = model.toArrays()
  const rows = rowsFor(model, 11)
  let grpo: OnnxTrainingGraph
  let nll: OnnxTrainingGraph
  beforeAll(async () => {
    grpo = await OnnxTrainingGraph.create(config, 'grpo')
    nll = await OnnxTrainingGraph.create(config, 'nll')
  })
  afterAll(async () => {
    await grpo.release()
    await nll.release()
    model.dispose()
  })

  it('gives the GRPO loss, its parts and every weight gradient of tfjs autodiff (within 2e-4 of the largest)', async () => {
    const stats = { pg: 0, kl: 0, clip: 0, entropy: 0 }
    const expected = tfjsGrads(model, () => {
      const part = microBatchLoss(model, rows, settings, PAD)
      Object.assign(stats, { pg: part.pgLoss, kl: part.klLoss, clip: part.clipFraction, entropy: part.entropy })
      return part.loss
    })
    const pass = await grpo.run(weights, trainingBatch(rows, PAD), settings)
    expect(stats.clip).toBeGreaterThan(0) // the clipped branches are exercised
    expect(pass.loss).toBeCloseTo(expected.value, 5)
    expect(pass.pg).toBeCloseTo(stats.pg, 5)
    expect(pass.kl).toBeCloseTo(stats.kl, 5)
    expect(pass.kl).toBeGreaterThan(0)
    expect(pass.clip).toBeCloseTo(stats.clip, 6)
    expect(pass.entropy).toBeCloseTo(stats.entropy, 4)
    expectClose(pass.grads, expected.grads)
  })

  it('at temperature 0.7 scores logits / T, with the loss and gradients of tfjs autodiff', async () => {
    const tempered = { ...settings, temperature: 0.7 }
    const expected = tfjsGrads(model, () => microBatchLoss(model, rows, tempered, PAD).loss)
    const plain = await grpo.run(weights, trainingBatch(rows, PAD), settings)
    const pass = await grpo.run(weights, trainingBatch(rows, PAD), tempered)
    expect(Math.abs(pass.loss - plain.loss)).toBeGreaterThan(1e-3) // the temperature reaches the loss
    expect(pass.loss).toBeCloseTo(expected.value, 5)
    expectClose(pass.grads, expected.grads)
  })

  it('gives the mean NLL and its gradients as tfjs does', async () => {
    const batch = nllTrainingBatch(rows, PAD)
    const expected = tfjsGrads(model, () =>
      tf.tidy(() => {
        const ids = tf.tensor2d(batch.ids, [batch.batch, batch.length], 'int32')
        const mask = tf.tensor2d(batch.mask, [batch.batch, batch.length], 'int32')
        const targets = tf.tensor2d(batch.targets, [batch.batch, batch.length], 'int32')
        const w = tf.tensor2d(batch.tokenWeights, [batch.batch, batch.length])
        return tf.neg(tf.sum(tf.mul(tokenLogProbs(model.forward(ids, mask), targets), w))) as tf.Scalar
      }),
    )
    const pass = await nll.run(weights, batch)
    expect(pass.loss).toBeCloseTo(expected.value, 5)
    expectClose(pass.grads, expected.grads)
  })

  it('agrees with central finite differences of its own loss', async () => {
    const batch = nllTrainingBatch(rows, PAD)
    const { grads } = await nll.run(weights, batch)
    const random = new Random(3)
    const h = 1e-2
    for (const name of [
      'embed_tokens.weight',
      'layers.0.attn.qkv.weight',
      'layers.1.mlp.up.bias',
      'layers.0.ln_1.weight',
      'ln_f.bias',
    ]) {
      for (let trial = 0; trial < 3; trial++) {
        const index = Math.floor(random.next() * weights[name]!.length)
        const lossWith = async (delta: number): Promise<number> => {
          const copy = weights[name]!.slice()
          copy[index] = copy[index]! + delta
          return (await nll.run({ ...weights, [name]: copy }, batch)).loss
        }
        const numeric = ((await lossWith(h)) - (await lossWith(-h))) / (2 * h)
        expect(Math.abs(grads[name]![index]! - numeric), `${name}[${index}]: ${grads[name]![index]} vs ${numeric}`).toBeLessThan(
          2e-3 + 0.02 * Math.abs(numeric),
        )
      }
    }
  })
})
