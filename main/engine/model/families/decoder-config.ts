// What the shared decoder needs to know about a Hugging Face decoder-only family (Llama, Qwen2, Qwen3): sizes,
// norms, rotary settings and which optional parts (biases, q/k norms) the family has. Each family module maps its
// config.json onto this; anything the engine cannot do exactly is refused, naming the field and what is supported.
import type { RopeScaling } from './rope'

export interface DecoderConfig {
  modelType: string
  vocabSize: number
  hiddenSize: number
  intermediateSize: number
  layers: number
  heads: number
  kvHeads: number
  headDim: number
  rmsNormEps: number
  ropeTheta: number
  ropeScaling?: RopeScaling
  maxPositions: number
  tieWordEmbeddings: boolean
  /** Biases on the q, k and v projections. */
  qkvBias: boolean
  /** A bias on the attention output projection. */
  outputBias: boolean
  /** Biases on gate, up and down projections. */
  mlpBias: boolean
  /** Per-head RMSNorm of queries and keys before rotation (Qwen3). */
  qkNorm: boolean
  /** config.json's eos_token_id and pad_token_id, as lists (either may be absent). */
  eosTokenIds: number[]
  padTokenId?: number
}

type Raw = Record<string, unknown>

/** Reads typed fields of a config.json, each failure naming the file, the field and what was expected. */
export class ConfigReader {
  constructor(
    readonly raw: Raw,
    readonly source: string,
  ) {}

  fail(field: string, problem: string): never {
    throw new Error(`${this.source}: ${field}: ${problem}`)
  }

  int(field: string, fallback?: number, min = 1): number {
    const value = this.raw[field] ?? fallback
    if (value === undefined) this.fail(field, 'missing; expected a whole number')
    if (!Number.isSafeInteger(value) || (value as number) < min)
      this.fail(field, `${JSON.stringify(value)} is not a whole number of at least ${min}`)
    return value as number
  }

  number(field: string, fallback?: number): number {
    const value = this.raw[field] ?? fallback
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      this.fail(field, `${JSON.stringify(value)} is not a positive number`)
    return value
  }

  bool(field: string, fallback: boolean): boolean {
    const value = this.raw[field] ?? fallback
    if (typeof value !== 'boolean') this.fail(field, `${JSON.stringify(value)} is not true or false`)
    return value
  }

  /** An id or a list of ids (eos_token_id may be either); absent or null gives []. */
  ids(field: string): number[] {
    const value = this.raw[field]
    if (value === undefined || value === null) return []
    const list = Array.isArray(value) ? value : [value]
    if (!list.every((id) => Number.isSafeInteger(id) && id >= 0))
      this.fail(field, `${JSON.stringify(value)} is not a token id or a list of them`)
    return list as number[]
  }
}

const SUPPORTED_ROPE = 'supported: none (null), "default", "linear", "llama3"'

/** `rope_scaling`, read from `rope_type` or the older `type`; null or absent means none. */
export function readRopeScaling(config: ConfigReader): RopeScaling | undefined {
  const value = config.raw.rope_scaling
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value))
    config.fail('rope_scaling', `${JSON.stringify(value)} is not an object or null`)
  const scaling = new ConfigReader(value as Raw, `${config.source}: rope_scaling`)
  const type = scaling.raw.rope_type ?? scaling.raw.type
  if (type === 'default') return undefined
  if (type === 'linear') return { type, factor: scaling.number('factor') }
  if (type === 'llama3') {
    return {
      type,
      factor: scaling.number('factor'),
      lowFreqFactor: scaling.number('low_freq_factor'),
      highFreqFactor: scaling.number('high_freq_factor'),
      originalMaxPositionEmbeddings: scaling.number('original_max_position_embeddings'),
    }
  }
  return config.fail('rope_scaling', `rope type ${JSON.stringify(type)} is not supported by this engine; ${SUPPORTED_ROPE}`)
}

/** The fields Llama, Qwen2 and Qwen3 share; `defaults` carries each family's own defaults and fixed parts. */
/** What sets a family apart from the others on the shared decoder. */
export type FamilyTraits = Pick<DecoderConfig, 'qkvBias' | 'outputBias' | 'mlpBias' | 'qkNorm'>

/** The decoder settings of a config.json for a family with `traits`; the defaults are the three families' own (1e-6, 10000). */
export function readDecoderConfig(config: ConfigReader, traits: FamilyTraits): DecoderConfig {
  const act = config.raw.hidden_act ?? 'silu'
  if (act !== 'silu') config.fail('hidden_act', `${JSON.stringify(act)} is not supported; this engine runs "silu" (SwiGLU) MLPs`)
  if (config.raw.use_sliding_window === true) {
    config.fail(
      'use_sliding_window',
      'sliding-window attention is not supported by this engine; set it to false (full attention)',
    )
  }
  const prf = config.raw.partial_rotary_factor
  if (prf !== undefined && prf !== null && prf !== 1)
    config.fail('partial_rotary_factor', `${JSON.stringify(prf)} is not supported; only 1`)
  const hiddenSize = config.int('hidden_size')
  const heads = config.int('num_attention_heads')
  const kvHeads = config.int('num_key_value_heads', heads)
  if (heads % kvHeads !== 0) config.fail('num_key_value_heads', `${kvHeads} does not divide num_attention_heads ${heads}`)
  const headDim = config.raw.head_dim === null ? undefined : (config.raw.head_dim as number | undefined)
  if (headDim === undefined && hiddenSize % heads !== 0)
    config.fail('head_dim', `missing, and hidden_size ${hiddenSize} is not divisible by num_attention_heads ${heads}`)
  const decoder: DecoderConfig = {
    modelType: config.raw.model_type as string,
    vocabSize: config.int('vocab_size'),
    hiddenSize,
    intermediateSize: config.int('intermediate_size'),
    layers: config.int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim: headDim === undefined ? hiddenSize / heads : config.int('head_dim'),
    rmsNormEps: config.number('rms_norm_eps', 1e-6),
    ropeTheta: config.number('rope_theta', 10000),
    ropeScaling: readRopeScaling(config),
    maxPositions: config.int('max_position_embeddings', 2048),
    tieWordEmbeddings: config.bool('tie_word_embeddings', false),
    ...traits,
    eosTokenIds: config.ids('eos_token_id'),
    padTokenId: config.ids('pad_token_id')[0],
  }
  if (decoder.headDim % 2 !== 0) config.fail('head_dim', `${decoder.headDim} is odd; rotary positions need an even head size`)
  return decoder
}

/** Every weight the decoder reads, by its Hugging Face name, with its shape in the file ([out, in] for projections). */
export function decoderWeightShapes(c: DecoderConfig): Record<string, number[]> {
  const d = c.hiddenSize
  const q = c.heads * c.headDim
  const kv = c.kvHeads * c.headDim
  const shapes: Record<string, number[]> = { 'model.embed_tokens.weight': [c.vocabSize, d] }
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}.`
    shapes[`${p}input_layernorm.weight`] = [d]
    shapes[`${p}self_attn.q_proj.weight`] = [q, d]
    shapes[`${p}self_attn.k_proj.weight`] = [kv, d]
    shapes[`${p}self_attn.v_proj.weight`] = [kv, d]
    shapes[`${p}self_attn.o_proj.weight`] = [d, q]
    if (c.qkvBias) {
      shapes[`${p}self_attn.q_proj.bias`] = [q]
      shapes[`${p}self_attn.k_proj.bias`] = [kv]
      shapes[`${p}self_attn.v_proj.bias`] = [kv]
    }
    if (c.outputBias) shapes[`${p}self_attn.o_proj.bias`] = [d]
    if (c.qkNorm) {
      shapes[`${p}self_attn.q_norm.weight`] = [c.headDim]
      shapes[`${p}self_attn.k_norm.weight`] = [c.headDim]
    }
    shapes[`${p}post_attention_layernorm.weight`] = [d]
    shapes[`${p}mlp.gate_proj.weight`] = [c.intermediateSize, d]
    shapes[`${p}mlp.up_proj.weight`] = [c.intermediateSize, d]
    shapes[`${p}mlp.down_proj.weight`] = [d, c.intermediateSize]
    if (c.mlpBias) {
      shapes[`${p}mlp.gate_proj.bias`] = [c.intermediateSize]
      shapes[`${p}mlp.up_proj.bias`] = [c.intermediateSize]
      shapes[`${p}mlp.down_proj.bias`] = [d]
    }
  }
  shapes['model.norm.weight'] = [d]
  if (!c.tieWordEmbeddings) shapes['lm_head.weight'] = [c.vocabSize, d]
  return shapes
}
