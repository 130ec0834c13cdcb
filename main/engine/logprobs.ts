// Log-probabilities of given responses after given prompts: for each response token, log-softmax of the model's
// logits at the position before it. Rows of a batch are left-padded together; padding never changes the numbers.
import * as tf from '@tensorflow/tfjs'
import { Decoder } from './model/families/decoder'
import type { Transformer } from './model/transformer'
import { leftPad } from './sampling'

export interface LogprobRow {
  prompt: number[]
  response: number[]
}

/** Logits held at once while scoring (B x positions x V floats): large vocabularies are scored a few positions at a time. */
const LOGITS_BUDGET = 16 * 1024 * 1024

/** Response log-probabilities with the tfjs model; every prompt must hold at least one token. */
export function tfjsLogprobs(model: Transformer | Decoder, rows: LogprobRow[], logitsBudget = LOGITS_BUDGET): number[][] {
  const { ids, mask, length } = leftPad(
    rows.map((row) => [...row.prompt, ...row.response]),
    0,
  )
  const span = Math.max(...rows.map((row) => row.response.length))
  // Only the positions that predict response tokens need the output head: the last `span` before the end.
  const tail = tf.tidy(() => {
    const all = model instanceof Decoder ? model.hidden(ids, mask) : model.forward(ids, mask)
    return all.slice([0, length - 1 - span, 0], [-1, span, -1])
  })
  tf.dispose([ids, mask])
  const out = rows.map((row) => new Array<number>(row.response.length))
  const vocab = model instanceof Decoder ? model.config.vocabSize : model.config.vocab_size
  const chunk = Math.max(1, Math.floor(logitsBudget / (rows.length * vocab)))
  for (let from = 0; from < span; from += chunk) {
    const width = Math.min(chunk, span - from)
    const logprobs = tf.tidy(() => {
      const part = tail.slice([0, from, 0], [-1, width, -1])
      return tf.logSoftmax(model instanceof Decoder ? model.head(part) : part)
    })
    const values = logprobs.dataSync() as Float32Array
    logprobs.dispose()
    rows.forEach((row, r) => {
      // Tail position p predicts response token j = p - (span - R).
      for (let p = from; p < from + width; p++) {
        const j = p - (span - row.response.length)
        if (j >= 0) out[r]![j] = values[(r * width + p - from) * vocab + row.response[j]!]!
      }
    })
  }
  tail.dispose()
  return out
}
