// Accuracy of a model on labelled questions: pass@1 with greedy decoding and, with K samples at a
// temperature, avg@K (mean single-sample accuracy), pass@K (any sample right) and maj@K (the majority
// answer right), all judged by the reference's answer extraction and GT equivalence.
import { extractAnswer } from './answers/extract'
import type { Extractor } from './answers/extract'
import { groundTruthReward, isEquivalent } from './answers/equivalence'
import { majorityVote } from './answers/vote'
import type { Decoder } from './model/families/decoder'
import type { Transformer } from './model/transformer'
import { generate, tfjsLogits } from './sampling'
import type { LogitsSource } from './sampling'
import type { ChatMessage, Tokenizer } from './tokenizer/tokenizer'

export interface LabelledQuestion {
  question: string
  answer: string
}

export interface EvaluationOptions {
  systemPrompt: string
  maxNewTokens: number
  samples: number
  temperature: number
  seed: number
  extractor?: Extractor
  /** Prompts per generation batch. */
  batchSize?: number
  /** Further ids that end a completion as the tokenizer's EOS does (a Hugging Face model's generation_config list). */
  stopTokenIds?: number[]
  /** The id that fills padded positions; default the tokenizer's. */
  padTokenId?: number
  onProgress?: (done: number, total: number) => void
}

export interface Evaluation {
  questions: number
  pass1: number
  /** Present when samples > 0. */
  avgK?: number
  passK?: number
  majK?: number
  /** Per question: the greedy answer and whether it was right. */
  greedy: { answer: string; correct: boolean; text: string }[]
}

/** Makes a fresh logits source per generation batch (e.g. an onnxruntime session's). */
export type LogitsSourceFactory = () => LogitsSource

const sourceOf = (model: Transformer | Decoder | LogitsSourceFactory): LogitsSource =>
  typeof model === 'function' ? model() : tfjsLogits(model)

export function promptFor(tokenizer: Tokenizer, systemPrompt: string, question: string): number[] {
  const messages: ChatMessage[] = [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: question },
  ]
  return tokenizer.chatPrompt(messages)
}

export async function evaluate(
  model: Transformer | Decoder | LogitsSourceFactory,
  tokenizer: Tokenizer,
  questions: LabelledQuestion[],
  options: EvaluationOptions,
): Promise<Evaluation> {
  const batchSize = options.batchSize ?? 64
  const prompts = questions.map((q) => promptFor(tokenizer, options.systemPrompt, q.question))
  const base = {
    maxNewTokens: options.maxNewTokens,
    eosTokenId: tokenizer.eosTokenId,
    stopTokenIds: options.stopTokenIds,
    padTokenId: options.padTokenId ?? tokenizer.padTokenId,
    topP: 1,
  }
  const judge = (text: string, answer: string): { answer: string; correct: boolean } => {
    const extracted = extractAnswer(text, options.extractor)
    return { answer: extracted ?? '', correct: groundTruthReward(extracted, answer) === 1 }
  }
  const greedy: Evaluation['greedy'] = []
  const total = questions.length * (options.samples > 0 ? 2 : 1)
  for (let start = 0; start < prompts.length; start += batchSize) {
    const completions = await generate(sourceOf(model), prompts.slice(start, start + batchSize), {
      ...base,
      temperature: 0,
      samples: 1,
      seed: options.seed,
    })
    for (const completion of completions) {
      const text = tokenizer.decode(completion.tokens)
      greedy.push({ ...judge(text, questions[start + completion.prompt]!.answer), text })
    }
    options.onProgress?.(Math.min(start + batchSize, prompts.length), total)
  }
  const result: Evaluation = { questions: questions.length, pass1: mean(greedy.map((g) => (g.correct ? 1 : 0))), greedy }
  if (options.samples <= 0) return result
  const perPrompt = Math.max(1, Math.floor(batchSize / options.samples))
  const avg: number[] = []
  const pass: number[] = []
  const maj: number[] = []
  for (let start = 0; start < prompts.length; start += perPrompt) {
    const completions = await generate(sourceOf(model), prompts.slice(start, start + perPrompt), {
      ...base,
      temperature: options.temperature,
      samples: options.samples,
      seed: options.seed + start,
    })
    for (let p = 0; p < Math.min(perPrompt, prompts.length - start); p++) {
      const truth = questions[start + p]!.answer
      const judged = completions.filter((c) => c.prompt === p).map((c) => judge(tokenizer.decode(c.tokens), truth))
      avg.push(mean(judged.map((j) => (j.correct ? 1 : 0))))
      pass.push(judged.some((j) => j.correct) ? 1 : 0)
      const label = majorityVote(judged.map((j) => j.answer)).label
      maj.push(label !== '' && isEquivalent(label, truth) ? 1 : 0)
    }
    options.onProgress?.(questions.length + Math.min(start + perPrompt, prompts.length), total)
  }
  return { ...result, avgK: mean(avg), passK: mean(pass), majK: mean(maj) }
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length
}
