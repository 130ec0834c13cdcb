// Checking an ONNX export by running it: onnxruntime-node's logits against the tfjs model's on a few left-padded
// prompts of random tokens (every real position of every prompt), reporting the largest difference.
import * as tf from '@tensorflow/tfjs'
import type { Transformer } from '../model/transformer'
import { OnnxModel } from '../onnx/session'
import { leftPad } from '../sampling'
import { Random } from '../../random'

/** Float32 kernels on two runtimes agree to about 1e-5 at the demo's sizes; more than this is a broken export. */
export const ONNX_TOLERANCE = 1e-3

export interface OnnxCheck {
  prompts: number
  /** Token positions compared (each over the whole vocabulary). */
  positions: number
  maxAbsDiff: number
  tolerance: number
  /** Within the tolerance, and no NaN on either side. */
  ok: boolean
}

export async function checkOnnxExport(
  model: Transformer,
  onnxBytes: Uint8Array,
  options: { prompts: number; seed?: number },
): Promise<OnnxCheck> {
  const { config } = model
  const random = new Random(options.seed ?? 0)
  // Ids past the special tokens, lengths from 1 up to the context (capped: the check needs breadth, not length).
  const first = Math.min(Math.max(config.bos_token_id, config.eos_token_id, config.pad_token_id) + 1, config.vocab_size - 1)
  const longest = Math.min(config.max_position_embeddings, 24)
  const rows = Array.from({ length: options.prompts }, (_, r) =>
    Array.from({ length: 1 + ((r * 7 + random.int(longest)) % longest) }, () => first + random.int(config.vocab_size - first)),
  )
  const { ids, mask, length } = leftPad(rows, config.pad_token_id)
  const session = await OnnxModel.create(onnxBytes, config.vocab_size)
  try {
    const expected = model.forward(ids, mask)
    const reference = expected.dataSync()
    const maskValues = mask.dataSync()
    const actual = await session.logits(ids.dataSync() as Int32Array, maskValues as Int32Array, rows.length, length)
    tf.dispose([expected])
    let worst = 0
    let positions = 0
    let notANumber = false
    for (let position = 0; position < rows.length * length; position++) {
      if (maskValues[position] !== 1) continue
      positions += 1
      for (let v = position * config.vocab_size; v < (position + 1) * config.vocab_size; v++) {
        const difference = Math.abs(reference[v]! - actual[v]!)
        if (Number.isNaN(difference)) notANumber = true
        else worst = Math.max(worst, difference)
      }
    }
    return {
      prompts: rows.length,
      positions,
      maxAbsDiff: worst,
      tolerance: ONNX_TOLERANCE,
      ok: !notANumber && worst <= ONNX_TOLERANCE,
    }
  } finally {
    tf.dispose([ids, mask])
    await session.release()
  }
}
