// Sampling G completions per prompt with a KV cache: temperature, top-p, a token budget, stop at EOS.
// Token choice happens in JavaScript with a seeded generator per row, so a seed gives the same
// completions on a given backend.
import * as tf from '@tensorflow/tfjs'
import { disposeCache } from './model/transformer'
import type { KvCache, Transformer } from './model/transformer'
import type { Decoder } from './model/families/decoder'
import { Random } from '../random'

export interface SamplingOptions {
  /** 0 means greedy. */
  temperature: number
  topP: number
  maxNewTokens: number
  /** Completions per prompt (G). */
  samples: number
  seed: number
  eosTokenId: number
  /** Further token ids that end a completion as EOS does (e.g. a generation_config.json list). */
  stopTokenIds?: number[]
  padTokenId: number
}

export interface Completion {
  prompt: number
  sample: number
  tokens: number[]
  /** True when the completion ended with EOS (false: it hit maxNewTokens). */
  finished: boolean
  /** The id that ended it, when `finished` (not included in `tokens`). */
  stopToken?: number
}

/** Left-pads token lists to one length: ids and mask (1 = real) as [B, T] int32 tensors. */
/** Token rows left-padded together, as flat arrays: ids and mask [B, T] (1 = real token). */
export function leftPadIds(rows: readonly number[][], padTokenId = 0): { ids: Int32Array; mask: Int32Array; length: number } {
  const length = Math.max(1, ...rows.map((row) => row.length))
  const ids = new Int32Array(rows.length * length).fill(padTokenId)
  const mask = new Int32Array(rows.length * length)
  rows.forEach((row, r) => {
    const offset = r * length + (length - row.length)
    ids.set(row, offset)
    mask.fill(1, offset, offset + row.length)
  })
  return { ids, mask, length }
}

/** Each row's last position of flat logits [B, T, V], as [B, V]. */
export function lastPositions(logits: Float32Array, batch: number, length: number, vocab: number): Float32Array {
  const last = new Float32Array(batch * vocab)
  for (let r = 0; r < batch; r++) last.set(logits.subarray(((r + 1) * length - 1) * vocab, (r + 1) * length * vocab), r * vocab)
  return last
}

export function leftPad(rows: number[][], padTokenId: number): { ids: tf.Tensor2D; mask: tf.Tensor2D; length: number } {
  const { ids, mask, length } = leftPadIds(rows, padTokenId)
  return {
    ids: tf.tensor2d(ids, [rows.length, length], 'int32'),
    mask: tf.tensor2d(mask, [rows.length, length], 'int32'),
    length,
  }
}

/** chooseToken's probabilities, reused from call to call (sampling is single-threaded). */
let scratch = new Float64Array(0)

/** Picks a token from one row of logits: argmax when greedy, else temperature + nucleus (top-p) sampling. */
export function chooseToken(
  logits: Float32Array,
  offset: number,
  vocab: number,
  temperature: number,
  topP: number,
  random: Random,
): number {
  if (temperature <= 0) {
    let best = 0
    for (let i = 1; i < vocab; i++) if (logits[offset + i]! > logits[offset + best]!) best = i
    return best
  }
  let max = -Infinity
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]! / temperature)
  if (scratch.length < vocab) scratch = new Float64Array(vocab)
  const probs = scratch
  let total = 0
  for (let i = 0; i < vocab; i++) total += probs[i] = Math.exp(logits[offset + i]! / temperature - max)
  if (topP >= 1) {
    // Every token is a candidate: the same draw as the general path below, without building the candidate list.
    let target = random.next() * total
    for (let token = 0; token < vocab; token++) {
      target -= probs[token]!
      if (target < 0) return token
    }
    return vocab - 1
  }
  // Nucleus: the most probable tokens until their mass reaches topP.
  const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b)
  const candidates: number[] = []
  let mass = 0
  for (const token of order) {
    candidates.push(token)
    mass += probs[token]! / total
    if (mass >= topP) break
  }
  const kept = candidates.reduce((sum, token) => sum + probs[token]!, 0)
  let target = random.next() * kept
  for (const token of candidates) {
    target -= probs[token]!
    if (target < 0) return token
  }
  return candidates[candidates.length - 1]!
}

/** Where next-token logits come from: the tfjs model with its KV cache, or an ONNX session. */
export interface LogitsSource {
  readonly vocabSize: number
  /** Logits [B, V] (flat) for the token after each left-padded prompt row. */
  prefill(rows: number[][], padTokenId: number): Float32Array | Promise<Float32Array>
  /**
   * Appends one token per row and returns the logits for the next one. `active` says which rows are still writing:
   * a source may skip the others (their logits are then not read).
   */
  step(tokens: Int32Array, active?: readonly boolean[]): Float32Array | Promise<Float32Array>
  dispose(): void
}

/** The tfjs model (cwb-gpt or a Hugging Face family's decoder) as a logits source, decoding incrementally with its KV cache. */
export function tfjsLogits(model: Transformer | Decoder): LogitsSource {
  let cache: KvCache | undefined
  const read = (logits: tf.Tensor2D): Float32Array => {
    const values = logits.dataSync() as Float32Array
    logits.dispose()
    return values
  }
  return {
    vocabSize: 'vocab_size' in model.config ? model.config.vocab_size : model.config.vocabSize,
    prefill(rows, padTokenId) {
      const { ids, mask } = leftPad(rows, padTokenId)
      const result = model.prefill(ids, mask)
      tf.dispose([ids, mask])
      cache = result.cache
      return read(result.logits)
    },
    step(tokens) {
      const input = tf.tensor1d(tokens, 'int32')
      const result = model.decode(input, cache!)
      input.dispose()
      cache = result.cache
      return read(result.logits)
    },
    dispose() {
      if (cache) disposeCache(cache)
      cache = undefined
    },
  }
}

export async function generate(source: LogitsSource, prompts: number[][], options: SamplingOptions): Promise<Completion[]> {
  const rows = prompts.flatMap((prompt) => Array.from({ length: options.samples }, () => prompt))
  const randoms = rows.map((_, row) => new Random(options.seed).fork(row))
  const outputs: number[][] = rows.map(() => [])
  const done = rows.map(() => false)
  const stops: (number | undefined)[] = rows.map(() => undefined)
  const stopIds = new Set([options.eosTokenId, ...(options.stopTokenIds ?? [])])
  const vocab = source.vocabSize
  try {
    let logits = await source.prefill(rows, options.padTokenId)
    for (let step = 0; step < options.maxNewTokens; step++) {
      const next = new Int32Array(rows.length)
      rows.forEach((_, row) => {
        if (done[row]) {
          next[row] = options.padTokenId
          return
        }
        const token = chooseToken(logits, row * vocab, vocab, options.temperature, options.topP, randoms[row]!)
        next[row] = token
        if (stopIds.has(token)) {
          done[row] = true
          stops[row] = token
        } else outputs[row]!.push(token)
      })
      if (done.every(Boolean) || step === options.maxNewTokens - 1) break
      logits = await source.step(
        next,
        done.map((d) => !d),
      )
    }
  } finally {
    source.dispose()
  }
  return rows.map((_, row) => ({
    prompt: Math.floor(row / options.samples),
    sample: row % options.samples,
    tokens: outputs[row]!,
    finished: done[row]!,
    ...(stops[row] === undefined ? {} : { stopToken: stops[row] }),
  }))
}
