// Pre-training of the demo base model: supervised next-token training on worked solutions of the demo
// task's training distribution (never a validation or test problem), then an evaluation that tells
// whether it leaves room for RL (greedy accuracy, and whether the majority of 8 samples beats one).
import * as tf from '@tensorflow/tfjs'
import { DEMO_TASK_DEFAULTS, generateDemoTask, generatePretrainingExamples } from '../data/demo'
import { useBackend } from '../engine/backend'
import { evaluate, promptFor } from '../engine/evaluate'
import type { Evaluation } from '../engine/evaluate'
import { SYSTEM_PROMPT } from '../engine/prompt'
import { saveModel } from '../engine/model/load'
import { tokenLogProbs } from '../engine/model/token-stats'
import { Transformer } from '../engine/model/transformer'
import { AdamW, ADAMW_DEFAULTS, learningRateAt } from '../engine/optim/adamw'
import { Random } from '../random'
import { leftPad } from '../engine/sampling'
import { loadTokenizer } from '../engine/tokenizer/tokenizer'
import type { Tokenizer } from '../engine/tokenizer/tokenizer'
import type { PretrainOptions } from './pretrain-defaults'
import { DEMO_MAX_PROMPT_TOKENS, DEMO_MAX_RESPONSE_TOKENS, demoModelConfig, demoTokenizerFiles } from './base-model'

export interface PretrainResult {
  out: string
  backend: string
  steps: number
  seconds: number
  parameters: number
  finalLoss: number
  evaluation: Required<Pick<Evaluation, 'pass1' | 'avgK' | 'majK' | 'passK'>> & { questions: number }
}

interface EncodedExample {
  prompt: number[]
  response: number[]
}

export function encodeExample(tokenizer: Tokenizer, question: string, solution: string): EncodedExample {
  const prompt = promptFor(tokenizer, SYSTEM_PROMPT, question)
  const response = [...tokenizer.encode(solution), tokenizer.eosTokenId]
  if (prompt.length > DEMO_MAX_PROMPT_TOKENS || response.length > DEMO_MAX_RESPONSE_TOKENS) {
    throw new Error(
      `demo example too long (prompt ${prompt.length}/${DEMO_MAX_PROMPT_TOKENS}, response ${response.length}/${DEMO_MAX_RESPONSE_TOKENS} tokens): ${question}`,
    )
  }
  return { prompt, response }
}

/** Mean negative log-likelihood of the response tokens of left-padded prompt+response rows. */
export function responseLoss(model: Transformer, examples: EncodedExample[], padTokenId: number): tf.Scalar {
  const rows = examples.map((e) => [...e.prompt, ...e.response])
  const { ids, mask, length } = leftPad(rows, padTokenId)
  const targets = new Int32Array(rows.length * length).fill(padTokenId)
  const weights = new Float32Array(rows.length * length)
  examples.forEach((example, r) => {
    const start = length - rows[r]!.length
    const responseStart = start + example.prompt.length
    // Position t predicts token t+1: the last prompt token predicts the first response token.
    for (let t = responseStart - 1; t < length - 1; t++) {
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

export async function pretrainDemoModel(options: PretrainOptions): Promise<PretrainResult> {
  const started = performance.now()
  const choice = await useBackend()
  const files = demoTokenizerFiles()
  const tokenizer = loadTokenizer(files.tokenizer, files.tokenizerConfig, 'demo tokenizer')
  const config = demoModelConfig(tokenizer.vocabSize, options.architecture)
  const task = generateDemoTask(DEMO_TASK_DEFAULTS)
  const examples = generatePretrainingExamples(task, options.steps * options.batchSize, options.seed).map((e) =>
    encodeExample(tokenizer, e.question, e.solution),
  )
  const validation = task.records.filter((r) => r.split === 'validation').slice(0, options.evalQuestions)
  const model = Transformer.initialise(config, options.seed)
  const parameters = model.trainableVariables().reduce((sum, v) => sum + v.size, 0)
  options.log(
    `Pre-training the demo model (${parameters.toLocaleString('en')} parameters, ${choice.backend}) for ${options.steps} steps of ${options.batchSize} examples`,
  )
  const optimizer = new AdamW(model.weights, { ...ADAMW_DEFAULTS, weightDecay: 0.01, maxGradNorm: 1 })
  const warmup = Math.round(options.steps * options.warmupFraction)
  const order = new Random(options.seed ^ 0x5eed).shuffled(examples.map((_, i) => i))
  let finalLoss = Number.NaN
  let step = 1
  for (; step <= options.steps; step++) {
    if (options.shouldStop?.()) break
    const batch = order.slice((step - 1) * options.batchSize, step * options.batchSize).map((i) => examples[i]!)
    const { value, grads } = tf.variableGrads(() => responseLoss(model, batch, tokenizer.padTokenId))
    const lr = learningRateAt(step, options.learningRate, warmup, options.steps)
    optimizer.apply(grads, lr)
    finalLoss = value.dataSync()[0]!
    tf.dispose([value, ...Object.values(grads)])
    if (!Number.isFinite(finalLoss)) throw new Error(`pre-training diverged at step ${step}: loss ${finalLoss}`)
    if (step % options.evalEvery === 0 || step === options.steps) {
      const check = await evaluate(model, tokenizer, validation, {
        systemPrompt: SYSTEM_PROMPT,
        maxNewTokens: DEMO_MAX_RESPONSE_TOKENS,
        samples: 0,
        temperature: 1,
        seed: options.seed,
      })
      const elapsed = (performance.now() - started) / 1000
      options.log(
        `step ${step}/${options.steps}  loss ${finalLoss.toFixed(4)}  greedy accuracy ${(check.pass1 * 100).toFixed(1)}%  ${elapsed.toFixed(0)} s`,
      )
    }
  }
  options.log('Evaluating: greedy, and 8 samples at temperature 1...')
  const final = await evaluate(model, tokenizer, validation, {
    systemPrompt: SYSTEM_PROMPT,
    maxNewTokens: DEMO_MAX_RESPONSE_TOKENS,
    samples: 8,
    temperature: 1,
    seed: options.seed,
  })
  const evaluation = { questions: final.questions, pass1: final.pass1, avgK: final.avgK!, passK: final.passK!, majK: final.majK! }
  const seconds = (performance.now() - started) / 1000
  saveModel(
    options.out,
    {
      config,
      transformer: model,
      tokenizerFiles: { tokenizer: files.tokenizer as Record<string, unknown>, tokenizerConfig: files.tokenizerConfig },
    },
    {
      trainerState: {
        kind: 'pretraining',
        seed: options.seed,
        steps: step - 1,
        batch_size: options.batchSize,
        learning_rate: options.learningRate,
        backend: choice.backend,
        seconds: Math.round(seconds),
        final_loss: finalLoss,
        evaluation: { split: 'validation', ...evaluation },
        command: `cwb pretrain --seed ${options.seed} --steps ${options.steps} --batch-size ${options.batchSize}`,
      },
    },
  )
  optimizer.dispose()
  model.dispose()
  return { out: options.out, backend: choice.backend, steps: step - 1, seconds, parameters, finalLoss, evaluation }
}
