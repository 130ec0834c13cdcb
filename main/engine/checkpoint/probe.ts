// Running one checkpoint on a probe set for the behaviour diff: per question a greedy completion and G samples at a
// temperature with fixed seeds (the same seeds for every checkpoint, so two checkpoints face the same draws), each
// with its extracted answer, its length, and the mean entropy of the model's next-token distribution over it.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { PROBE_ENGINES } from '../../../preload/contract'
import { extractAnswer } from '../answers/extract'
import { promptFor } from '../evaluate'
import { loadCausalLM } from '../model/causal-lm'
import { MODEL_TYPE } from '../model/config'
import { Decoder } from '../model/families/decoder'
import { loadModel } from '../model/load'
import type { LanguageModel } from '../model/load'
import { Transformer } from '../model/transformer'
import { OnnxDecoder } from '../onnx/decoder-session'
import { onnxLogits } from '../onnx/generate'
import { OnnxModel } from '../onnx/session'
import { SYSTEM_PROMPT, systemPromptFor } from '../prompt'
import { generate, tfjsLogits } from '../sampling'
import type { Completion, LogitsSource } from '../sampling'
import type { Tokenizer } from '../tokenizer/tokenizer'
import type { ProbeAnswers, ProbeCompletion, ProbeQuestion } from './diff'
import { readJson } from './folder'
import { TEACHER_FILE } from './hf-export'
import { readSafetensors, toFloat32 } from './safetensors'

export type ProbeEngine = (typeof PROBE_ENGINES)[number]

export interface ProbeOptions {
  samples: number
  temperature: number
  seed: number
  maxNewTokens: number
  engine: ProbeEngine
  /** Questions per generation batch (greedy); sampling batches hold about as many rows. */
  batchSize?: number
  signal?: AbortSignal
  /** Called after each batch with the completions done so far and the total (greedy and samples). */
  onProgress?: (done: number, total: number) => void
}

/** A model to probe: weights, tokenizer and context, e.g. a checkpoint's policy or its EMA teacher, of any family. */
export interface ProbedModel {
  model: Transformer | Decoder
  tokenizer: Tokenizer
  contextTokens: number
  /** Names the model in errors (its folder). */
  label: string
  /** The system message of its prompts: cwb-gpt's own, the reference's math instruction for the Hugging Face families. */
  systemPrompt: string
  /** Besides the tokenizer's EOS, ids that end a completion (generation_config.json's list). */
  stopTokenIds: number[]
  padTokenId: number
  dispose(): void
}

/** A cwb-gpt model (as loaded by loadModel) to probe, with `transformer` in place of its own (e.g. its EMA teacher's). */
export const probedModel = (model: LanguageModel, transformer: Transformer = model.transformer): ProbedModel => ({
  model: transformer,
  tokenizer: model.tokenizer,
  contextTokens: model.config.max_position_embeddings,
  label: model.dir,
  systemPrompt: SYSTEM_PROMPT,
  stopTokenIds: [],
  padTokenId: model.tokenizer.padTokenId,
  dispose: () => transformer.dispose(),
})

/**
 * Loads the model of a checkpoint folder to probe it, whatever its family: a cwb-gpt checkpoint, a Hugging Face
 * qwen2 / qwen3 / llama folder, or a LoRA adapter folder over its base. `teacher` loads the EMA teacher instead
 * (teacher.safetensors: every weight of a full model, the adapters of a LoRA checkpoint).
 */
export function openProbedModel(dir: string, options: { teacher?: boolean } = {}): ProbedModel {
  const teacherFile = join(dir, TEACHER_FILE)
  const raw = existsSync(join(dir, 'config.json')) ? readJson(join(dir, 'config.json')) : undefined
  if (raw?.model_type === MODEL_TYPE) {
    if (!options.teacher) return probedModel(loadModel(dir))
    const student = loadModel(dir, { extraTensors: [TEACHER_FILE] })
    const arrays = Object.fromEntries(
      Object.entries(student.extraTensors[TEACHER_FILE]!).map(([name, t]) => [name, toFloat32(t)]),
    )
    student.transformer.dispose()
    return probedModel(student, Transformer.fromArrays(student.config, arrays))
  }
  const lm = loadCausalLM(dir)
  try {
    if (!lm.tokenizer)
      throw new Error(
        `${lm.baseDir}: probing asks questions in words, and this model's tokenizer cannot be used (${lm.tokenizerProblem})`,
      )
    const decoder = lm.model
    if (!(decoder instanceof Decoder)) throw new Error(`${dir}: model_type "${lm.modelType}" is not a decoder family`)
    if (options.teacher) {
      const { tensors } = readSafetensors(teacherFile)
      const arrays = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, toFloat32(t)]))
      if (!lm.adapter) decoder.trainFull()
      decoder.assignCheckpointArrays(arrays, teacherFile)
    }
    const eos = [...new Set([...lm.eosTokenIds, lm.tokenizer.eosTokenId])].filter((id) => id !== lm.tokenizer!.eosTokenId)
    return {
      model: decoder,
      tokenizer: lm.tokenizer,
      contextTokens: lm.maxPositions,
      label: lm.dir,
      systemPrompt: systemPromptFor(lm.modelType),
      stopTokenIds: eos,
      padTokenId: lm.padTokenId,
      dispose: () => lm.dispose(),
    }
  } catch (error) {
    lm.dispose()
    throw error
  }
}

/** The entropy (nats) of softmax(logits[offset .. offset + vocab]). */
export function rowEntropy(logits: Float32Array, offset: number, vocab: number): number {
  let max = -Infinity
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[offset + v]!)
  let partition = 0
  let weighted = 0
  for (let v = 0; v < vocab; v++) {
    const e = Math.exp(logits[offset + v]! - max)
    partition += e
    weighted += e * (logits[offset + v]! - max)
  }
  return Math.log(partition) - weighted / partition
}

/** Wraps a logits source to keep, per call, each row's next-token entropy: what each generated token was drawn from. */
function recordingEntropy(source: LogitsSource): { source: LogitsSource; perCall: Float64Array[] } {
  const perCall: Float64Array[] = []
  const record = (logits: Float32Array): Float32Array => {
    const vocab = source.vocabSize
    const rows = logits.length / vocab
    const entropies = new Float64Array(rows)
    for (let r = 0; r < rows; r++) entropies[r] = rowEntropy(logits, r * vocab, vocab)
    perCall.push(entropies)
    return logits
  }
  return {
    perCall,
    source: {
      vocabSize: source.vocabSize,
      prefill: async (rows, pad) => record(await source.prefill(rows, pad)),
      step: async (tokens) => record(await source.step(tokens)),
      dispose: () => source.dispose(),
    },
  }
}

/** The model's logits source on the chosen engine; `release` frees an ONNX session. */
async function engineFor(
  model: ProbedModel,
  engine: ProbeEngine,
): Promise<{ source: () => LogitsSource; release: () => Promise<void> }> {
  if (engine === 'tfjs') return { source: () => tfjsLogits(model.model), release: async () => {} }
  const { model: weights } = model
  if (weights instanceof Decoder) {
    // The Hugging Face families: the KV-cached graph, its weights read from the tfjs copy (adapters merged in).
    const session = await OnnxDecoder.create(weights.config, (name) => weights.mergedWeight(name))
    return { source: () => session.sampler(), release: () => session.release() }
  }
  const session = await OnnxModel.ofTransformer(weights)
  return { source: () => onnxLogits(session), release: () => session.release() }
}

const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Answers, lengths and entropies of one model on the questions: greedy, then `samples` draws per question. */
export async function probeModel(
  model: ProbedModel,
  questions: readonly ProbeQuestion[],
  options: ProbeOptions,
): Promise<ProbeAnswers[]> {
  const { tokenizer } = model
  const prompts = questions.map((q) => promptFor(tokenizer, model.systemPrompt, q.question))
  const longest = Math.max(0, ...prompts.map((p) => p.length))
  const budget = Math.min(options.maxNewTokens, model.contextTokens - longest)
  if (budget < 1) {
    throw new Error(
      `A probe question of ${longest} tokens leaves no room in the model's context of ${model.contextTokens} tokens (${model.label}/config.json max_position_embeddings); probe fewer or shorter questions.`,
    )
  }
  const batchSize = options.batchSize ?? 16
  const base = {
    topP: 1,
    maxNewTokens: budget,
    eosTokenId: tokenizer.eosTokenId,
    stopTokenIds: model.stopTokenIds,
    padTokenId: model.padTokenId,
  }
  const total = questions.length * (1 + options.samples)
  let done = 0
  const engine = await engineFor(model, options.engine)
  const run = async (batch: number[][], temperature: number, samples: number, seed: number): Promise<ProbeCompletion[][]> => {
    options.signal?.throwIfAborted()
    const recorded = recordingEntropy(engine.source())
    const completions = await generate(recorded.source, batch, { ...base, temperature, samples, seed })
    const perPrompt: ProbeCompletion[][] = batch.map(() => [])
    completions.forEach((completion, row) => perPrompt[completion.prompt]!.push(describe(completion, row, recorded.perCall)))
    done += completions.length
    options.onProgress?.(done, total)
    await yieldToEvents()
    return perPrompt
  }
  const describe = (completion: Completion, row: number, perCall: Float64Array[]): ProbeCompletion => {
    const text = tokenizer.decode(completion.tokens)
    // Each generated token (and the end token, when reached) was drawn from one call's logits.
    const positions = completion.tokens.length + (completion.finished ? 1 : 0)
    let entropy = 0
    for (let call = 0; call < positions; call++) entropy += perCall[call]![row]!
    return {
      text,
      answer: extractAnswer(text) ?? '',
      tokens: completion.tokens.length,
      entropy: positions === 0 ? 0 : entropy / positions,
    }
  }
  try {
    const answers: ProbeAnswers[] = []
    for (let start = 0; start < prompts.length; start += batchSize) {
      const greedy = await run(prompts.slice(start, start + batchSize), 0, 1, options.seed)
      for (const [i, completions] of greedy.entries()) answers[start + i] = { greedy: completions[0]!, samples: [] }
    }
    if (options.samples > 0) {
      const perBatch = Math.max(1, Math.floor(batchSize / options.samples))
      for (let start = 0; start < prompts.length; start += perBatch) {
        // As eval seeds its samples: the seed plus the first question's index, the same for every checkpoint.
        const sampled = await run(
          prompts.slice(start, start + perBatch),
          options.temperature,
          options.samples,
          options.seed + start,
        )
        for (const [i, completions] of sampled.entries()) answers[start + i]!.samples = completions
      }
    }
    return answers
  } finally {
    await engine.release()
  }
}
