// A language model as the engine uses it: weights on the chosen backend plus its tokenizer, read from
// (and written to) a checkpoint folder in Hugging Face layout.
import { readCheckpoint, writeCheckpoint } from '../checkpoint/folder'
import type { JsonObject, Tensors } from '../checkpoint/folder'
import { toFloat32 } from '../checkpoint/safetensors'
import { loadTokenizer } from '../tokenizer/tokenizer'
import type { Tokenizer } from '../tokenizer/tokenizer'
import { parseModelConfig, SUPPORTED_MODEL_TYPES, weightShapes } from './config'
import type { ModelConfig } from './config'
import { Transformer } from './transformer'

export interface LanguageModel {
  dir: string
  config: ModelConfig
  transformer: Transformer
  tokenizer: Tokenizer
  tokenizerFiles: { tokenizer: JsonObject; tokenizerConfig: JsonObject }
  trainerState?: JsonObject
  extraTensors: Record<string, Tensors>
}

/** Reads a checkpoint folder; every inconsistency is an error naming the file and the problem. */
export function loadModel(dir: string, options: { extraTensors?: string[] } = {}): LanguageModel {
  const checkpoint = readCheckpoint(dir, {
    supportedModelTypes: [...SUPPORTED_MODEL_TYPES],
    expectedWeights: (raw) => weightShapes(parseModelConfig(raw, `${dir}/config.json`)),
    extraTensors: options.extraTensors,
  })
  const config = parseModelConfig(checkpoint.config, `${checkpoint.dir}/config.json`)
  const tokenizerConfig = checkpoint.tokenizerConfig ?? {}
  const tokenizer = loadTokenizer(checkpoint.tokenizer, tokenizerConfig, checkpoint.dir)
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new Error(
      `${checkpoint.dir}/tokenizer.json: the tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocab_size}: they belong to different models`,
    )
  }
  if (tokenizer.eosTokenId !== config.eos_token_id) {
    throw new Error(
      `${checkpoint.dir}/tokenizer_config.json: eos_token has id ${tokenizer.eosTokenId} but config.json says eos_token_id ${config.eos_token_id}`,
    )
  }
  const arrays: Record<string, Float32Array> = {}
  for (const [name, tensor] of Object.entries(checkpoint.weights)) arrays[name] = toFloat32(tensor)
  return {
    dir: checkpoint.dir,
    config,
    transformer: Transformer.fromArrays(config, arrays),
    tokenizer,
    tokenizerFiles: { tokenizer: checkpoint.tokenizer, tokenizerConfig },
    trainerState: checkpoint.trainerState,
    extraTensors: checkpoint.extraTensors,
  }
}

export function asTensors(arrays: Record<string, Float32Array>, shapes: Record<string, number[]>): Tensors {
  const tensors: Tensors = {}
  for (const [name, data] of Object.entries(arrays)) tensors[name] = { dtype: 'F32', shape: shapes[name]!, data }
  return tensors
}

/** Writes the model (and optional trainer state and extra tensor files) as one checkpoint folder, atomically. */
export function saveModel(
  dir: string,
  model: {
    config: ModelConfig
    transformer: Transformer
    tokenizerFiles: { tokenizer: JsonObject; tokenizerConfig: JsonObject }
  },
  extras: { trainerState?: JsonObject; extraTensors?: Record<string, Tensors> } = {},
): void {
  writeCheckpoint(dir, {
    config: model.config as unknown as JsonObject & { model_type: string },
    weights: asTensors(model.transformer.toArrays(), weightShapes(model.config)),
    tokenizer: model.tokenizerFiles.tokenizer,
    tokenizerConfig: model.tokenizerFiles.tokenizerConfig,
    trainerState: extras.trainerState,
    extraTensors: extras.extraTensors,
  })
}
