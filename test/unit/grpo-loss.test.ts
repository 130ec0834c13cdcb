import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { learningRateAt } from '../../main/engine/optim/adamw'
import { emaRate } from '../../main/engine/trainer/ema'
import { packRows, tokenLossTerms } from '../../main/engine/trainer/grpo'

beforeAll(async () => {
  await useBackend('wasm')
})

const settings = { clipLow: 0.2, clipHigh: 0.2, dualClip: 3, klCoef: 0.005 }

/** Terms for one token: log-ratio r = logp - old, advantage a, and d = ref - logp. */
function terms(logRatio: number, advantage: number, refMinusLogp = 0): { pg: number; kl: number; clipped: number } {
  const logp = tf.scalar(-1)
  const out = tokenLossTerms(logp, tf.scalar(-1 - logRatio), tf.scalar(-1 + refMinusLogp), tf.scalar(advantage), settings)
  return { pg: out.pg.dataSync()[0]!, kl: out.kl.dataSync()[0]!, clipped: out.clipped.dataSync()[0]! }
}

describe('the PPO clipped loss with dual clip (per token)', () => {
  it('is -A * ratio inside the trust region', () => {
    expect(terms(Math.log(1.1), 2).pg).toBeCloseTo(-2.2, 6)
    expect(terms(Math.log(0.9), -1).pg).toBeCloseTo(0.9, 6)
    expect(terms(0, 1).clipped).toBe(0)
  })

  it('clips the ratio at 1 + 0.2 for a positive advantage (max of the two losses)', () => {
    const t = terms(Math.log(1.5), 1)
    expect(t.pg).toBeCloseTo(-1.2, 6)
    expect(t.clipped).toBe(1)
  })

  it('clips the ratio at 1 - 0.2 for a negative advantage', () => {
    expect(terms(Math.log(0.5), -1).pg).toBeCloseTo(0.8, 6)
  })

  it('bounds a negative advantage by the dual clip: at most -A * 3', () => {
    // ratio 5, A = -1: clipped loss would be max(5, 1.2) = 5; the dual clip caps it at 3.
    expect(terms(Math.log(5), -1).pg).toBeCloseTo(3, 6)
    // ratio 2.5 stays under the cap.
    expect(terms(Math.log(2.5), -1).pg).toBeCloseTo(2.5, 6)
  })
})

describe('the k3 KL estimator', () => {
  it('is exp(d) - d - 1 with d = ref - logp', () => {
    expect(terms(0, 0, 0).kl).toBeCloseTo(0, 7)
    expect(terms(0, 0, 0.5).kl).toBeCloseTo(Math.exp(0.5) - 0.5 - 1, 6)
    expect(terms(0, 0, -2).kl).toBeCloseTo(Math.exp(-2) + 2 - 1, 6)
  })

  it('is clamped to 10', () => {
    expect(terms(0, 0, 5).kl).toBeCloseTo(10, 6)
  })
})

describe('packing rows for the update', () => {
  it('left-pads prompt+response and marks the positions that predict response tokens', () => {
    const packed = packRows(
      [
        { prompt: [1, 5], response: [7, 2] },
        { prompt: [1, 5, 6], response: [8, 9, 2] },
      ],
      0,
    )
    expect(packed.length).toBe(6)
    expect(Array.from(packed.ids.dataSync())).toEqual([0, 0, 1, 5, 7, 2, 1, 5, 6, 8, 9, 2])
    // Row 0: position 3 (token 5) predicts 7, position 4 predicts 2.
    expect(Array.from(packed.responseMask.dataSync())).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0])
    expect(Array.from(packed.targets.dataSync()).slice(0, 6)).toEqual([0, 0, 0, 7, 2, 0])
    expect(packed.starts).toEqual([3, 2])
  })
})

describe('schedules', () => {
  it('EMA rate goes from alpha_start at step 1 to alpha_end at step T+1, half-cosine', () => {
    expect(emaRate(1, 100, 0.01, 1e-5)).toBeCloseTo(0.01, 12)
    expect(emaRate(51, 100, 0.01, 1e-5)).toBeCloseTo(1e-5 + 0.5 * (0.01 - 1e-5), 12)
    expect(emaRate(101, 100, 0.01, 1e-5)).toBeCloseTo(1e-5, 12)
    expect(emaRate(500, 100, 0.01, 1e-5)).toBeCloseTo(1e-5, 12)
  })

  it('learning rate warms up linearly, then follows a half-cosine to 0', () => {
    expect(learningRateAt(1, 1e-3, 10, 100)).toBeCloseTo(1e-4, 12)
    expect(learningRateAt(10, 1e-3, 10, 100)).toBeCloseTo(1e-3, 12)
    expect(learningRateAt(55, 1e-3, 10, 100)).toBeCloseTo(5e-4, 12)
    expect(learningRateAt(100, 1e-3, 10, 100)).toBeCloseTo(0, 12)
  })
})
