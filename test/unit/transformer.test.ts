import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import type { ModelConfig } from '../../main/engine/model/config'
import { tokenEntropy, tokenLogProbs, tokenSelfCertainty } from '../../main/engine/model/token-stats'
import { Transformer } from '../../main/engine/model/transformer'
import { generate, leftPad, tfjsLogits } from '../../main/engine/sampling'
import { tinyConfig } from '../helpers/tiny-model'

const tiny = (position: 'learned' | 'rotary'): ModelConfig => tinyConfig({ position_embedding_type: position })

beforeAll(async () => {
  await useBackend('wasm')
})

const prompts = [
  [1, 5, 6, 7, 8],
  [1, 9, 10],
  [1, 11, 12, 13],
]

describe.each(['learned', 'rotary'] as const)('the transformer with %s positions', (position) => {
  it('gives a left-padded prompt the same logits as the prompt alone', () => {
    const model = Transformer.initialise(tiny(position), 7)
    const padded = leftPad(prompts, 0)
    const batch = model.forward(padded.ids, padded.mask)
    const alone = leftPad([prompts[1]!], 0)
    const single = model.forward(alone.ids, alone.mask)
    const fromBatch = batch.slice([1, padded.length - 3, 0], [1, 3, -1])
    expect(tf.max(tf.abs(tf.sub(fromBatch, single))).dataSync()[0]).toBeLessThan(1e-5)
    tf.dispose([batch, single, fromBatch, padded.ids, padded.mask, alone.ids, alone.mask])
    model.dispose()
  })

  it('decodes with its KV cache exactly as a full forward pass over the grown sequence', () => {
    const model = Transformer.initialise(tiny(position), 3)
    const padded = leftPad(prompts, 0)
    let { logits, cache } = model.prefill(padded.ids, padded.mask)
    const appended = [17, 23]
    for (const token of appended) {
      logits.dispose()
      const input = tf.tensor1d(
        prompts.map(() => token),
        'int32',
      )
      ;({ logits, cache } = model.decode(input, cache))
      input.dispose()
    }
    const full = leftPad(
      prompts.map((p) => [...p, ...appended]),
      0,
    )
    const reference = model.forward(full.ids, full.mask)
    const last = reference.slice([0, full.length - 1, 0], [-1, 1, -1]).squeeze([1])
    expect(tf.max(tf.abs(tf.sub(last, logits))).dataSync()[0]).toBeLessThan(1e-4)
    tf.dispose([
      logits,
      reference,
      last,
      full.ids,
      full.mask,
      padded.ids,
      padded.mask,
      ...cache.keys,
      ...cache.values,
      cache.mask,
      cache.nextPosition,
    ])
    model.dispose()
  })
})

describe('model initialisation and sampling', () => {
  it('initialises identically for the same seed and differently for another', () => {
    const [a, b, c] = [1, 1, 2].map((seed) => Transformer.initialise(tiny('learned'), seed))
    expect(a!.toArrays()['layers.0.attn.qkv.weight']).toEqual(b!.toArrays()['layers.0.attn.qkv.weight'])
    expect(a!.toArrays()['layers.0.attn.qkv.weight']).not.toEqual(c!.toArrays()['layers.0.attn.qkv.weight'])
    ;[a, b, c].forEach((m) => m!.dispose())
  })

  it('samples the same completions for the same seed, G per prompt, stopping at EOS or the budget', async () => {
    const model = Transformer.initialise(tiny('learned'), 11)
    const options = { temperature: 1, topP: 1, maxNewTokens: 6, samples: 4, seed: 5, eosTokenId: 2, padTokenId: 0 }
    const first = await generate(tfjsLogits(model), prompts, options)
    const again = await generate(tfjsLogits(model), prompts, options)
    expect(first).toEqual(again)
    expect(first).toHaveLength(prompts.length * 4)
    expect(first.filter((c) => c.prompt === 2).map((c) => c.sample)).toEqual([0, 1, 2, 3])
    for (const completion of first) {
      expect(completion.tokens.length).toBeLessThanOrEqual(6)
      expect(completion.tokens).not.toContain(2)
      if (!completion.finished) expect(completion.tokens).toHaveLength(6)
    }
    expect(await generate(tfjsLogits(model), prompts, { ...options, seed: 6 })).not.toEqual(first)
    model.dispose()
  })

  it('decodes greedily to the argmax of the full forward pass', async () => {
    const model = Transformer.initialise(tiny('rotary'), 4)
    const [greedy] = await generate(tfjsLogits(model), [prompts[0]!], {
      temperature: 0,
      topP: 1,
      maxNewTokens: 3,
      samples: 1,
      seed: 0,
      eosTokenId: 39,
      padTokenId: 0,
    })
    const sequence = [...prompts[0]!]
    for (let i = 0; i < greedy!.tokens.length; i++) {
      const input = leftPad([sequence], 0)
      const logits = model.forward(input.ids, input.mask)
      const next = logits
        .slice([0, sequence.length - 1, 0], [1, 1, -1])
        .argMax(-1)
        .dataSync()[0]!
      expect(greedy!.tokens[i]).toBe(next)
      sequence.push(next)
      tf.dispose([logits, input.ids, input.mask])
    }
    model.dispose()
  })
})

describe('per-token statistics', () => {
  it('computes log-probabilities, entropy and self-certainty by hand', () => {
    const logits = tf.tensor3d([[[0, Math.log(3)]]]) // p = [1/4, 3/4]
    const targets = tf.tensor2d([[1]], [1, 1], 'int32')
    expect(tokenLogProbs(logits, targets).dataSync()[0]).toBeCloseTo(Math.log(0.75), 6)
    expect(tokenEntropy(logits).dataSync()[0]).toBeCloseTo(-(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75)), 6)
    expect(tokenSelfCertainty(logits).dataSync()[0]).toBeCloseTo(Math.log(4) - Math.log(3) / 2, 6)
    tf.dispose([logits, targets])
  })
})

describe('memory', () => {
  it('leaks no tensors: the count after 100 forward+backward steps equals the count after 1', () => {
    const model = Transformer.initialise(tiny('rotary'), 9)
    const batch = leftPad(prompts, 0)
    const targets = tf.tensor2d(
      prompts.map((_, r) => Array.from({ length: batch.length }, (_, t) => (r + t) % 40)),
      undefined,
      'int32',
    )
    const step = (): void => {
      const { value, grads } = tf.variableGrads(
        () => tf.neg(tf.mean(tokenLogProbs(model.forward(batch.ids, batch.mask), targets))) as tf.Scalar,
      )
      tf.dispose([value, ...Object.values(grads)])
    }
    step()
    const afterOne = tf.memory().numTensors
    for (let i = 0; i < 99; i++) step()
    expect(tf.memory().numTensors).toBe(afterOne)
    tf.dispose([batch.ids, batch.mask, targets])
    model.dispose()
  })
})
