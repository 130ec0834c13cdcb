// onnxruntime as a logits source for sampling. The exported graph has no KV cache, so each step runs the
// whole (short) sequence again; at the demo's sizes onnxruntime's native kernels still make this competitive.
import { lastPositions, leftPadIds } from '../sampling'
import type { LogitsSource } from '../sampling'
import type { OnnxModel } from './session'

export function onnxLogits(model: OnnxModel): LogitsSource {
  let rows: number[][] = []
  let pad = 0
  const nextLogits = async (): Promise<Float32Array> => {
    const { ids, mask, length } = leftPadIds(rows, pad)
    return lastPositions(await model.logits(ids, mask, rows.length, length), rows.length, length, model.vocabSize)
  }
  return {
    vocabSize: model.vocabSize,
    prefill(prompts, padTokenId) {
      rows = prompts.map((prompt) => prompt.slice())
      pad = padTokenId
      return nextLogits()
    },
    step(tokens) {
      rows.forEach((row, r) => row.push(tokens[r]!))
      return nextLogits()
    },
    dispose() {
      rows = []
    },
  }
}
