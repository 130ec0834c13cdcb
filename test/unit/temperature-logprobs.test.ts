// The log-prob passes score the distribution the sampler drew from: logits / T (verl's log-prob passes divide by the
// rollout temperature too), in tfjs and in onnxruntime, with the token statistics of the self-certainty and entropy
// rewards taken from the same tempered logits. Checked against a float64 computation from the raw logits.
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { Transformer } from '../../main/engine/model/transformer'
import { exportOnnx } from '../../main/engine/onnx/export'
import { OnnxModel } from '../../main/engine/onnx/session'
import { onnxResponseStats } from '../../main/engine/onnx/token-stats'
import { packRows, disposePacked, responseTokenStats } from '../../main/engine/trainer/grpo'
import { Random } from '../../main/random'
import { tinyConfig } from '../helpers/tiny-model'

const T = 0.7
const config = tinyConfig({ vocab_size: 37, hidden_size: 32, num_hidden_layers: 2, intermediate_size: 64 })
let model: Transformer
let onnx: OnnxModel
const random = new Random(3)
const rows = [
  [4, 5],
  [6, 3],
  [2, 7],
].map(([p, r]) => ({
  prompt: Array.from({ length: p! }, () => 3 + random.int(34)),
  response: Array.from({ length: r! }, () => 3 + random.int(34)),
}))

beforeAll(async () => {
  await useBackend('wasm')
  model = Transformer.initialise(config, 9)
  onnx = await OnnxModel.create(exportOnnx(config, model.toArrays()), config.vocab_size)
})
afterAll(async () => {
  await onnx.release()
  model.dispose()
})

/** Per response token, in float64 from the raw logits: log p_T(token), the entropy of p_T and logsumexp - mean of logits / T. */
function reference(temperature: number): { logProbs: number[][]; entropy: number[][]; selfCertainty: number[][] } {
  const packed = packRows(rows, 0)
  const logits = model.forward(packed.ids, packed.mask)
  const values = logits.dataSync()
  const V = config.vocab_size
  const out = { logProbs: [] as number[][], entropy: [] as number[][], selfCertainty: [] as number[][] }
  rows.forEach((row, r) => {
    const lp: number[] = []
    const h: number[] = []
    const sc: number[] = []
    row.response.forEach((token, j) => {
      const offset = (r * packed.length + packed.starts[r]! + j) * V
      const z = Array.from({ length: V }, (_, v) => values[offset + v]! / temperature)
      const max = Math.max(...z)
      const logZ = max + Math.log(z.reduce((sum, x) => sum + Math.exp(x - max), 0))
      lp.push(z[token]! - logZ)
      h.push(-z.reduce((sum, x) => sum + Math.exp(x - logZ) * (x - logZ), 0))
      sc.push(logZ - z.reduce((a, b) => a + b, 0) / V)
    })
    out.logProbs.push(lp)
    out.entropy.push(h)
    out.selfCertainty.push(sc)
  })
  tf.dispose(logits)
  disposePacked(packed)
  return out
}

function expectNear(actual: Float32Array[], expected: number[][], tolerance: number): void {
  expected.forEach((row, r) => row.forEach((value, j) => expect(actual[r]![j]!).toBeCloseTo(value, tolerance)))
}

describe(`log-prob passes at temperature ${T}`, () => {
  it('tfjs gives log p(token) under logits / T, and the entropy and self-certainty of the tempered logits', () => {
    const expected = reference(T)
    const stats = responseTokenStats(model, rows, 0, 2, true, T)
    expectNear(stats.logProbs, expected.logProbs, 5)
    expectNear(stats.entropy, expected.entropy, 5)
    expectNear(stats.selfCertainty, expected.selfCertainty, 5)
    // ... which is not what the raw logits give.
    const raw = reference(1)
    expect(Math.abs(stats.logProbs[0]![0]! - raw.logProbs[0]![0]!)).toBeGreaterThan(1e-3)
    const plain = responseTokenStats(model, rows, 0, 2, true)
    expectNear(plain.logProbs, raw.logProbs, 5)
  })

  it('onnxruntime gives the same values as tfjs', async () => {
    const expected = responseTokenStats(model, rows, 0, 2, true, T)
    const actual = await onnxResponseStats(onnx, rows, 0, 2, true, undefined, T)
    for (const key of ['logProbs', 'entropy', 'selfCertainty'] as const)
      expectNear(
        actual[key],
        expected[key].map((row) => [...row]),
        4,
      )
  })
})
