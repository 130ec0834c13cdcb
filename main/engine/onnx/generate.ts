// onnxruntime as a logits source for sampling. The exported graph has no KV cache, so each step runs the
// whole (short) sequence again; at the demo's sizes onnxruntime's native kernels still make this competitive.
import type { LogitsSource } from '../sampling'
import type { OnnxModel } from './session'

export function onnxLogits(model: OnnxModel): LogitsSource {
  let rows: number[][] = []
  let pad = 0
  const lastPositions = async (): Promise<Float32Array> => {
    const length = Math.max(...rows.map((row) => row.length))
    const ids = new Int32Array(rows.length * length).fill(pad)
    const mask = new Int32Array(rows.length * length)
    rows.forEach((row, r) => {
      ids.set(row, r * length + length - row.length)
      mask.fill(1, r * length + length - row.length, (r + 1) * length)
    })
    const all = await model.logits(ids, mask, rows.length, length)
    const vocab = model.vocabSize
    const last = new Float32Array(rows.length * vocab)
    for (let r = 0; r < rows.length; r++)
      last.set(all.subarray(((r + 1) * length - 1) * vocab, (r + 1) * length * vocab), r * vocab)
    return last
  }
  return {
    vocabSize: model.vocabSize,
    prefill(prompts, padTokenId) {
      rows = prompts.map((prompt) => prompt.slice())
      pad = padTokenId
      return lastPositions()
    },
    step(tokens) {
      rows.forEach((row, r) => row.push(tokens[r]!))
      return lastPositions()
    },
    dispose() {
      rows = []
    },
  }
}
