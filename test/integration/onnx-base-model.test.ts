// The shipped base model answers the same under onnxruntime as under tfjs: greedy completions agree token for
// token on held-out questions, except where the top two logits are within 1e-3 (a legitimate tie).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEMO_TASK_DEFAULTS, generateDemoTask } from '../../main/data/demo'
import { useBackend } from '../../main/engine/backend'
import { promptFor } from '../../main/engine/evaluate'
import { loadModel } from '../../main/engine/model/load'
import { exportOnnx } from '../../main/engine/onnx/export'
import { onnxLogits } from '../../main/engine/onnx/generate'
import { OnnxModel } from '../../main/engine/onnx/session'
import { SYSTEM_PROMPT } from '../../main/engine/prompt'
import { generate, leftPad, tfjsLogits } from '../../main/engine/sampling'
import { root } from '../helpers/cli'

const baseModel = join(root, 'resources/base-model')

beforeAll(async () => {
  await useBackend('wasm')
})

describe('the shipped base model under onnxruntime', () => {
  it.skipIf(!existsSync(join(baseModel, 'config.json')))(
    'gives the same greedy answers as tfjs wherever the top-2 logit gap exceeds 1e-3',
    async () => {
      const model = loadModel(baseModel)
      const questions = generateDemoTask(DEMO_TASK_DEFAULTS)
        .records.filter((r) => r.split === 'validation')
        .slice(0, 24)
      const prompts = questions.map((q) => promptFor(model.tokenizer, SYSTEM_PROMPT, q.question))
      const options = {
        temperature: 0,
        topP: 1,
        maxNewTokens: 32,
        samples: 1,
        seed: 0,
        eosTokenId: model.tokenizer.eosTokenId,
        padTokenId: model.tokenizer.padTokenId,
      }
      const viaTfjs = await generate(tfjsLogits(model.transformer), prompts, options)
      const onnx = await OnnxModel.create(exportOnnx(model.config, model.transformer.toArrays()), model.config.vocab_size)
      const viaOnnx = await generate(onnxLogits(onnx), prompts, options)
      await onnx.release()
      let identical = 0
      for (const [i, completion] of viaTfjs.entries()) {
        const other = viaOnnx[i]!.tokens
        const diverge = completion.tokens.findIndex((token, j) => token !== other[j])
        if (diverge === -1 && other.length === completion.tokens.length) {
          identical += 1
          continue
        }
        // Where they part, tfjs's own top two logits must be a near tie.
        const sequence = [...prompts[i]!, ...completion.tokens.slice(0, diverge)]
        const input = leftPad([sequence], model.tokenizer.padTokenId)
        const logits = model.transformer.forward(input.ids, input.mask)
        const last = Array.from(logits.slice([0, sequence.length - 1, 0], [1, 1, -1]).dataSync()).sort((a, b) => b - a)
        expect(last[0]! - last[1]!, `question ${i} diverges at token ${diverge}`).toBeLessThanOrEqual(1e-3)
        tf.dispose([logits, input.ids, input.mask])
      }
      expect(identical).toBeGreaterThan(questions.length / 2)
      model.transformer.dispose()
    },
  )
})
