// Any model the engine can run forward, whatever its family: the workbench's own cwb-gpt checkpoints, Hugging Face
// qwen2 / qwen3 / llama folders, and LoRA adapter folders in PEFT's layout over such a base (the adapter applied).
// The tokenizer is optional for the Hugging Face families: logprobs and generation from token ids need none.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ADAPTER_WEIGHTS_FILE, adapterBase, isAdapterFolder, readAdapterConfig } from '../checkpoint/adapter'
import { readJson } from '../checkpoint/folder'
import { openWeightFiles } from '../checkpoint/hf-weights'
import { readSafetensors, toFloat32 } from '../checkpoint/safetensors'
import { loadTokenizerFolder } from '../tokenizer/tokenizer'
import type { Tokenizer } from '../tokenizer/tokenizer'
import { MODEL_TYPE } from './config'
import { Decoder } from './families/decoder'
import { parseDecoderConfig } from './families/index'
import { loadModel } from './load'
import { LoraAdapters, loraLayers } from './lora'
import type { LoraSettings } from './lora'
import type { Transformer } from './transformer'

export interface CausalLM {
  /** The folder named (an adapter's folder for a LoRA checkpoint). */
  dir: string
  /** The folder the model's config, weights and tokenizer come from (the base, for an adapter). */
  baseDir: string
  /** A LoRA adapter applied over the base. */
  adapter?: { dir: string; settings: LoraSettings }
  modelType: string
  vocabSize: number
  maxPositions: number
  /** Generation stops at any of these (generation_config.json's eos_token_id, else config.json's). */
  eosTokenIds: number[]
  padTokenId: number
  /** Present when the folder has a tokenizer this engine can load; `tokenizerProblem` says why not otherwise. */
  tokenizer?: Tokenizer
  tokenizerProblem?: string
  /** The tfjs model: forward (every position's logits), prefill and decode with a KV cache. */
  model: Transformer | Decoder
  /** cwb-gpt only: the trainable model (what ONNX export takes). */
  transformer?: Transformer
  dispose(): void
}

const asIds = (value: unknown): number[] =>
  (Array.isArray(value) ? value : [value]).filter((id): id is number => Number.isSafeInteger(id) && (id as number) >= 0)

/** The adapter of a PEFT folder as tensors over `decoder`'s base. */
export function readAdapter(dir: string, settings: LoraSettings, decoder: Decoder, trainable = false): LoraAdapters {
  const file = join(dir, ADAPTER_WEIGHTS_FILE)
  if (!existsSync(file))
    throw new Error(`${file} is missing: an adapter folder holds adapter_config.json and ${ADAPTER_WEIGHTS_FILE}`)
  const { tensors } = readSafetensors(file)
  const arrays: Record<string, Float32Array> = {}
  // PEFT may save without the adapter name or with it (".default"); either way the names end in lora_A/B.weight.
  for (const [name, tensor] of Object.entries(tensors)) arrays[name.replace('.default.weight', '.weight')] = toFloat32(tensor)
  const layers = loraLayers(settings, decoder.config.layers, (weight) => decoder.baseShape(weight))
  return LoraAdapters.fromArrays(settings, layers, arrays, trainable, file)
}

/**
 * Loads the model in `folder`, choosing the family by config.json's model_type; a LoRA adapter folder loads its base
 * (`base`, else its base_model_name_or_path) with the adapter applied. Folders are only read.
 */
export function loadCausalLM(folder: string, options: { base?: string } = {}): CausalLM {
  const dir = resolve(folder)
  if (!existsSync(dir)) throw new Error(`Model folder ${dir} does not exist; check the path.`)
  if (isAdapterFolder(dir)) {
    const { settings } = readAdapterConfig(dir)
    const lm = loadCausalLM(adapterBase(dir, options.base))
    if (!(lm.model instanceof Decoder)) {
      lm.dispose()
      throw new Error(`${dir}: LoRA adapters apply to the Hugging Face families only, not to ${lm.modelType}`)
    }
    try {
      lm.model.attach(readAdapter(dir, settings, lm.model))
    } catch (error) {
      lm.dispose()
      throw error
    }
    return { ...lm, dir, adapter: { dir, settings } }
  }
  const configFile = join(dir, 'config.json')
  if (!existsSync(configFile)) throw new Error(`${configFile} is missing: a model folder holds config.json and its weights.`)
  const raw = readJson(configFile)
  if (raw.model_type === MODEL_TYPE) {
    const model = loadModel(dir)
    return {
      dir,
      baseDir: dir,
      modelType: MODEL_TYPE,
      vocabSize: model.config.vocab_size,
      maxPositions: model.config.max_position_embeddings,
      eosTokenIds: [model.tokenizer.eosTokenId],
      padTokenId: model.tokenizer.padTokenId,
      tokenizer: model.tokenizer,
      model: model.transformer,
      transformer: model.transformer,
      dispose: () => model.transformer.dispose(),
    }
  }
  // parseDecoderConfig refuses any other model_type, naming those supported.
  const config = parseDecoderConfig(raw, configFile)
  const decoder = Decoder.load(config, openWeightFiles(dir), dir)
  const generationFile = join(dir, 'generation_config.json')
  const generation = existsSync(generationFile) ? readJson(generationFile) : {}
  const eosTokenIds = generation.eos_token_id !== undefined ? asIds(generation.eos_token_id) : config.eosTokenIds
  let tokenizer: Tokenizer | undefined
  let tokenizerProblem: string | undefined
  if (!existsSync(join(dir, 'tokenizer.json'))) tokenizerProblem = `${dir} has no tokenizer.json`
  else {
    try {
      tokenizer = loadTokenizerFolder(dir, { eosTokenId: eosTokenIds[0] })
    } catch (error) {
      tokenizerProblem = (error as Error).message
    }
  }
  return {
    dir,
    baseDir: dir,
    modelType: config.modelType,
    vocabSize: config.vocabSize,
    maxPositions: config.maxPositions,
    eosTokenIds,
    padTokenId: config.padTokenId ?? eosTokenIds[0] ?? 0,
    tokenizer,
    tokenizerProblem,
    model: decoder,
    dispose: () => decoder.dispose(),
  }
}
