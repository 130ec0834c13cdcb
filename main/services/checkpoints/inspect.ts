// Inspecting a checkpoint folder as the engine would load it, from its headers only: before a run trains from it,
// before its weights are read, and for the checkpoint detail.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { CheckpointWeights } from '../../../preload/contract'
import { CONFIG_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE } from '../../engine/checkpoint/folder'
import { TEACHER_FILE } from '../../engine/checkpoint/hf-export'
import { ADAPTER_WEIGHTS_FILE, adapterBase, isAdapterFolder, readAdapterConfig } from '../../engine/checkpoint/adapter'
import { openWeightFiles } from '../../engine/checkpoint/hf-weights'
import { readSafetensorsHeader } from '../../engine/checkpoint/safetensors'
import { decoderWeightShapes } from '../../engine/model/families/decoder-config'
import { ALL_MODEL_TYPES, HF_FAMILIES, parseDecoderConfig } from '../../engine/model/families/index'
import type { LoraSettings } from '../../engine/model/lora'
import { parseModelConfig, SUPPORTED_MODEL_TYPES, weightShapes } from '../../engine/model/config'
import { ApiError } from '../dispatch'
import type { ResolvedCheckpoint } from './ref'

const readJsonObject = (file: string): Record<string, unknown> => {
  let value: unknown
  try {
    value = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ApiError('invalid_request', `${file} cannot be read as JSON: ${(error as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('invalid_request', `${file} holds ${JSON.stringify(value)?.slice(0, 40)}, not a JSON object.`)
  }
  return value as Record<string, unknown>
}

/** Every model_type the engine loads: cwb-gpt and the Hugging Face families. */
const supportedText = (): string => ALL_MODEL_TYPES.map((type) => `"${type}"`).join(', ')

/**
 * Checks a folder as the engine would load it, from the headers only (no weights are read): Hugging Face layout,
 * a supported model_type, a valid config, weights of the config's shapes, a tokenizer that fits the config.
 * Returns config.json, the model_type and the parameter count.
 */
export async function inspectFolder(dir: string, options: { base?: string } = {}): Promise<InspectedFolder> {
  if (!existsSync(dir)) throw new ApiError('not_found', `No folder ${dir}; check the path.`)
  if (!statSync(dir).isDirectory()) throw new ApiError('invalid_request', `${dir} is a file; open a checkpoint folder.`)
  if (isAdapterFolder(dir)) return inspectAdapter(dir, options.base)
  if (existsSync(join(dir, CONFIG_FILE))) {
    const raw = readJsonObject(join(dir, CONFIG_FILE))
    if (HF_FAMILIES.some((family) => family.modelType === raw.model_type)) return inspectDecoderFolder(dir, raw)
  }
  for (const file of [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE]) {
    if (!existsSync(join(dir, file))) {
      throw new ApiError(
        'invalid_request',
        `${dir} has no ${file}: a checkpoint folder in Hugging Face layout holds ${CONFIG_FILE}, ${WEIGHTS_FILE} and ${TOKENIZER_FILE}.`,
      )
    }
  }
  const raw = readJsonObject(join(dir, CONFIG_FILE))
  const modelType = raw.model_type
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ApiError(
      'invalid_request',
      typeof modelType === 'string'
        ? `${join(dir, CONFIG_FILE)} has model_type "${modelType}", which this engine does not support; supported: ${supportedText()}. Pick a checkpoint of a supported architecture.`
        : `${join(dir, CONFIG_FILE)} has no "model_type" naming the architecture; supported: ${supportedText()}.`,
    )
  }
  let config
  try {
    config = parseModelConfig(raw, join(dir, CONFIG_FILE))
  } catch (error) {
    throw new ApiError('invalid_request', (error as Error).message)
  }
  let header
  try {
    header = readSafetensorsHeader(join(dir, WEIGHTS_FILE))
  } catch (error) {
    throw new ApiError('invalid_request', (error as Error).message)
  }
  const expected = weightShapes(config)
  const shape = (dims: readonly number[]): string => `[${dims.join(', ')}]`
  const problems = [
    ...Object.keys(expected)
      .filter((name) => !header.tensors[name])
      .map((name) => `${name} is missing`),
    ...Object.keys(header.tensors)
      .filter((name) => !expected[name])
      .map((name) => `${name} is not part of the model`),
    ...Object.entries(expected)
      .filter(([name, dims]) => header.tensors[name] && shape(header.tensors[name].shape) !== shape(dims))
      .map(([name, dims]) => `${name} is ${shape(header.tensors[name]!.shape)}, the config needs ${shape(dims)}`),
  ]
  if (problems.length > 0) {
    throw new ApiError(
      'invalid_request',
      `${join(dir, WEIGHTS_FILE)} does not match ${CONFIG_FILE}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}.`,
    )
  }
  const { loadTokenizer } = await import('../../engine/tokenizer/tokenizer')
  const tokenizerConfig = existsSync(join(dir, TOKENIZER_CONFIG_FILE)) ? readJsonObject(join(dir, TOKENIZER_CONFIG_FILE)) : {}
  let tokenizer
  try {
    tokenizer = loadTokenizer(readJsonObject(join(dir, TOKENIZER_FILE)), tokenizerConfig, dir)
  } catch (error) {
    throw new ApiError('invalid_request', `${join(dir, TOKENIZER_FILE)}: ${(error as Error).message}`)
  }
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new ApiError(
      'invalid_request',
      `${join(dir, TOKENIZER_FILE)} has ${tokenizer.vocabSize} tokens but ${CONFIG_FILE}'s vocab_size is ${config.vocab_size}: they belong to different models.`,
    )
  }
  const parameters = Object.values(header.tensors).reduce((sum, info) => sum + info.shape.reduce((n, d) => n * d, 1), 0)
  return { config: raw, modelType, parameters }
}

export interface InspectedFolder {
  config: Record<string, unknown>
  modelType: string
  /** The model's parameters (the base's, for an adapter). */
  parameters: number
  /** A LoRA adapter folder: its settings, its base folder and its own parameters. */
  adapter?: { settings: LoraSettings; base: string; parameters: number }
}

/** A Hugging Face qwen2 / qwen3 / llama folder, from config.json and the weight files' headers. */
function inspectDecoderFolder(dir: string, raw: Record<string, unknown>): InspectedFolder {
  try {
    const config = parseDecoderConfig(raw, join(dir, CONFIG_FILE))
    const files = openWeightFiles(dir)
    const expected = decoderWeightShapes(config)
    const shape = (dims: readonly number[]): string => `[${dims.join(', ')}]`
    const problems = Object.entries(expected).flatMap(([name, dims]) => {
      const found = files.shapes.get(name)
      if (!found) return [`${name} is missing`]
      return shape(found.shape) === shape(dims) ? [] : [`${name} is ${shape(found.shape)}, the config needs ${shape(dims)}`]
    })
    if (problems.length > 0)
      throw new Error(
        `the weights of ${dir} do not match ${CONFIG_FILE}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}.`,
      )
    const parameters = Object.values(expected).reduce((sum, dims) => sum + dims.reduce((n, d) => n * d, 1), 0)
    return { config: raw, modelType: config.modelType, parameters }
  } catch (error) {
    throw error instanceof ApiError ? error : new ApiError('invalid_request', (error as Error).message)
  }
}

/** A LoRA adapter folder: its settings checked, its base found (and its fingerprint matched) and inspected. */
async function inspectAdapter(dir: string, base: string | undefined): Promise<InspectedFolder> {
  let settings: LoraSettings
  let baseDir: string
  try {
    settings = readAdapterConfig(dir).settings
    baseDir = adapterBase(dir, base)
  } catch (error) {
    throw new ApiError('invalid_request', (error as Error).message)
  }
  const inspected = await inspectFolder(baseDir)
  let parameters: number
  try {
    const header = readSafetensorsHeader(join(dir, ADAPTER_WEIGHTS_FILE))
    parameters = Object.values(header.tensors).reduce((sum, info) => sum + info.shape.reduce((n, d) => n * d, 1), 0)
  } catch (error) {
    throw new ApiError('invalid_request', (error as Error).message)
  }
  return { ...inspected, adapter: { settings, base: baseDir, parameters } }
}

/** The weights file of a checkpoint folder: the model's, or the EMA teacher's. */
export function weightsFile(resolved: ResolvedCheckpoint, weights: CheckpointWeights): string {
  const file = join(resolved.path, weights === 'teacher' ? TEACHER_FILE : WEIGHTS_FILE)
  if (!existsSync(file)) {
    throw new ApiError(
      weights === 'teacher' ? 'conflict' : 'invalid_request',
      weights === 'teacher'
        ? `${resolved.label} has no EMA teacher (${TEACHER_FILE}): only Co-rewarding-II checkpoints keep one.`
        : `${file} is missing: a checkpoint folder holds ${CONFIG_FILE}, ${WEIGHTS_FILE} and ${TOKENIZER_FILE}.`,
    )
  }
  return file
}
