import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { Transformer } from '../../main/engine/model/transformer'
import { exportOnnx, onnxWeightFeeds } from '../../main/engine/onnx/export'
import { OnnxModel } from '../../main/engine/onnx/session'
import { onnxResponseStats } from '../../main/engine/onnx/token-stats'
import { responseTokenStats } from '../../main/engine/trainer/grpo'
import { Random } from '../../main/random'
import { leftPad } from '../../main/engine/sampling'
import { tinyConfig } from '../helpers/tiny-model'

beforeAll(async () => {
  await useBackend('wasm')
})

describe.each(['learned', 'rotary'] as const)('the ONNX export with %s positions, run by onnxruntime-node on CPU', (position) => {
  it('matches the tfjs forward pass within 1e-4 on random left-padded inputs', async () => {
    const config = tinyConfig({
      vocab_size: 61,
      hidden_size: 48,
      num_hidden_layers: 3,
      intermediate_size: 96,
      max_position_embeddings: 40,
      position_embedding_type: position,
    })
    const model = Transformer.initialise(config, 21)
    const onnxModel = await OnnxModel.create(exportOnnx(config, model.toArrays()), config.vocab_size)
    const random = new Random(5)
    const rows = Array.from({ length: 5 }, (_, r) => Array.from({ length: 6 + r * 3 }, () => 3 + random.int(58)))
    const { ids, mask, length } = leftPad(rows, 0)
    const expected = model.forward(ids, mask)
    const actual = await onnxModel.logits(ids.dataSync() as Int32Array, mask.dataSync() as Int32Array, rows.length, length)
    const reference = expected.dataSync()
    const maskValues = mask.dataSync()
    let worst = 0
    for (let i = 0; i < reference.length; i++) {
      if (maskValues[Math.floor(i / config.vocab_size)] === 1) worst = Math.max(worst, Math.abs(reference[i]! - actual[i]!))
    }
    expect(worst).toBeLessThan(1e-4)
    // Exported once with weights as inputs, a session follows new weights fed with each run.
    const moved = Transformer.initialise(config, 22)
    const warm = await OnnxModel.create(exportOnnx(config, model.toArrays(), { weightsAsInputs: true }), config.vocab_size)
    const fed = await warm.logits(
      ids.dataSync() as Int32Array,
      mask.dataSync() as Int32Array,
      rows.length,
      length,
      onnxWeightFeeds(config, moved.toArrays()),
    )
    const movedReference = moved.forward(ids, mask).dataSync()
    let worstFed = 0
    for (let i = 0; i < movedReference.length; i++) {
      if (maskValues[Math.floor(i / config.vocab_size)] === 1)
        worstFed = Math.max(worstFed, Math.abs(movedReference[i]! - fed[i]!))
    }
    expect(worstFed).toBeLessThan(1e-4)
    await warm.release()
    moved.dispose()
    tf.dispose([ids, mask, expected])
    await onnxModel.release()
    model.dispose()
  })
})

describe('log-prob passes on onnxruntime', () => {
  it('give the same per-token log-probs, entropies and self-certainties as tfjs', async () => {
    const config = tinyConfig({ vocab_size: 37 })
    const model = Transformer.initialise(config, 8)
    const onnxModel = await OnnxModel.create(exportOnnx(config, model.toArrays()), config.vocab_size)
    const rows = [
      { prompt: [1, 5, 6, 7], response: [9, 10, 2] },
      { prompt: [1, 8], response: [11, 12, 13, 14, 2] },
      { prompt: [1, 3, 4, 5, 6, 7], response: [20] },
    ]
    const expected = responseTokenStats(model, rows, 0, 2, true)
    const actual = await onnxResponseStats(onnxModel, rows, 0, 2, true)
    for (const key of ['logProbs', 'entropy', 'selfCertainty'] as const) {
      expected[key].forEach((values, r) =>
        values.forEach((value, j) => expect(Math.abs(actual[key][r]![j]! - value), `${key} ${r} ${j}`).toBeLessThan(1e-4)),
      )
    }
    await onnxModel.release()
    model.dispose()
  })
})
