// The demo model's KV-cached ONNX graph (export.ts, exportGptKvOnnx) run by onnxruntime-node (gpt-session.ts) against
// the tfjs model's own KV-cached prefill and decode, for learned and rotary positions: logits on left-padded prompts
// of different lengths, greedy and seeded sampling through generate, and weights fed with each pass.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { Transformer } from '../../main/engine/model/transformer'
import type { KvCache } from '../../main/engine/model/transformer'
import { onnxDecoderLogits } from '../../main/engine/onnx/decoder-session'
import { onnxWeightFeeds } from '../../main/engine/onnx/export'
import { OnnxGpt } from '../../main/engine/onnx/gpt-session'
import { generate, lastPositions, leftPad, leftPadIds, tfjsLogits } from '../../main/engine/sampling'
import { Random } from '../../main/random'
import { tinyConfig } from '../helpers/tiny-model'

beforeAll(async () => {
  await useBackend('wasm')
})

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!))
  return max
}

const read = (logits: tf.Tensor2D): Float32Array => logits.dataSync() as Float32Array

describe.each(['learned', 'rotary'] as const)('the KV-cached ONNX graph of cwb-gpt with %s positions', (position) => {
  // A larger initializer range than the default spreads the logits, so greedy choices are not near-ties.
  const config = tinyConfig({
    vocab_size: 53,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    max_position_embeddings: 40,
    position_embedding_type: position,
    initializer_range: 0.3,
  })
  const random = new Random(11)
  const prompts = [5, 9, 2, 12].map((n) => Array.from({ length: n }, () => 3 + random.int(config.vocab_size - 3)))

  it('names inputs and outputs as Hugging Face ONNX exports do, the weights as onnxWeightFeeds', async () => {
    const model = Transformer.initialise(config, 3)
    const onnx = await OnnxGpt.create(config)
    const cache = (prefix: string): string[] => [0, 1].flatMap((i) => [`${prefix}.${i}.key`, `${prefix}.${i}.value`])
    expect(onnx.inputNames.slice(0, 7)).toEqual(['input_ids', 'attention_mask', 'position_ids', ...cache('past_key_values')])
    expect([...onnx.inputNames.slice(7)].sort()).toEqual(Object.keys(onnxWeightFeeds(config, model.toArrays())).sort())
    expect(onnx.outputNames).toEqual(['logits', ...cache('present')])
    await onnx.release()
    model.dispose()
  })

  it('prefill and decode steps match the tfjs model within 1e-4 on left-padded prompts', async () => {
    const model = Transformer.initialise(config, 3)
    const onnx = await OnnxGpt.create(config, model.toArrays())
    const batch = prompts.length
    const vocab = config.vocab_size
    const { ids, mask, length } = leftPadIds(prompts, 0)
    const padded = leftPad(prompts, 0)
    const prefilled = model.prefill(padded.ids, padded.mask)
    tf.dispose([padded.ids, padded.mask])
    let cache: KvCache = prefilled.cache
    let step = await onnx.run({ ids, mask, batch, length })
    let worst = maxAbs(lastPositions(step.logits, batch, length, vocab), read(prefilled.logits))
    prefilled.logits.dispose()
    const heads = config.num_attention_heads
    expect(step.keys[0]!.dims).toEqual([batch, heads, length, config.hidden_size / heads])
    const maskRows = prompts.map((_, r) => Array.from(mask.subarray(r * length, (r + 1) * length)))
    for (let t = 0; t < 6; t++) {
      const tokens = Int32Array.from({ length: batch }, () => 3 + random.int(vocab - 3))
      maskRows.forEach((row) => row.push(1))
      const past = { keys: step.keys, values: step.values }
      step = await onnx.run({ ids: tokens, mask: maskRows.flat(), batch, length: 1, past })
      const input = tf.tensor1d(tokens, 'int32')
      const decoded = model.decode(input, cache)
      input.dispose()
      cache = decoded.cache
      worst = Math.max(worst, maxAbs(step.logits, read(decoded.logits)))
      decoded.logits.dispose()
    }
    expect(step.keys[1]!.dims[2]).toBe(length + 6)
    tf.dispose([...cache.keys, ...cache.values, cache.mask, cache.nextPosition])
    console.log(`${position}: max abs logit diff, ONNX KV graph vs tfjs prefill + 6 decode steps: ${worst.toExponential(2)}`)
    expect(worst).toBeLessThan(1e-4)
    await onnx.release()
    model.dispose()
  })

  it('generate gives the same tokens as tfjs, greedy and seeded at temperature 1, with the weights fed', async () => {
    const model = Transformer.initialise(config, 4)
    const onnx = await OnnxGpt.create(config)
    const feeds = onnxWeightFeeds(config, model.toArrays())
    const greedy = { temperature: 0, topP: 1, maxNewTokens: 12, samples: 2, seed: 0, eosTokenId: 2, padTokenId: 0 }
    const viaOnnx = await generate(onnxDecoderLogits(onnx, feeds), prompts, greedy)
    const viaTfjs = await generate(tfjsLogits(model), prompts, greedy)
    expect(viaOnnx).toEqual(viaTfjs)
    const sampled = { ...greedy, temperature: 1, samples: 3, seed: 9 }
    const sampledOnnx = await generate(onnxDecoderLogits(onnx, feeds), prompts.slice(0, 2), sampled)
    expect(sampledOnnx).toEqual(await generate(tfjsLogits(model), prompts.slice(0, 2), sampled))
    await onnx.release()
    model.dispose()
  })

  it("decodes the tokens of tfjs through the cached graph alone and through the fixed-capacity graph (the trainer's sampler)", async () => {
    const model = Transformer.initialise(config, 4)
    const onnx = await OnnxGpt.create(config)
    const feeds = onnxWeightFeeds(config, model.toArrays())
    // Samples of the same prompts (one prefill each), and a stop token common enough that rows finish at different steps.
    const sampled = { temperature: 1.5, topP: 1, maxNewTokens: 14, samples: 3, seed: 4, eosTokenId: 7, padTokenId: 0 }
    const expected = await generate(tfjsLogits(model), prompts, sampled)
    expect(new Set(expected.map((c) => c.tokens.length)).size).toBeGreaterThan(2)
    expect(expected.some((c) => c.finished) && expected.some((c) => !c.finished)).toBe(true)
    expect(await generate(onnxDecoderLogits(onnx, feeds), prompts, sampled)).toEqual(expected)
    expect(await generate(onnx.sampler(feeds), prompts, sampled)).toEqual(expected)
    // 35 new tokens after a 5-token prompt: the cache buffers grow past prompt + 32 slots.
    const long = { ...sampled, maxNewTokens: 35, eosTokenId: -1, samples: 2 }
    const grown = await generate(onnx.sampler(feeds), prompts.slice(0, 1), long)
    expect(grown.map((c) => c.tokens.length)).toEqual([35, 35])
    expect(grown).toEqual(await generate(tfjsLogits(model), prompts.slice(0, 1), long))
    const greedy = { ...sampled, temperature: 0, samples: 1 }
    expect(await generate(onnx.sampler(feeds), prompts, greedy)).toEqual(await generate(tfjsLogits(model), prompts, greedy))
    await onnx.release()
    model.dispose()
  })

  it('follows the weights fed with each pass, without a new session', async () => {
    const model = Transformer.initialise(config, 5)
    const onnx = await OnnxGpt.create(config)
    const { ids, mask, length } = leftPadIds(prompts, 0)
    const before = await onnx.logits(ids, mask, prompts.length, length, onnxWeightFeeds(config, model.toArrays()))
    const weight = model.weights.get('layers.1.mlp.down.weight')!
    tf.tidy(() => weight.assign(tf.mul(weight, 1.5)))
    const after = await onnx.logits(ids, mask, prompts.length, length, onnxWeightFeeds(config, model.toArrays()))
    expect(maxAbs(before, after)).toBeGreaterThan(1e-2)
    const padded = leftPad(prompts, 0)
    const expected = tf.tidy(() => model.forward(padded.ids, padded.mask).dataSync() as Float32Array)
    const real = (values: Float32Array): number[] =>
      Array.from(mask).flatMap((m, i) =>
        m === 1 ? Array.from(values.subarray(i * config.vocab_size, (i + 1) * config.vocab_size)) : [],
      )
    expect(maxAbs(real(after), real(expected))).toBeLessThan(1e-4)
    tf.dispose([padded.ids, padded.mask])
    await onnx.release()
    model.dispose()
  })
})
