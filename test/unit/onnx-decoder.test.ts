// The KV-cached ONNX graph of the Hugging Face decoder families (main/engine/onnx/decoder-export.ts) on random-weight
// folders, no PyTorch needed: Hugging Face's input/output names, one-token decoding with the cache against a
// full-prefix forward, the tfjs decoder against onnxruntime, left padding. The float64 reference comparison is
// test/integration/hf-onnx.test.ts.
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { openWeightFiles } from '../../main/engine/checkpoint/hf-weights'
import { leftPadIds } from '../../main/engine/sampling'
import { loadCausalLM } from '../../main/engine/model/causal-lm'
import type { Decoder } from '../../main/engine/model/families/decoder'
import { OnnxDecoder, onnxDecoderLogits } from '../../main/engine/onnx/decoder-session'
import { generate, tfjsLogits } from '../../main/engine/sampling'
import { TINY_DECODER_CONFIG, writeRandomWeights } from '../helpers/hf-folder'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()

beforeAll(async () => {
  await useBackend('wasm')
})

const CONFIGS: Record<string, Record<string, unknown>> = {
  'qwen3 tied, head_dim 8': { model_type: 'qwen3', head_dim: 8, tie_word_embeddings: true },
  'qwen2 untied, linear rope': {
    model_type: 'qwen2',
    tie_word_embeddings: false,
    rope_scaling: { type: 'linear', factor: 2 },
  },
  'llama biases, llama3 rope, no GQA': {
    model_type: 'llama',
    num_key_value_heads: 4,
    attention_bias: true,
    mlp_bias: true,
    rope_scaling: {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 16,
    },
  },
}

async function open(name: string): Promise<{ decoder: Decoder; onnx: OnnxDecoder; dispose: () => Promise<void> }> {
  const dir = join(folder(), name.replace(/[^a-z0-9]+/gi, '-'))
  writeRandomWeights(dir, { ...TINY_DECODER_CONFIG, ...CONFIGS[name]! }, { seed: 5, scale: 0.3, normJitter: 0.1 })
  const lm = loadCausalLM(dir)
  const files = openWeightFiles(dir)
  const onnx = await OnnxDecoder.create(lm.model.config as Decoder['config'], (n) => files.read(n))
  return {
    decoder: lm.model as Decoder,
    onnx,
    dispose: async () => {
      await onnx.release()
      lm.dispose()
    },
  }
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!))
  return max
}

describe('ONNX export of the Hugging Face decoder families', () => {
  it('names inputs and outputs as Hugging Face ONNX exports do', async () => {
    const { onnx, dispose } = await open('qwen3 tied, head_dim 8')
    const cache = (prefix: string): string[] => [0, 1].flatMap((i) => [`${prefix}.${i}.key`, `${prefix}.${i}.value`])
    expect(onnx.inputNames.slice(0, 7)).toEqual(['input_ids', 'attention_mask', 'position_ids', ...cache('past_key_values')])
    expect(onnx.inputNames.slice(7).every((name) => name.startsWith('model.') || name.startsWith('rope.'))).toBe(true)
    expect(onnx.outputNames).toEqual(['logits', ...cache('present')])
    await dispose()
  })

  for (const name of Object.keys(CONFIGS)) {
    it(`${name}: matches tfjs, padded equals single, and cached decoding equals a full-prefix forward`, async () => {
      const { decoder, onnx, dispose } = await open(name)
      const rows = [
        [1, 2, 3, 4, 5, 6, 7],
        [9, 8, 30],
      ]
      const { ids, mask, length } = leftPadIds(rows)
      const logits = await onnx.logits(ids, mask, rows.length, length)
      const ref = tf.tidy(() => decoder.forward(tf.tensor2d(ids, [2, length], 'int32'), tf.tensor2d(mask, [2, length], 'int32')))
      const tfjs = ref.dataSync() as Float32Array
      ref.dispose()
      // Only real positions count (a padded query attends to nothing real; both engines agree there too, but by accident).
      const vocab = onnx.vocabSize
      const real = (values: Float32Array): number[] =>
        Array.from(mask).flatMap((m, i) => (m === 1 ? Array.from(values.subarray(i * vocab, (i + 1) * vocab)) : []))
      const vsTfjs = maxAbs(real(logits), real(tfjs))
      expect(vsTfjs).toBeLessThan(1e-4)
      // The short row alone equals its padded row.
      const single = await onnx.logits(Int32Array.from(rows[1]!), new Int32Array(3).fill(1), 1, 3)
      expect(maxAbs(single, logits.subarray((2 * length - 3) * vocab, 2 * length * vocab))).toBeLessThan(1e-5)

      // Prefill 3 (left-padded) positions, then decode the rest one token at a time: each step's logits equal the
      // full-prefix forward's at that position.
      const prefix = 3
      const prefillIds = new Int32Array(2 * prefix)
      const prefillMask = new Int32Array(2 * prefix)
      for (let r = 0; r < 2; r++) {
        prefillIds.set(ids.subarray(r * length, r * length + prefix), r * prefix)
        prefillMask.set(mask.subarray(r * length, r * length + prefix), r * prefix)
      }
      let step = await onnx.run({ ids: prefillIds, mask: prefillMask, batch: 2, length: prefix })
      let worst = 0
      for (let t = prefix; t < length; t++) {
        const stepMask: number[] = []
        for (let r = 0; r < 2; r++) stepMask.push(...mask.subarray(r * length, r * length + t + 1))
        step = await onnx.run({
          ids: [ids[t]!, ids[length + t]!],
          mask: stepMask,
          batch: 2,
          length: 1,
          past: { keys: step.keys, values: step.values },
        })
        expect(step.keys[0]!.dims).toEqual([2, decoder.config.kvHeads, t + 1, decoder.config.headDim])
        for (let r = 0; r < 2; r++) {
          if (mask[r * length + t] !== 1) continue
          const full = logits.subarray((r * length + t) * vocab, (r * length + t + 1) * vocab)
          worst = Math.max(worst, maxAbs(step.logits.subarray(r * vocab, (r + 1) * vocab), full))
        }
      }
      expect(worst).toBeLessThan(1e-4)
      console.log(
        `${name}: max abs logit diff onnx vs tfjs ${vsTfjs.toExponential(2)}, cached vs full prefix ${worst.toExponential(2)}`,
      )

      // Greedy sampling through the cached graph equals tfjs's cached greedy decoding.
      const options = { temperature: 0, topP: 1, maxNewTokens: 10, samples: 1, seed: 0, eosTokenId: -1, padTokenId: 0 }
      const viaOnnx = await generate(onnxDecoderLogits(onnx), rows, options)
      const viaTfjs = await generate(tfjsLogits(decoder), rows, options)
      expect(viaOnnx.map((c) => c.tokens)).toEqual(viaTfjs.map((c) => c.tokens))
      // Sampled (temperature, top-p, several samples per prompt) too: the same draws pick the same tokens.
      const sampled = { ...options, temperature: 0.9, topP: 0.95, samples: 3, seed: 7 }
      const sampledOnnx = await generate(onnxDecoderLogits(onnx), rows, sampled)
      expect(sampledOnnx.map((c) => c.tokens)).toEqual((await generate(tfjsLogits(decoder), rows, sampled)).map((c) => c.tokens))
      await dispose()
    })
  }
})
