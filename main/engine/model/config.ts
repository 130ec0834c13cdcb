// The demo model's architecture, stored as config.json in Hugging Face layout with its own model_type.
import { z } from 'zod'
import { plainErrors } from '../../plain-errors'

export const MODEL_TYPE = 'cwb-gpt'
export const SUPPORTED_MODEL_TYPES = [MODEL_TYPE] as const

export const ModelConfig = z
  .object({
    model_type: z.literal(MODEL_TYPE),
    vocab_size: z.number().int().min(2).max(1_000_000),
    hidden_size: z.number().int().min(8).max(16384),
    num_hidden_layers: z.number().int().min(1).max(256),
    num_attention_heads: z.number().int().min(1).max(256),
    intermediate_size: z.number().int().min(8).max(65536),
    max_position_embeddings: z
      .number()
      .int()
      .min(8)
      .max(1 << 20),
    position_embedding_type: z.enum(['learned', 'rotary']),
    layer_norm_epsilon: z.number().positive().max(0.1).default(1e-5),
    initializer_range: z.number().positive().max(1).default(0.02),
    rope_theta: z.number().positive().default(10000),
    tie_word_embeddings: z.literal(true).default(true),
    bos_token_id: z.number().int().min(0),
    eos_token_id: z.number().int().min(0),
    pad_token_id: z.number().int().min(0),
  })
  .refine((c) => c.hidden_size % c.num_attention_heads === 0, {
    message: 'hidden_size must be divisible by num_attention_heads',
    path: ['num_attention_heads'],
  })
  .refine((c) => c.position_embedding_type !== 'rotary' || (c.hidden_size / c.num_attention_heads) % 2 === 0, {
    message: 'rotary positions need an even head size',
    path: ['position_embedding_type'],
  })
  .refine((c) => [c.bos_token_id, c.eos_token_id, c.pad_token_id].every((id) => id < c.vocab_size), {
    message: 'special token ids must be below vocab_size',
    path: ['vocab_size'],
  })

export type ModelConfig = z.output<typeof ModelConfig>

/** Parses a config.json object, naming the file and the first bad field. */
export function parseModelConfig(raw: unknown, source: string): ModelConfig {
  const type = (raw as { model_type?: unknown } | null)?.model_type
  if (type !== MODEL_TYPE) {
    throw new Error(
      `${source}: model_type ${JSON.stringify(type)} is not supported by this engine; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`,
    )
  }
  const parsed = ModelConfig.safeParse(raw, { error: plainErrors })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`${source}: ${issue?.path.join('.') || '(config)'}: ${issue?.message}`)
  }
  return parsed.data
}

/** Every weight of the model and its shape, in a stable order (this is also the safetensors layout). */
export function weightShapes(config: ModelConfig): Record<string, number[]> {
  const d = config.hidden_size
  const shapes: Record<string, number[]> = { 'embed_tokens.weight': [config.vocab_size, d] }
  if (config.position_embedding_type === 'learned') shapes['embed_positions.weight'] = [config.max_position_embeddings, d]
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `layers.${i}.`
    Object.assign(shapes, {
      [`${p}ln_1.weight`]: [d],
      [`${p}ln_1.bias`]: [d],
      [`${p}attn.qkv.weight`]: [d, 3 * d],
      [`${p}attn.qkv.bias`]: [3 * d],
      [`${p}attn.out.weight`]: [d, d],
      [`${p}attn.out.bias`]: [d],
      [`${p}ln_2.weight`]: [d],
      [`${p}ln_2.bias`]: [d],
      [`${p}mlp.up.weight`]: [d, config.intermediate_size],
      [`${p}mlp.up.bias`]: [config.intermediate_size],
      [`${p}mlp.down.weight`]: [config.intermediate_size, d],
      [`${p}mlp.down.bias`]: [d],
    })
  }
  shapes['ln_f.weight'] = [d]
  shapes['ln_f.bias'] = [d]
  return shapes
}

/** The number of values in a set of weight shapes. */
export function shapesSize(shapes: Record<string, readonly number[]>): number {
  return Object.values(shapes).reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0)
}

export function parameterCount(config: ModelConfig): number {
  return shapesSize(weightShapes(config))
}
