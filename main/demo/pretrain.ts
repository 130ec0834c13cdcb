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
import { Transformer } from '../engine/model/transformer'
import { OnnxTrainingGraph } from '../engine/onnx/train-graph'
import { AdamW, ADAMW_DEFAULTS, learningRateAt } from '../engine/optim/adamw'
import { nllTrainingBatch } from '../engine/trainer/grpo'
import { Random } from '../random'
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

export async function pretrainDemoModel(options: PretrainOptions): Promise<PretrainResult> {
  const started = performance.now()
  const choice = await useBackend()
  const files = demoTokenizerFiles()
  const tokenizer = loadTokenizer(files.tokenizer, files.tokenizerConfig, 'demo tokenizer')
  const config = demoModelConfig(tokenizer.vocabSize, options.architecture)
  const task = generateDemoTask(DEMO_TASK_DEFAULTS)
  const examples = generatePretrainingExamples(task, options.steps * options.batchSize, options.seed, options.directShare)
  const validation = task.records.filter((r) => r.split === 'validation').slice(0, options.evalQuestions)
  const model = Transformer.initialise(config, options.seed)
  const parameters = model.trainableVariables().reduce((sum, v) => sum + v.size, 0)
  options.log(
    `Pre-training the demo model (${parameters.toLocaleString('en')} parameters, ${choice.backend}) for ${options.steps} steps of ${options.batchSize} examples`,
  )
  const optimizer = new AdamW(model.weights, { ...ADAMW_DEFAULTS, weightDecay: 0.01, maxGradNorm: 1 })
  const graph = await OnnxTrainingGraph.create(config, 'nll')
  const warmup = Math.round(options.steps * options.warmupFraction)
  const order = new Random(options.seed ^ 0x5eed).shuffled(examples.map((_, i) => i))
  let finalLoss = Number.NaN
  let step = 1
  for (; step <= options.steps; step++) {
    if (options.shouldStop?.()) break
    // Worked solutions only until `directFrom`; from there each example in its own style.
    const batch = order
      .slice((step - 1) * options.batchSize, step * options.batchSize)
      .map((i) => examples[i]!)
      .map((e) => encodeExample(tokenizer, e.question, step >= options.directFrom ? e.solution : e.worked))
    // The mean NLL of the response tokens, forward and backward on onnxruntime's training graph.
    const pass = await graph.run(model.toArrays(), nllTrainingBatch(batch, tokenizer.padTokenId))
    const grads: Record<string, tf.Tensor> = {}
    for (const [name, variable] of model.weights) grads[name] = tf.tensor(pass.grads[name]!, variable.shape)
    const lr = learningRateAt(step, options.learningRate, warmup, options.steps)
    optimizer.apply(grads, lr)
    finalLoss = pass.loss
    tf.dispose(Object.values(grads))
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
        direct_share: options.directShare,
        direct_from: options.directFrom,
        command: `cwb pretrain --seed ${options.seed} --steps ${options.steps} --batch-size ${options.batchSize} --learning-rate ${options.learningRate} --direct-share ${options.directShare} --direct-from ${options.directFrom}`,
      },
    },
  )
  optimizer.dispose()
  await graph.release()
  model.dispose()
  return { out: options.out, backend: choice.backend, steps: step - 1, seconds, parameters, finalLoss, evaluation }
}
