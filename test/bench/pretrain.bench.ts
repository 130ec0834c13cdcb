// Pre-training steps (`cwb pretrain`'s loop: the mean NLL of the response tokens, forward + backward + AdamW) on the
// demo model: tfjs autodiff, the way pre-training ran before the training graph, against onnxruntime's training graph
// (main/engine/onnx/train-graph.ts), which `cwb pretrain` runs now. Both start from the same weights and take the same
// batches; the table gives each one's median step, the speed-up, and the two losses after the last step (the same
// result up to float32 summation order).
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { DEMO_TASK_DEFAULTS, generateDemoTask, generatePretrainingExamples } from '../../main/data/demo'
import { demoModelConfig, demoTokenizerFiles } from '../../main/demo/base-model'
import { encodeExample } from '../../main/demo/pretrain'
import { PRETRAIN_DEFAULTS } from '../../main/demo/pretrain-defaults'
import { useBackend } from '../../main/engine/backend'
import { tokenLogProbs } from '../../main/engine/model/token-stats'
import { Transformer } from '../../main/engine/model/transformer'
import { OnnxTrainingGraph } from '../../main/engine/onnx/train-graph'
import { AdamW, ADAMW_DEFAULTS } from '../../main/engine/optim/adamw'
import { leftPad } from '../../main/engine/sampling'
import { loadTokenizer } from '../../main/engine/tokenizer/tokenizer'
import { nllTrainingBatch } from '../../main/engine/trainer/grpo'
import { median } from './table'

/** Steps timed per engine, after one warm-up step. */
const STEPS = 8

type Example = ReturnType<typeof encodeExample>

/** The mean NLL of the response tokens through tfjs autodiff (pre-training's loss before the training graph). */
function tfjsLoss(model: Transformer, examples: Example[], padTokenId: number): tf.Scalar {
  const rows = examples.map((e) => [...e.prompt, ...e.response])
  const { ids, mask, length } = leftPad(rows, padTokenId)
  const targets = new Int32Array(rows.length * length).fill(padTokenId)
  const weights = new Float32Array(rows.length * length)
  examples.forEach((example, r) => {
    const start = length - rows[r]!.length
    // Position t predicts token t + 1: the last prompt token predicts the first response token.
    for (let t = start + example.prompt.length - 1; t < length - 1; t++) {
      targets[r * length + t] = rows[r]![t + 1 - start]!
      weights[r * length + t] = 1
    }
  })
  const targetTensor = tf.tensor2d(targets, [rows.length, length], 'int32')
  const weightTensor = tf.tensor2d(weights, [rows.length, length])
  const loss = tf.tidy(() => {
    const logp = tokenLogProbs(model.forward(ids, mask), targetTensor)
    return tf.div(tf.neg(tf.sum(tf.mul(logp, weightTensor))), tf.sum(weightTensor)) as tf.Scalar
  })
  tf.dispose([ids, mask, targetTensor, weightTensor])
  return loss
}

it('pre-training steps: onnxruntime training graph against tfjs autodiff', async () => {
  const backend = (await useBackend()).backend
  const files = demoTokenizerFiles()
  const tokenizer = loadTokenizer(files.tokenizer, files.tokenizerConfig, 'demo tokenizer')
  const config = demoModelConfig(tokenizer.vocabSize, PRETRAIN_DEFAULTS.architecture)
  const size = PRETRAIN_DEFAULTS.batchSize
  const examples = generatePretrainingExamples(generateDemoTask(DEMO_TASK_DEFAULTS), (STEPS + 1) * size, 7).map((e) =>
    encodeExample(tokenizer, e.question, e.solution),
  )
  const batches = Array.from({ length: STEPS + 1 }, (_, s) => examples.slice(s * size, (s + 1) * size))
  const pad = tokenizer.padTokenId
  const lr = PRETRAIN_DEFAULTS.learningRate

  const trainWith = async (
    step: (model: Transformer, batch: Example[]) => Promise<{ loss: number; grads: Record<string, tf.Tensor> }>,
  ): Promise<{ seconds: number; losses: number[] }> => {
    const model = Transformer.initialise(config, PRETRAIN_DEFAULTS.seed)
    const optimizer = new AdamW(model.weights, { ...ADAMW_DEFAULTS, weightDecay: 0.01, maxGradNorm: 1 })
    const times: number[] = []
    const losses: number[] = []
    for (const [s, batch] of batches.entries()) {
      const started = performance.now()
      const { loss, grads } = await step(model, batch)
      optimizer.apply(grads, lr)
      tf.dispose(Object.values(grads))
      if (s > 0) times.push((performance.now() - started) / 1000)
      losses.push(loss)
    }
    optimizer.dispose()
    model.dispose()
    return { seconds: median(times), losses }
  }

  const autodiff = await trainWith(async (model, batch) => {
    const { value, grads } = tf.variableGrads(() => tfjsLoss(model, batch, pad))
    const loss = value.dataSync()[0]!
    value.dispose()
    const named: Record<string, tf.Tensor> = {}
    for (const [name, variable] of model.weights) named[name] = grads[variable.name]!
    return { loss, grads: named }
  })
  const graph = await OnnxTrainingGraph.create(config, 'nll')
  const onnx = await trainWith(async (model, batch) => {
    const pass = await graph.run(model.toArrays(), nllTrainingBatch(batch, pad))
    const grads: Record<string, tf.Tensor> = {}
    for (const [name, variable] of model.weights) grads[name] = tf.tensor(pass.grads[name]!, variable.shape)
    return { loss: pass.loss, grads }
  })
  await graph.release()

  const last = STEPS
  const rows = [
    ['engine', 'step s (median)', 'speed-up', `loss at step 1`, `loss after ${STEPS + 1} steps`],
    [
      'tfjs autodiff (before)',
      autodiff.seconds.toFixed(3),
      '1.00x',
      autodiff.losses[0]!.toFixed(5),
      autodiff.losses[last]!.toFixed(5),
    ],
    [
      'onnxruntime training graph (now)',
      onnx.seconds.toFixed(3),
      `${(autodiff.seconds / onnx.seconds).toFixed(2)}x`,
      onnx.losses[0]!.toFixed(5),
      onnx.losses[last]!.toFixed(5),
    ],
  ]
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  console.log(
    `\nPre-training step on the demo model (batch ${size}, lr ${lr}, ${backend}), median of ${STEPS} steps after a warm-up step:\n` +
      `${rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n')}\n`,
  )
  // The same result: the two engines' losses agree along the way (float32 summation order differs).
  for (let s = 0; s <= last; s++) expect(onnx.losses[s]!).toBeCloseTo(autodiff.losses[s]!, 3)
})
