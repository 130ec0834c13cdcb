// The pieces of the Hugging Face family path: RMSNorm, rotary inverse frequencies (plain, linear, llama3), GQA,
// config refusals, F16/BF16 and sharded weights, hub-cache lookup, left-padding invariance. The float64 PyTorch
// comparison of whole models is test/integration/hf-families.test.ts.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { openWeightFiles } from '../../main/engine/checkpoint/hf-weights'
import { hubCacheDir, looksLikeHubId, resolveHubModel } from '../../main/engine/checkpoint/hub-cache'
import { writeSafetensors } from '../../main/engine/checkpoint/safetensors'
import { tfjsLogprobs } from '../../main/engine/logprobs'
import { loadCausalLM } from '../../main/engine/model/causal-lm'
import { Decoder, repeatKv, rmsNorm } from '../../main/engine/model/families/decoder'
import { parseDecoderConfig } from '../../main/engine/model/families/index'
import { inverseFrequencies } from '../../main/engine/model/families/rope'
import { TINY_DECODER_CONFIG, writeRandomWeights } from '../helpers/hf-folder'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()

beforeAll(async () => {
  await useBackend('wasm')
})

const baseConfig = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  model_type: 'qwen3',
  ...TINY_DECODER_CONFIG,
  head_dim: 8,
  tie_word_embeddings: true,
  ...overrides,
})

/** The random F32 weights of the folders written here (writeRandomWeights). */
const WEIGHTS = { seed: 3, scale: 0.2, normJitter: 0.1 }

describe('RMSNorm, rotary frequencies, GQA', () => {
  it('RMSNorm divides by the root mean square plus eps and scales by the weight', () => {
    const out = rmsNorm(tf.tensor2d([[3, 4]]), tf.tensor1d([1, 2]), 0.5).arraySync() as number[][]
    const rms = Math.sqrt((9 + 16) / 2 + 0.5)
    expect(out[0]![0]).toBeCloseTo(3 / rms, 6)
    expect(out[0]![1]).toBeCloseTo((2 * 4) / rms, 6)
  })

  it('inverse frequencies: plain, linear and llama3 (hand-worked)', () => {
    expect([...inverseFrequencies(8, 10000)].map((f) => +f.toPrecision(12))).toEqual([1, 0.1, 0.01, 0.001])
    expect([...inverseFrequencies(8, 10000, { type: 'linear', factor: 4 })].map((f) => +f.toPrecision(12))).toEqual([
      0.25, 0.025, 0.0025, 0.00025,
    ])
    // original 2048, low 1, high 4: wavelengths 2pi and 20pi stay (< 512), 20000pi is slowed by 8 (> 2048),
    // 200pi (between) is blended with smooth = (2048 / 200pi - 1) / 3.
    const scaled = inverseFrequencies(8, 10000, {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 2048,
    })
    const smooth = (2048 / (200 * Math.PI) - 1) / 3
    expect(smooth).toBeCloseTo(0.753163, 5)
    expect(scaled[0]).toBeCloseTo(1, 12)
    expect(scaled[1]).toBeCloseTo(0.1, 12)
    expect(scaled[2]).toBeCloseTo((1 - smooth) * (0.01 / 8) + smooth * 0.01, 12)
    expect(scaled[2]).toBeCloseTo(0.00784018, 7)
    expect(scaled[3]).toBeCloseTo(0.001 / 8, 12)
  })

  it('repeats each KV head for its group of query heads, in order', () => {
    const kv = tf.tensor4d([10, 20], [1, 2, 1, 1]) // two KV heads
    const repeated = repeatKv(kv, 3)
    expect(repeated.shape).toEqual([1, 6, 1, 1])
    expect([...repeated.dataSync()]).toEqual([10, 10, 10, 20, 20, 20])
  })
})

describe('config.json', () => {
  const parse = (overrides: Record<string, unknown>): unknown => parseDecoderConfig(baseConfig(overrides), 'x/config.json')

  it('reads the families with their defaults and head_dim', () => {
    const qwen3 = parseDecoderConfig(baseConfig(), 'config.json')
    expect(qwen3).toMatchObject({ headDim: 8, kvHeads: 2, qkNorm: true, qkvBias: false, eosTokenIds: [2] })
    const qwen2 = parseDecoderConfig(baseConfig({ model_type: 'qwen2', head_dim: undefined }), 'config.json')
    expect(qwen2).toMatchObject({ headDim: 4, qkvBias: true, outputBias: false, qkNorm: false })
    const llama = parseDecoderConfig(
      baseConfig({ model_type: 'llama', attention_bias: true, mlp_bias: true, eos_token_id: [5, 6], rope_scaling: null }),
      'config.json',
    )
    expect(llama).toMatchObject({ qkvBias: true, outputBias: true, mlpBias: true, eosTokenIds: [5, 6], ropeScaling: undefined })
    expect(parse({ rope_scaling: { type: 'linear', factor: 2 } })).toMatchObject({ ropeScaling: { type: 'linear', factor: 2 } })
    expect(parse({ sliding_window: 4096, use_sliding_window: false })).toMatchObject({ modelType: 'qwen3' })
  })

  it('refuses what it cannot run exactly, naming it and what is supported', () => {
    expect(() => parse({ model_type: 'mistral' })).toThrow(
      'x/config.json: model_type "mistral" is not supported by this engine; supported: cwb-gpt, qwen2, qwen3, llama',
    )
    expect(() => parse({ rope_scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(
      /rope_scaling: rope type "yarn" is not supported by this engine; supported: none \(null\), "default", "linear", "llama3"/,
    )
    expect(() => parse({ rope_scaling: { type: 'dynamic', factor: 2 } })).toThrow(/rope type "dynamic" is not supported/)
    expect(() => parse({ use_sliding_window: true, sliding_window: 16 })).toThrow(
      /use_sliding_window: sliding-window attention is not supported/,
    )
    expect(() => parse({ hidden_act: 'gelu' })).toThrow(/hidden_act: "gelu" is not supported/)
    expect(() => parse({ num_key_value_heads: 3 })).toThrow(/num_key_value_heads: 3 does not divide num_attention_heads 4/)
    expect(() => parse({ rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(/rope_scaling: low_freq_factor/)
  })
})

describe('weight files', () => {
  it('reads F16 and BF16 as float32, and shards through the index', () => {
    const dir = folder()
    // 1.5, -2 and 0.099975586 (the F16 nearest 0.1); BF16 1.5 = 0x3fc0, -2 = 0xc000
    writeSafetensors(join(dir, 'a.safetensors'), {
      half: { dtype: 'F16', shape: [3], data: Uint16Array.from([0x3e00, 0xc000, 0x2e66]) },
    })
    writeSafetensors(join(dir, 'b.safetensors'), {
      brain: { dtype: 'BF16', shape: [2, 1], data: Uint16Array.from([0x3fc0, 0xc000]) },
    })
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { half: 'a.safetensors', brain: 'b.safetensors' } }),
    )
    const files = openWeightFiles(dir)
    expect(files.shapes.get('brain')).toEqual({ dtype: 'BF16', shape: [2, 1] })
    expect([...files.read('half')]).toEqual([1.5, -2, 0.0999755859375])
    expect([...files.read('brain')]).toEqual([1.5, -2])
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { half: 'c.safetensors' } }))
    expect(() => openWeightFiles(dir)).toThrow(/c\.safetensors is missing/)
  })

  it('refuses missing or misshapen weights together, naming them', () => {
    const dir = folder()
    writeRandomWeights(dir, baseConfig(), WEIGHTS)
    writeFileSync(join(dir, 'config.json'), JSON.stringify(baseConfig({ intermediate_size: 20 })))
    expect(() => loadCausalLM(dir)).toThrow(
      /do not match config\.json \(model_type "qwen3"\): 6 with the wrong shape \(model\.layers\.0\.mlp\.gate_proj\.weight is \[24, 16\], config\.json needs \[20, 16\]/,
    )
  })
})

describe('hub cache', () => {
  it('resolves ORG/NAME to refs/main, else the newest snapshot, and says where it looked', () => {
    const home = folder()
    expect(hubCacheDir({ HF_HOME: home }, '/h')).toBe(join(home, 'hub'))
    expect(hubCacheDir({}, '/h')).toBe('/h/.cache/huggingface/hub')
    expect(looksLikeHubId('Qwen/Qwen3-0.6B')).toBe(true)
    expect(looksLikeHubId('./runs/x')).toBe(false)
    expect(looksLikeHubId('run:12')).toBe(false)
    const snapshots = join(home, 'hub', 'models--Org--Name', 'snapshots')
    for (const rev of ['old', 'new']) {
      mkdirSync(join(snapshots, rev), { recursive: true })
      writeFileSync(join(snapshots, rev, 'config.json'), '{}')
    }
    utimesSync(join(snapshots, 'old'), 1, 1)
    expect(resolveHubModel('Org/Name', { HF_HOME: home })).toBe(join(snapshots, 'new'))
    mkdirSync(join(home, 'hub', 'models--Org--Name', 'refs'))
    writeFileSync(join(home, 'hub', 'models--Org--Name', 'refs', 'main'), 'old\n')
    expect(resolveHubModel('Org/Name', { HF_HOME: home })).toBe(join(snapshots, 'old'))
    expect(() => resolveHubModel('Org/Other', { HF_HOME: home })).toThrow(
      `looked in ${join(home, 'hub', 'models--Org--Other', 'snapshots')}`,
    )
  })
})

describe('the decoder', () => {
  it('gives a row the same logprobs alone or left-padded in a batch (GQA, qk-norm, untied)', () => {
    const dir = folder()
    writeRandomWeights(dir, baseConfig({ tie_word_embeddings: false }), WEIGHTS)
    const lm = loadCausalLM(dir)
    expect(lm.model).toBeInstanceOf(Decoder)
    expect(lm.tokenizer).toBeUndefined()
    const rows = [
      { prompt: [1, 2, 3, 4, 5, 6], response: [7, 8] },
      { prompt: [9], response: [10, 11, 12, 13] },
      { prompt: [14, 15, 16], response: [17] },
    ]
    const batched = tfjsLogprobs(lm.model, rows)
    // Scoring one position at a time (as for a large vocabulary) gives the same numbers.
    const chunked = tfjsLogprobs(lm.model, rows, 1)
    chunked.forEach((row, r) => row.forEach((value, i) => expect(value).toBeCloseTo(batched[r]![i]!, 6)))
    rows.forEach((row, r) => {
      const alone = tfjsLogprobs(lm.model, [row])[0]!
      alone.forEach((value, i) => expect(batched[r]![i]).toBeCloseTo(value, 5))
    })
    // The KV-cache path matches the full forward pass.
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32')
    const mask = tf.ones([1, 3], 'int32') as tf.Tensor2D
    const full = lm.model.forward(ids, mask).arraySync() as number[][][]
    const { logits, cache } = lm.model.prefill(ids.slice([0, 0], [1, 2]), mask.slice([0, 0], [1, 2]))
    expect(logits.arraySync()[0]![5]).toBeCloseTo(full[0]![1]![5]!, 4)
    const next = lm.model.decode(tf.tensor1d([3], 'int32'), cache)
    const decoded = next.logits.arraySync()[0]!
    decoded.forEach((value, i) => expect(value).toBeCloseTo(full[0]![2]![i]!, 4))
    lm.dispose()
  })
})
