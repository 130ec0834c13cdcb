import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { embed, linear } from '../../main/engine/model/ops'
import { Random } from '../../main/random'
import { chooseToken } from '../../main/engine/sampling'

beforeAll(async () => {
  await useBackend('wasm')
})

const maxDifference = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)

describe("the wasm-friendly layers' gradients", () => {
  it('linear: explicit transposes give the same gradients as matMul', () => {
    const x = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 1)
    const w = tf.randomNormal([5, 4], 0, 1, 'float32', 2) as tf.Tensor2D
    const b = tf.randomNormal([4], 0, 1, 'float32', 3) as tf.Tensor1D
    const upstream = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 4)
    const ours = tf.grads((x1: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor) =>
      tf.sum(tf.mul(linear(x1, w1 as tf.Tensor2D, b1 as tf.Tensor1D), upstream)),
    )([x, w, b])
    const plain = tf.grads((x1: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor) =>
      tf.sum(tf.mul(tf.add(tf.matMul(x1.reshape([6, 5]), w1 as tf.Tensor2D).reshape([2, 3, 4]), b1), upstream)),
    )([x, w, b])
    ours.forEach((g, i) => expect(maxDifference(g, plain[i]!)).toBeLessThan(1e-5))
  })

  it('embed: repeated ids add up their gradients (scatterND), as a one-hot product would', () => {
    const table = tf.randomNormal([6, 3], 0, 1, 'float32', 5) as tf.Tensor2D
    const ids = tf.tensor2d(
      [
        [1, 4, 1],
        [0, 1, 5],
      ],
      undefined,
      'int32',
    )
    const upstream = tf.randomNormal([2, 3, 3], 0, 1, 'float32', 6)
    const [ours] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(embed(t as tf.Tensor2D, ids), upstream)))([table])
    const [viaOneHot] = tf.grads((t: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(tf.oneHot(ids.reshape([-1]), 6).cast('float32'), t as tf.Tensor2D).reshape([2, 3, 3]), upstream)),
    )([table])
    expect(maxDifference(ours!, viaOneHot!)).toBeLessThan(1e-5)
    expect(Array.from(ours!.slice([2, 0], [1, -1]).dataSync())).toEqual([0, 0, 0])
  })
})

describe('choosing the next token', () => {
  const logits = Float32Array.from([1, 3, 2, 0.5])

  it('takes the argmax when greedy', () => {
    expect(chooseToken(logits, 0, 4, 0, 1, new Random(1))).toBe(1)
  })

  it('keeps only the nucleus: with top-p below the top token mass, always the top token', () => {
    const random = new Random(2)
    for (let i = 0; i < 50; i++) expect(chooseToken(logits, 0, 4, 1, 0.5, random)).toBe(1)
  })

  it('samples in proportion to softmax(logits / T)', () => {
    const random = new Random(3)
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 20000; i++) counts[chooseToken(logits, 0, 4, 1, 1, random)]! += 1
    const z = [1, 3, 2, 0.5].map(Math.exp)
    const total = z.reduce((a, b) => a + b)
    counts.forEach((count, i) => expect(count / 20000).toBeCloseTo(z[i]! / total, 1))
  })

  it('reads the row at its offset', () => {
    expect(chooseToken(Float32Array.from([9, 0, 0, 0, 1, 0]), 3, 3, 0, 1, new Random(1))).toBe(1)
  })
})
