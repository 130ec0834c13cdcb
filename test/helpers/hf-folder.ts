// Hugging Face tokenizers and tiny model folders written by hand, for tests that need no Python:
//
//   byteLevelBpe(['<|im_end|>'], { bosPostProcessor: '<|begin_of_text|>' })  // tokenizer.json object + ids by token
//   writeTinyHfFolder(dir, 'qwen2')   // config.json, model.safetensors (random F32), generation_config.json,
//                                     // tokenizer.json, tokenizer_config.json (ChatML, bos null) for qwen2/qwen3;
//                                     // Llama-3 special tokens and template (it writes <|begin_of_text|>) for llama
//   writeRandomWeights(dir, config, { seed: 3, scale: 0.2, normJitter: 0.1 })  // config.json + random F32 model.safetensors
//   { model_type: 'qwen3', ...TINY_DECODER_CONFIG }  // the sizes of the unit tests' tiny decoders (no model_type)
//   TINY_QWEN3_PLAN_CONFIG   // a tiny qwen3 config.json (6,320 parameters) for memory plans
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeSafetensors } from '../../main/engine/checkpoint/safetensors'
import { decoderWeightShapes } from '../../main/engine/model/families/decoder-config'
import { parseDecoderConfig } from '../../main/engine/model/families/index'
import { Random } from '../../main/random'

/** GPT-2's byte-to-character table: every byte gets a printable character (space is "Ġ", newline "Ċ"). */
export function bytesToUnicode(): Map<number, string> {
  const bytes: number[] = []
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b)
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b)
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b)
  const chars = [...bytes]
  let n = 0
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b)
      chars.push(256 + n++)
    }
  }
  return new Map(bytes.map((b, i) => [b, String.fromCodePoint(chars[i]!)]))
}

export const MERGES: [string, string][] = [
  ['Ġ', 't'],
  ['h', 'e'],
  ['Ġt', 'he'],
  ['i', 'n'],
  ['a', 'n'],
  ['e', 'r'],
  ['Ġ', 's'],
  ['s', 't'],
  ['e', 'p'],
  ['Ġ', 'b'],
  ['Ġb', 'y'],
  ['Ġs', 't'],
  ['Ġst', 'ep'],
]

/**
 * A byte-level BPE tokenizer.json: byte b has id b, then one id per merge, then `specials` (special added tokens).
 * With `bosPostProcessor`, a TemplateProcessing post-processor adds that token in front, as Llama 3's does.
 */
export function byteLevelBpe(
  specials: string[],
  options: { bosPostProcessor?: string } = {},
): { json: Record<string, unknown>; ids: Record<string, number> } {
  const vocab: Record<string, number> = {}
  for (const [b, ch] of [...bytesToUnicode()].sort((x, y) => x[0] - y[0])) vocab[ch] = b
  for (const [a, b] of MERGES) vocab[a + b] = Object.keys(vocab).length
  const ids: Record<string, number> = {}
  const added = specials.map((content) => {
    ids[content] = Object.keys(vocab).length + Object.keys(ids).length
    return { id: ids[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }
  })
  const bos = options.bosPostProcessor
  const postProcessor =
    bos === undefined
      ? null
      : {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: bos, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: bos, type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [bos]: { id: bos, ids: [ids[bos]], tokens: [bos] } },
        }
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
  return {
    json: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: postProcessor,
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: MERGES.map(([a, b]) => `${a} ${b}`),
      },
    },
    ids,
  }
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

export const LLAMA3_TEMPLATE =
  "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"

export type TinyFamily = 'qwen2' | 'qwen3' | 'llama'

/** Writes a tiny random-init Hugging Face folder of `family` (F32, 1 layer) with its byte-level BPE tokenizer. */
export function writeTinyHfFolder(dir: string, family: TinyFamily, seed = 1): { ids: Record<string, number> } {
  const llama = family === 'llama'
  const specials = llama
    ? ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>']
    : ['<|endoftext|>', '<|im_start|>', '<|im_end|>']
  const { json, ids } = byteLevelBpe(specials, llama ? { bosPostProcessor: '<|begin_of_text|>' } : {})
  const eos = llama ? ids['<|eot_id|>']! : ids['<|im_end|>']!
  const config = {
    model_type: family,
    vocab_size: 300,
    hidden_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 48,
    max_position_embeddings: 256,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    bos_token_id: llama ? ids['<|begin_of_text|>'] : ids['<|endoftext|>'],
    eos_token_id: eos,
  }
  writeRandomWeights(dir, config, { seed, scale: 0.3 })
  const write = (name: string, value: unknown): void => writeFileSync(join(dir, name), JSON.stringify(value, null, 2))
  const stop = llama ? [eos, ids['<|end_of_text|>']] : [eos, ids['<|endoftext|>']]
  write('generation_config.json', { eos_token_id: stop, do_sample: false })
  write('tokenizer.json', json)
  write(
    'tokenizer_config.json',
    llama
      ? { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', chat_template: LLAMA3_TEMPLATE }
      : { bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', chat_template: CHATML_TEMPLATE },
  )
  return { ids }
}

/** config.json sizes for tiny decoders (2 layers, 4 heads, 2 KV heads, vocab 40); add model_type and the rest. */
export const TINY_DECODER_CONFIG: Readonly<Record<string, unknown>> = {
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  eos_token_id: 2,
}

/**
 * A tiny qwen3 config.json for memory plans: hidden 16, 2 heads, 1 KV head, head_dim 8, intermediate 32, 2 layers,
 * vocab 50, untied (6,320 parameters). q_proj 16→16, k_proj 16→8, v_proj 16→8, o_proj 16→16, gate/up 16→32, down 32→16.
 */
export const TINY_QWEN3_PLAN_CONFIG: Readonly<Record<string, unknown>> = {
  model_type: 'qwen3',
  vocab_size: 50,
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 8,
}

/**
 * Writes `config` as dir/config.json and random F32 weights for it (every tensor of decoderWeightShapes) as
 * dir/model.safetensors: scale * N(0, 1) each, drawn from Random(seed) in decoderWeightShapes order; the norm weights are
 * 1 + normJitter * N(0, 1), or exactly 1 without normJitter (drawing nothing).
 */
export function writeRandomWeights(
  dir: string,
  config: Record<string, unknown>,
  options: { seed: number; scale: number; normJitter?: number },
): void {
  const { seed, scale, normJitter } = options
  const shapes = decoderWeightShapes(parseDecoderConfig(config, join(dir, 'config.json')))
  const random = new Random(seed)
  const weights = Object.fromEntries(
    Object.entries(shapes).map(([name, shape]) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1))
      const norm = name.endsWith('norm.weight')
      for (let i = 0; i < data.length; i++) {
        if (!norm) data[i] = scale * random.normal()
        else data[i] = normJitter === undefined ? 1 : 1 + normJitter * random.normal()
      }
      return [name, { dtype: 'F32' as const, shape, data }]
    }),
  )
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2))
  writeSafetensors(join(dir, 'model.safetensors'), weights)
}
