// Tests of the float64 PyTorch reference (test/reference/hf_families.py) that other tests use as an oracle for
// Hugging Face qwen2 / qwen3 / llama folders: the folders it writes, and the numbers it gives.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'
import { afterAll, describe, expect, it } from 'vitest'
import { readSafetensors, toFloat32, type TensorData } from '../../main/engine/checkpoint/safetensors'
import {
  REFERENCE_FIXTURES,
  referenceBatchLogprobs,
  referenceGreedy,
  referenceLogprobs,
  torchAvailable,
  useReferenceFixtures,
  type ReferenceFixture,
  type ReferenceLine,
} from '../helpers/reference'

const skip = torchAvailable()
if (skip !== undefined) console.warn(`Skipping the Hugging Face reference tests: ${skip}`)

const fixtures = useReferenceFixtures()
const scratch = mkdtempSync(join(tmpdir(), 'cwb-hf-reference-test-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const EXPECTED_DTYPE = { f32: 'F32', 'bf16-qknorm': 'BF16', 'f16-sharded-llama3': 'F16', 'linear-rope': 'F32' } as const
const name = ({ family, variant }: { family: string; variant: string }): string => `${family}-${variant}`

function fixture(family: string, variant: string): ReferenceFixture {
  const found = fixtures().find((f) => f.family === family && f.variant === variant)
  if (!found) throw new Error(`no fixture ${family}-${variant}`)
  return found
}

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>

/** Every tensor of the folder, and the file each came from. */
function readFolderWeights(dir: string): { tensors: Record<string, TensorData>; fileOf: Record<string, string> } {
  const index = join(dir, 'model.safetensors.index.json')
  const files = existsSync(index)
    ? [...new Set(Object.values((readJson(index) as { weight_map: Record<string, string> }).weight_map))]
    : ['model.safetensors']
  const tensors: Record<string, TensorData> = {}
  const fileOf: Record<string, string> = {}
  for (const file of files) {
    for (const [tensorName, tensor] of Object.entries(readSafetensors(join(dir, file)).tensors)) {
      expect(tensors[tensorName], `${tensorName} is in two shards`).toBeUndefined()
      tensors[tensorName] = tensor
      fileOf[tensorName] = file
    }
  }
  return { tensors, fileOf }
}

const LINES: ReferenceLine[] = [
  { prompt_ids: [5, 6, 7], response_ids: [8, 9, 10, 11] },
  { prompt_ids: [100], response_ids: [3] },
  { prompt_ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], response_ids: [12, 250, 13] },
]

describe.skipIf(skip !== undefined)('the Hugging Face reference folders', () => {
  it.each(REFERENCE_FIXTURES.map((f) => ({ ...f, label: name(f) })))('$label is a readable HF folder', ({ family, variant }) => {
    const { dir } = fixture(family, variant)
    const config = readJson(join(dir, 'config.json'))
    expect(config.model_type).toBe(family)
    expect(config.architectures).toEqual([
      { qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', llama: 'LlamaForCausalLM' }[family],
    ])
    const hidden = config.hidden_size as number
    const heads = config.num_attention_heads as number
    const kvHeads = config.num_key_value_heads as number
    const vocab = config.vocab_size as number
    const headDim = (config.head_dim as number | undefined) ?? hidden / heads
    expect(kvHeads).toBeLessThan(heads)
    if (variant === 'bf16-qknorm') expect(headDim).not.toBe(hidden / heads)

    const { tensors, fileOf } = readFolderWeights(dir)
    for (const [tensorName, tensor] of Object.entries(tensors)) {
      expect(tensor.dtype, tensorName).toBe(EXPECTED_DTYPE[variant])
      const values = toFloat32(tensor)
      expect(
        values.every((v) => Number.isFinite(v)),
        tensorName,
      ).toBe(true)
    }
    const shape = (tensorName: string): number[] | undefined => tensors[tensorName]?.shape
    expect(shape('model.embed_tokens.weight')).toEqual([vocab, hidden])
    expect(shape('model.norm.weight')).toEqual([hidden])
    expect(shape('lm_head.weight')).toEqual(config.tie_word_embeddings ? undefined : [vocab, hidden])
    for (const layer of [0, 1]) {
      const p = `model.layers.${layer}.`
      expect(shape(`${p}self_attn.q_proj.weight`)).toEqual([heads * headDim, hidden])
      expect(shape(`${p}self_attn.k_proj.weight`)).toEqual([kvHeads * headDim, hidden])
      expect(shape(`${p}self_attn.v_proj.weight`)).toEqual([kvHeads * headDim, hidden])
      expect(shape(`${p}self_attn.o_proj.weight`)).toEqual([hidden, heads * headDim])
      expect(shape(`${p}mlp.gate_proj.weight`)).toEqual([config.intermediate_size, hidden])
      expect(shape(`${p}mlp.down_proj.weight`)).toEqual([hidden, config.intermediate_size])
      const qkvBias = family === 'qwen2' || config.attention_bias === true
      expect(shape(`${p}self_attn.q_proj.bias`)).toEqual(qkvBias ? [heads * headDim] : undefined)
      expect(shape(`${p}self_attn.k_proj.bias`)).toEqual(qkvBias ? [kvHeads * headDim] : undefined)
      expect(shape(`${p}self_attn.o_proj.bias`)).toEqual(family !== 'qwen2' && config.attention_bias ? [hidden] : undefined)
      expect(shape(`${p}mlp.up_proj.bias`)).toEqual(
        family === 'llama' && config.mlp_bias ? [config.intermediate_size] : undefined,
      )
      expect(shape(`${p}self_attn.q_norm.weight`)).toEqual(family === 'qwen3' ? [headDim] : undefined)
      expect(shape(`${p}self_attn.k_norm.weight`)).toEqual(family === 'qwen3' ? [headDim] : undefined)
      const norm = toFloat32(tensors[`${p}input_layernorm.weight`]!)
      const mean = norm.reduce((a, b) => a + b, 0) / norm.length
      expect(mean).toBeGreaterThan(0.9)
      expect(mean).toBeLessThan(1.1)
    }

    if (variant === 'f16-sharded-llama3') {
      const index = readJson(join(dir, 'model.safetensors.index.json')) as { weight_map: Record<string, string> }
      expect(Object.keys(index.weight_map).sort()).toEqual(Object.keys(tensors).sort())
      for (const [tensorName, file] of Object.entries(index.weight_map)) expect(fileOf[tensorName], tensorName).toBe(file)
      expect(new Set(Object.values(index.weight_map)).size).toBe(2)
      expect(config.rope_scaling).toMatchObject({ rope_type: 'llama3', factor: 8, original_max_position_embeddings: 64 })
    } else {
      expect(existsSync(join(dir, 'model.safetensors.index.json'))).toBe(false)
    }
    if (variant === 'linear-rope') expect(config.rope_scaling).toEqual({ type: 'linear', factor: 2 })
    if (variant === 'f32' || variant === 'bf16-qknorm') expect(config.rope_scaling).toBeNull()

    const generation = readJson(join(dir, 'generation_config.json'))
    const eos = generation.eos_token_id as number[]
    expect(eos).toHaveLength(2)
    for (const id of eos) expect(id).toBeLessThan(vocab)

    // Loaded with the library itself: Qwen's tokenizer_config.json has `bos_token: null`, as the published ones do.
    const tokenizerConfig = readJson(join(dir, 'tokenizer_config.json'))
    const tokenizer = new Tokenizer(readJson(join(dir, 'tokenizer.json')), tokenizerConfig)
    const text = 'the cat and 12 + 30 = 42, ça va?'
    const ids = tokenizer.encode(text, { add_special_tokens: false }).ids
    expect(ids.length).toBeGreaterThan(5)
    for (const id of ids) expect(id).toBeLessThan(vocab)
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(text)
    const eosToken = tokenizerConfig.eos_token as string
    expect(tokenizer.encode(`hi${eosToken}`, { add_special_tokens: false }).ids.at(-1)).toBe(eos[0])
  })
})

describe.skipIf(skip !== undefined)('the Hugging Face reference numbers', () => {
  // Every fixture's numbers from one Python process (its torch import takes about 2 s), on first use.
  let numbers: ReturnType<typeof referenceBatchLogprobs> | undefined
  const numbersOf = (dir: string): { batched: number[][]; alone: number[][] } => {
    numbers ??= referenceBatchLogprobs(
      fixtures().map((f) => f.dir),
      LINES,
    )
    return numbers[fixtures().findIndex((f) => f.dir === dir)]!
  }

  it.each(REFERENCE_FIXTURES.map((f) => ({ ...f, label: name(f) })))(
    '$label: logprobs are finite, non-trivial and unchanged by left padding',
    ({ family, variant }) => {
      const { dir } = fixture(family, variant)
      const { alone: single, batched } = numbersOf(dir)
      // The lines alone are what `logprobs` gives too.
      if (family === 'qwen3' && variant === 'f32') expect(referenceLogprobs(dir, LINES)).toEqual(single)
      expect(single.map((l) => l.length)).toEqual(LINES.map((l) => l.response_ids.length))
      const all = single.flat()
      for (const value of all) {
        expect(Number.isFinite(value)).toBe(true)
        expect(value).toBeLessThanOrEqual(0)
      }
      // Random weights must give a peaked, token-dependent distribution, not uniform (-ln 300 everywhere).
      expect(Math.max(...all) - Math.min(...all)).toBeGreaterThan(0.5)
      batched.forEach((line, i) => line.forEach((value, j) => expect(Math.abs(value - single[i]![j]!)).toBeLessThan(1e-10)))
    },
  )

  it('scores each response token given everything before it', () => {
    const { dir } = fixture('qwen3', 'bf16-qknorm')
    const [whole, first, second] = referenceLogprobs(dir, [
      { prompt_ids: [5, 6, 7], response_ids: [8, 9] },
      { prompt_ids: [5, 6, 7], response_ids: [8] },
      { prompt_ids: [5, 6, 7, 8], response_ids: [9] },
    ])
    expect(whole![0]).toBeCloseTo(first![0]!, 12)
    expect(whole![1]).toBeCloseTo(second![0]!, 12)
  })

  it('reads rope_scaling and the config (changing it changes the numbers)', () => {
    const { dir } = fixture('llama', 'linear-rope')
    const copy = join(scratch, 'no-scaling')
    cpSync(dir, copy, { recursive: true })
    const config = readJson(join(copy, 'config.json'))
    writeFileSync(join(copy, 'config.json'), JSON.stringify({ ...config, rope_scaling: null }))
    const line = [{ prompt_ids: [1, 2, 3, 4, 5, 6], response_ids: [7, 8] }]
    const scaled = referenceLogprobs(dir, line)[0]!
    const plain = referenceLogprobs(copy, line)[0]!
    expect(Math.abs(scaled[1]! - plain[1]!)).toBeGreaterThan(1e-6)
  })

  it('greedy decoding stops right after an id from generation_config eos_token_id', () => {
    const { dir } = fixture('qwen2', 'f32')
    const copy = join(scratch, 'greedy')
    cpSync(dir, copy, { recursive: true })
    const generation = readJson(join(copy, 'generation_config.json'))
    writeFileSync(join(copy, 'generation_config.json'), JSON.stringify({ ...generation, eos_token_id: [298, 299] }))
    const prompt = [40, 41, 42]
    const free = referenceGreedy(copy, prompt, 8)
    expect(free).toHaveLength(8)
    // The greedy id is the most likely one.
    const [chosen, other] = referenceLogprobs(copy, [
      { prompt_ids: prompt, response_ids: [free[0]!] },
      { prompt_ids: prompt, response_ids: [(free[0]! + 1) % 300] },
    ])
    expect(chosen![0]).toBeGreaterThan(other![0]!)
    // Make the first id that did not appear before it an end of sequence (second in the list): output stops there.
    const stop = free.findIndex((id, i) => i > 0 && !free.slice(0, i).includes(id))
    expect(stop).toBeGreaterThan(0)
    writeFileSync(join(copy, 'generation_config.json'), JSON.stringify({ ...generation, eos_token_id: [298, free[stop]] }))
    expect(referenceGreedy(copy, prompt, 8)).toEqual(free.slice(0, stop + 1))
  })

  it('refuses an unknown model_type or rope type with a clear message', () => {
    const { dir } = fixture('llama', 'f16-sharded-llama3')
    const copy = join(scratch, 'unknown')
    cpSync(dir, copy, { recursive: true })
    const config = readJson(join(copy, 'config.json'))
    const line = [{ prompt_ids: [1], response_ids: [2] }]
    writeFileSync(join(copy, 'config.json'), JSON.stringify({ ...config, model_type: 'gpt2' }))
    expect(() => referenceLogprobs(copy, line)).toThrow(/unknown model_type 'gpt2'/)
    writeFileSync(join(copy, 'config.json'), JSON.stringify({ ...config, rope_scaling: { rope_type: 'yarn', factor: 4 } }))
    expect(() => referenceLogprobs(copy, line)).toThrow(/unsupported rope_scaling type 'yarn'/)
  })
})
