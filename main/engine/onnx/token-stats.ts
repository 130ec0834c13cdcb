// Per-response-token log-probabilities (and entropies, self-certainties) computed by onnxruntime: the
// log-prob passes of a GRPO step need no gradient, so they run on native kernels instead of tfjs.
import { packArrays } from '../trainer/grpo'
import type { WeightFeed } from './export'
import type { OnnxModel } from './session'

export interface ResponseStats {
  logProbs: Float32Array[]
  entropy: Float32Array[]
  selfCertainty: Float32Array[]
}

/** What scores rows: the demo model's graph, or a Hugging Face family's (decoder-session.ts) with no past. */
export type OnnxLogitsModel = Pick<OnnxModel, 'vocabSize' | 'logits'>

/** The same values as responseTokenStats (tfjs), from an exported model. */
export async function onnxResponseStats(
  model: OnnxLogitsModel,
  rows: { prompt: number[]; response: number[] }[],
  padTokenId: number,
  microBatch: number,
  withStats: boolean,
  weights?: Record<string, WeightFeed>,
  temperature = 1,
): Promise<ResponseStats> {
  const out: ResponseStats = { logProbs: [], entropy: [], selfCertainty: [] }
  const vocab = model.vocabSize
  for (let start = 0; start < rows.length; start += microBatch) {
    const chunk = rows.slice(start, start + microBatch)
    const packed = packArrays(chunk, padTokenId)
    const logits = await model.logits(packed.ids, packed.mask, chunk.length, packed.length, weights)
    // Divided by the rollout temperature, as tfjs's tempered() (times 1/T, the same rounding).
    if (temperature !== 1) {
      const inverse = Math.fround(1 / temperature)
      for (let i = 0; i < logits.length; i++) logits[i] = logits[i]! * inverse
    }
    chunk.forEach((row, r) => {
      const n = row.response.length
      const logProbs = new Float32Array(n)
      const entropy = new Float32Array(withStats ? n : 0)
      const certainty = new Float32Array(withStats ? n : 0)
      for (let j = 0; j < n; j++) {
        const offset = (r * packed.length + packed.starts[r]! + j) * vocab
        let max = -Infinity
        let sum = 0
        for (let v = 0; v < vocab; v++) {
          max = Math.max(max, logits[offset + v]!)
          sum += logits[offset + v]!
        }
        let partition = 0
        for (let v = 0; v < vocab; v++) partition += Math.exp(logits[offset + v]! - max)
        const logZ = max + Math.log(partition)
        logProbs[j] = logits[offset + row.response[j]!]! - logZ
        if (!withStats) continue
        let h = 0
        for (let v = 0; v < vocab; v++) {
          const logp = logits[offset + v]! - logZ
          h -= Math.exp(logp) * logp
        }
        entropy[j] = h
        certainty[j] = logZ - sum / vocab
      }
      out.logProbs.push(logProbs)
      out.entropy.push(entropy)
      out.selfCertainty.push(certainty)
    })
  }
  return out
}
