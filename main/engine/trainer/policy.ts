// The model a run trains, whatever its family, behind one interface: the workbench's own cwb-gpt (every weight
// trains), or a Hugging Face qwen2 / qwen3 / llama decoder trained fully or through LoRA adapters over a frozen base.
// The trainer asks it for the trainable model, copies of it (KL reference, EMA teacher), ONNX feeds for the log-prob
// passes, and to save and reopen checkpoints in the family's own layout:
//   cwb-gpt   config.json, model.safetensors, tokenizer files (as before)
//   full      a Hugging Face folder: its config.json (torch_dtype float32), generation_config.json and tokenizer files
//             copied, model.safetensors in float32 with the usual names
//   LoRA      PEFT's adapter folder: adapter_config.json and adapter_model.safetensors, and trainer_state.json's `base`
//             (the base folder and its fingerprint)
// plus trainer_state.json, optimizer.safetensors (AdamW moments of the trainable weights only) and, for
// Co-rewarding-II, teacher.safetensors (the EMA teacher's trainable weights, in the checkpoint's layout).
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  adapterBase,
  adapterConfigJson,
  baseFingerprint,
  isAdapterFolder,
  readAdapterConfig,
} from '../checkpoint/adapter'
import {
  CONFIG_FILE,
  readJson,
  TRAINER_STATE_FILE,
  WEIGHTS_METADATA,
  writeFolderAtomically,
  writeJson,
} from '../checkpoint/folder'
import type { JsonObject, Tensors } from '../checkpoint/folder'
import { writeFloat32Companions } from '../checkpoint/hf-export'
import { openWeightFiles } from '../checkpoint/hf-weights'
import { hubIdOf } from '../checkpoint/hub-cache'
import { readSafetensors, toFloat32, writeSafetensors } from '../checkpoint/safetensors'
import { loadCausalLM, readAdapter } from '../model/causal-lm'
import type { CausalLM } from '../model/causal-lm'
import { weightShapes } from '../model/config'
import { Decoder } from '../model/families/decoder'
import { loadModel, asTensors, saveModel } from '../model/load'
import type { LanguageModel } from '../model/load'
import { LoraAdapters, loraLayers } from '../model/lora'
import type { LoraSettings } from '../model/lora'
import type { KvCache, Transformer } from '../model/transformer'
import { OnnxDecoder } from '../onnx/decoder-session'
import type { OnnxKvSession } from '../onnx/decoder-session'
import { decoderWeightFeeds } from '../onnx/decoder-export'
import { exportOnnx, onnxWeightFeeds } from '../onnx/export'
import type { WeightFeed } from '../onnx/export'
import { OnnxGpt } from '../onnx/gpt-session'
import { OnnxModel } from '../onnx/session'
import { OnnxTrainingGraph } from '../onnx/train-graph'
import type { TrainingObjective } from '../onnx/train-graph'
import type { OnnxLogitsModel } from '../onnx/token-stats'
import type { Tokenizer } from '../tokenizer/tokenizer'

/** What training needs of a model: its trainable weights, a differentiable forward pass, KV-cached sampling, copies. */
export interface TrainableModel {
  /** The weights the optimizer updates, by name (the names of the optimizer state and the EMA). */
  readonly weights: Map<string, tf.Variable>
  /** Logits [B, T, V]; `dropoutSeed` switches training-time dropout on (LoRA's), seeded. */
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D, dropoutSeed?: number): tf.Tensor3D
  prefill(ids: tf.Tensor2D, mask: tf.Tensor2D): { logits: tf.Tensor2D; cache: KvCache }
  decode(tokens: tf.Tensor1D, cache: KvCache): { logits: tf.Tensor2D; cache: KvCache }
  /** A copy with its own trainable weights (frozen parts shared). */
  clone(trainable?: boolean): TrainableModel
  toArrays(): Record<string, Float32Array>
  trainableVariables(): tf.Variable[]
  dispose(): void
}

export type NamedArrays = Record<string, { shape: number[]; data: Float32Array }>

export interface Policy {
  /** The checkpoint folder it was opened from. */
  readonly dir: string
  readonly modelType: string
  readonly vocabSize: number
  readonly tokenizer: Tokenizer
  /** Ids besides the tokenizer's EOS that end a completion (generation_config.json's list). */
  readonly stopTokenIds: number[]
  readonly model: TrainableModel
  /** The checkpoint's trainer_state.json, when it has one. */
  readonly trainerState: JsonObject | undefined
  /** LoRA's settings, when the run trains adapters. */
  readonly lora: LoraSettings | undefined
  /** An extra tensor file of the checkpoint (optimizer.safetensors, teacher.safetensors); undefined when absent. */
  extra(file: string): NamedArrays | undefined
  /** Sets `model`'s trainable weights from arrays in checkpoint layout (a teacher file, an initial checkpoint's). */
  assign(model: TrainableModel, arrays: Record<string, Float32Array>, source: string): void
  /** The trainable weights the run started from (`folder`, its initial checkpoint), in checkpoint layout. */
  initialArrays(folder: string): Record<string, Float32Array>
  /** A session for log-prob passes that takes the weights with every pass. */
  onnxSession(): Promise<OnnxLogitsModel & { release(): Promise<void> }>
  /** A KV-cached session for rollouts that takes the weights with every pass (onnxFeeds). */
  rolloutSession(): Promise<OnnxKvSession>
  /** The update's forward and backward pass on onnxruntime, where the family has a training graph (cwb-gpt). */
  trainingGraph?(objective: TrainingObjective): Promise<OnnxTrainingGraph>
  /** `model`'s current weights as the session's inputs. */
  onnxFeeds(model: TrainableModel): Record<string, WeightFeed>
  /** Writes a checkpoint of `model` (and `teacher`) with the trainer's state and optimizer moments, atomically. */
  save(
    dir: string,
    parts: { model: TrainableModel; teacher?: TrainableModel; trainerState: JsonObject; optimizer: Tensors },
  ): void
  dispose(): void
}

export const OPTIMIZER_FILE = 'optimizer.safetensors'
export const TEACHER_FILE = 'teacher.safetensors'

export interface OpenOptions {
  /** LoRA adapters to train; undefined = full fine-tuning. */
  lora?: LoraSettings
  /** Seeds fresh adapters. */
  seed: number
  /** Extra tensor files the checkpoint must have (resuming). */
  require?: string[]
}

/** Opens the checkpoint in `folder` for training, as its family trains. */
export function openPolicy(folder: string, options: OpenOptions): Policy {
  const dir = resolve(folder)
  const adapter = isAdapterFolder(dir)
  if (!adapter && existsSync(join(dir, CONFIG_FILE)) && readJson(join(dir, CONFIG_FILE)).model_type === 'cwb-gpt') {
    if (options.lora)
      throw new Error(
        `${dir} is a cwb-gpt checkpoint: LoRA trains the Hugging Face families (qwen2, qwen3, llama); set "lora" to null to train every weight`,
      )
    return cwbGptPolicy(loadModel(dir, { extraTensors: options.require }))
  }
  for (const file of options.require ?? [])
    if (!existsSync(join(dir, file)))
      throw new Error(`${join(dir, file)} is missing: ${dir} is not a complete checkpoint of a run`)
  return decoderPolicy(dir, adapter, options)
}

function arraysOf(tensors: Tensors | undefined): NamedArrays | undefined {
  if (!tensors) return undefined
  const out: NamedArrays = {}
  for (const [name, tensor] of Object.entries(tensors)) out[name] = { shape: tensor.shape, data: toFloat32(tensor) }
  return out
}

function cwbGptPolicy(lm: LanguageModel): Policy {
  const config = lm.config
  return {
    dir: lm.dir,
    modelType: config.model_type,
    vocabSize: config.vocab_size,
    tokenizer: lm.tokenizer,
    stopTokenIds: [],
    model: lm.transformer,
    trainerState: lm.trainerState,
    lora: undefined,
    extra: (file) => arraysOf(lm.extraTensors[file]),
    assign(model, arrays, source) {
      for (const [name, variable] of model.weights) {
        const values = arrays[name]
        if (!values) throw new Error(`${source} has no tensor ${name}`)
        tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)))
      }
    },
    initialArrays(folder) {
      const initial = loadModel(folder)
      try {
        return initial.transformer.toArrays()
      } finally {
        initial.transformer.dispose()
      }
    },
    onnxSession: async () =>
      OnnxModel.create(exportOnnx(config, lm.transformer.toArrays(), { weightsAsInputs: true }), config.vocab_size),
    onnxFeeds: (model) => onnxWeightFeeds(config, model.toArrays()),
    rolloutSession: () => OnnxGpt.create(config),
    trainingGraph: (objective) => OnnxTrainingGraph.create(config, objective),
    save(dir, { model, teacher, trainerState, optimizer }) {
      const extraTensors: Record<string, Tensors> = { [OPTIMIZER_FILE]: optimizer }
      if (teacher) extraTensors[TEACHER_FILE] = asTensors(teacher.toArrays(), weightShapes(config))
      const transformer = model as Transformer
      saveModel(dir, { config, transformer, tokenizerFiles: lm.tokenizerFiles }, { trainerState, extraTensors })
    },
    dispose: () => lm.transformer.dispose(),
  }
}

function sameSettings(a: LoraSettings, b: LoraSettings): boolean {
  return a.rank === b.rank && a.alpha === b.alpha && [...a.targetModules].sort().join() === [...b.targetModules].sort().join()
}

function decoderPolicy(dir: string, adapter: boolean, options: OpenOptions): Policy {
  const lora = options.lora
  let lm: CausalLM
  if (adapter) {
    const { settings } = readAdapterConfig(dir)
    if (!lora || !sameSettings(lora, settings)) {
      const described = `{"rank": ${settings.rank}, "alpha": ${settings.alpha}, "target_modules": ${JSON.stringify(settings.targetModules)}}`
      throw new Error(
        `${dir} is a LoRA adapter (${described}): to train it further set "lora" to those settings; to train every weight, ` +
          'export it merged first (cwb export-model CKPT --format hf --out DIR) and start from that folder',
      )
    }
    lm = loadCausalLM(adapterBase(dir))
  } else lm = loadCausalLM(dir)
  const decoder = lm.model
  if (!(decoder instanceof Decoder)) throw new Error(`${dir}: model_type ${lm.modelType} is not a decoder family`)
  if (!lm.tokenizer) {
    lm.dispose()
    throw new Error(
      `${lm.baseDir}: ${lm.tokenizerProblem ?? 'no tokenizer'}; training needs the model's tokenizer and chat template`,
    )
  }
  const layers = lora && loraLayers(lora, decoder.config.layers, (name) => decoder.baseShape(name))
  try {
    if (adapter) decoder.attach(readAdapter(dir, lora!, decoder, true))
    else if (lora) decoder.attach(LoraAdapters.initialise(lora, layers!, options.seed))
    else decoder.trainFull()
  } catch (error) {
    lm.dispose()
    throw error
  }
  const baseDir = lm.baseDir
  const fingerprint = lora ? baseFingerprint(baseDir) : undefined
  const trainerStateFile = join(dir, TRAINER_STATE_FILE)
  const trainerState = existsSync(trainerStateFile) ? readJson(trainerStateFile) : undefined
  /** Feeds of the weights no adapter touches, computed once (the base is frozen under LoRA). */
  const frozenFeeds = new Map<string, WeightFeed>()
  const config = decoder.config
  const asDecoder = (model: TrainableModel): Decoder => model as Decoder
  const checkpointTensors = (model: TrainableModel): Tensors => {
    const { arrays, shapes } = asDecoder(model).checkpointArrays()
    return asTensors(arrays, shapes)
  }
  return {
    dir,
    modelType: lm.modelType,
    vocabSize: lm.vocabSize,
    tokenizer: lm.tokenizer,
    stopTokenIds: lm.eosTokenIds,
    model: decoder,
    trainerState,
    lora,
    extra(file) {
      const path = join(dir, file)
      return existsSync(path) ? arraysOf(readSafetensors(path).tensors) : undefined
    },
    assign: (model, arrays, source) => asDecoder(model).assignCheckpointArrays(arrays, source),
    initialArrays(folder) {
      const initial = resolve(folder)
      if (lora) {
        if (isAdapterFolder(initial)) {
          const { tensors } = readSafetensors(join(initial, ADAPTER_WEIGHTS_FILE))
          return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, toFloat32(t)]))
        }
        // Fresh adapters are a function of the seed: the same ones again (B is zero, so they add nothing).
        const fresh = LoraAdapters.initialise(lora, layers!, options.seed, false)
        try {
          return fresh.toArrays()
        } finally {
          fresh.dispose()
        }
      }
      const files = openWeightFiles(initial)
      return Object.fromEntries([...decoder.weights.keys()].map((name) => [name, files.read(name)]))
    },
    onnxSession: () => OnnxDecoder.create(config, undefined),
    rolloutSession: () => OnnxDecoder.create(config, undefined),
    onnxFeeds(model) {
      const d = asDecoder(model)
      const adapted = (name: string): boolean => d.adapters?.has(name.replace(/\.weight$/, '')) ?? true
      const read = (name: string, transposed: boolean): Float32Array => {
        if (!lora || adapted(name)) return d.mergedWeight(name, transposed)
        const key = `${name}${transposed ? '.T' : ''}`
        if (!frozenFeeds.has(key)) frozenFeeds.set(key, { dims: [], data: d.mergedWeight(name, transposed) })
        return frozenFeeds.get(key)!.data
      }
      return decoderWeightFeeds(
        config,
        (name) => read(name, false),
        (name) => read(name, true),
      )
    },
    save(target, { model, teacher, trainerState, optimizer }) {
      writeFolderAtomically(
        target,
        (temporary) => {
          if (lora) {
            writeJson(join(temporary, ADAPTER_CONFIG_FILE), adapterConfigJson(lora, hubIdOf(baseDir) ?? baseDir))
            writeSafetensors(join(temporary, ADAPTER_WEIGHTS_FILE), checkpointTensors(model), WEIGHTS_METADATA)
            writeJson(join(temporary, TRAINER_STATE_FILE), { ...trainerState, base: { path: baseDir, fingerprint } })
          } else {
            writeFloat32Companions(baseDir, temporary)
            writeSafetensors(join(temporary, 'model.safetensors'), checkpointTensors(model), WEIGHTS_METADATA)
            writeJson(join(temporary, TRAINER_STATE_FILE), trainerState)
          }
          writeSafetensors(join(temporary, OPTIMIZER_FILE), optimizer)
          if (teacher) writeSafetensors(join(temporary, TEACHER_FILE), checkpointTensors(teacher), WEIGHTS_METADATA)
        },
        [CONFIG_FILE, ADAPTER_CONFIG_FILE],
      )
    },
    dispose: () => lm.dispose(),
  }
}
