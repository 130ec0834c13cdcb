// Any model the engine can run forward, whatever its family: the workbench's own cwb-gpt checkpoints (trainable,
// exportable to ONNX) and Hugging Face qwen2 / qwen3 / llama folders (inference on tfjs). The tokenizer is optional
// for the latter: logprobs and generation from token ids need none.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { readJson } from '../checkpoint/folder'
import { openWeightFiles } from '../checkpoint/hf-weights'
import { loadTokenizerFolder } from '../tokenizer/tokenizer'
import type { Tokenizer } from '../tokenizer/tokenizer'
import { MODEL_TYPE } from './config'
import { Decoder } from './families/decoder'
import { parseDecoderConfig } from './families/index'
import { loadModel } from './load'
import type { Transformer } from './transformer'

export interface CausalLM {
  dir: string
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

/** Loads the model in `folder`, choosing the family by config.json's model_type; the folder is only read. */
export function loadCausalLM(folder: string): CausalLM {
  const dir = resolve(folder)
  const configFile = join(dir, 'config.json')
  if (!existsSync(dir)) throw new Error(`Model folder ${dir} does not exist; check the path.`)
  if (!existsSync(configFile)) throw new Error(`${configFile} is missing: a model folder holds config.json and its weights.`)
  const raw = readJson(configFile)
  if (raw.model_type === MODEL_TYPE) {
    const model = loadModel(dir)
    return {
      dir,
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
