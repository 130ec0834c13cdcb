// The engine against PyTorch (Debian python3-torch, the faster of 1 and 2 threads) on the same model and the same work, measured
// in the same run: rollout tokens/s (tfjs with its KV cache; onnxruntime without and with the KV cache in the graph,
// the latter fed the weights each rollout as the trainer does), log-prob pass tokens/s and
// training tokens/s (forward + backward + AdamW). Medians of 5 repetitions; ratios > 1 mean faster than PyTorch.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { DEMO_MAX_PROMPT_TOKENS, DEMO_MAX_RESPONSE_TOKENS, demoModelConfig, demoTokenizerFiles } from '../../main/demo/base-model'
import { tokenLogProbs } from '../../main/engine/model/token-stats'
import { Transformer } from '../../main/engine/model/transformer'
import { onnxDecoderLogits } from '../../main/engine/onnx/decoder-session'
import { exportOnnx, onnxWeightFeeds } from '../../main/engine/onnx/export'
import { onnxLogits } from '../../main/engine/onnx/generate'
import { OnnxGpt } from '../../main/engine/onnx/gpt-session'
import { OnnxModel } from '../../main/engine/onnx/session'
import { OnnxTrainingGraph } from '../../main/engine/onnx/train-graph'
import { onnxResponseStats } from '../../main/engine/onnx/token-stats'
import { accumulatedGradients } from '../../main/engine/optim/accumulate'
import { AdamW } from '../../main/engine/optim/adamw'
import { Random } from '../../main/random'
import { generate, leftPad, tfjsLogits } from '../../main/engine/sampling'
import { loadTokenizer } from '../../main/engine/tokenizer/tokenizer'
import { nllTrainingBatch } from '../../main/engine/trainer/grpo'
import { median, printTable } from './table'

const REPEATS = 5
const PROMPTS = 8
const SAMPLES = 8
const MICRO_BATCH = 32
const python = '/usr/bin/python3'

async function medianSeconds(work: () => unknown, repeats = REPEATS): Promise<number> {
  await work()
  const times: number[] = []
  for (let i = 0; i < repeats; i++) {
    const start = performance.now()
    await work()
    times.push((performance.now() - start) / 1000)
  }
  return median(times)
}

it('engine throughput against PyTorch', async () => {
  const { backend } = await useBackend()
  const files = demoTokenizerFiles()
  const vocab = loadTokenizer(files.tokenizer, files.tokenizerConfig, 'demo').vocabSize
  const config = demoModelConfig(vocab)
  const model = Transformer.initialise(config, 1)
  const random = new Random(3)
  const rows = PROMPTS * SAMPLES
  const sequence = DEMO_MAX_PROMPT_TOKENS + DEMO_MAX_RESPONSE_TOKENS
  const prompts = Array.from({ length: PROMPTS }, () =>
    Array.from({ length: DEMO_MAX_PROMPT_TOKENS }, () => 7 + random.int(vocab - 7)),
  )
  const sampling = {
    temperature: 1,
    topP: 1,
    maxNewTokens: DEMO_MAX_RESPONSE_TOKENS,
    samples: SAMPLES,
    seed: 1,
    eosTokenId: -1,
    padTokenId: 0,
  }
  const batch = Array.from({ length: rows }, () => Array.from({ length: sequence }, () => 7 + random.int(vocab - 7)))
  const chunks = Array.from({ length: rows / MICRO_BATCH }, (_, c) =>
    leftPad(batch.slice(c * MICRO_BATCH, (c + 1) * MICRO_BATCH), 0),
  )
  const targets = chunks.map(
    (chunk) => tf.concat([chunk.ids.slice([0, 1], [-1, -1]), tf.zeros([MICRO_BATCH, 1], 'int32')], 1) as tf.Tensor2D,
  )

  const rolloutTfjs = await medianSeconds(() => generate(tfjsLogits(model), prompts, sampling))
  const exportSeconds = await medianSeconds(async () =>
    (await OnnxModel.create(exportOnnx(config, model.toArrays()), vocab)).release(),
  )
  const onnx = await OnnxModel.create(exportOnnx(config, model.toArrays()), vocab)
  const rolloutOnnx = await medianSeconds(() => generate(onnxLogits(onnx), prompts, sampling))
  const cached = await OnnxGpt.create(config)
  const rolloutOnnxCached = await medianSeconds(() =>
    generate(onnxDecoderLogits(cached, onnxWeightFeeds(config, model.toArrays())), prompts, sampling),
  )
  // The trainer's sampler: prefill on that graph, decode steps on the fixed-capacity graph (gpt-decode.ts).
  const rolloutDecoder = await medianSeconds(() =>
    generate(cached.sampler(onnxWeightFeeds(config, model.toArrays())), prompts, sampling),
  )
  await cached.release()
  const logprob = await medianSeconds(() =>
    chunks.forEach((chunk, c) => tf.tidy(() => tokenLogProbs(model.forward(chunk.ids, chunk.mask), targets[c]!).dataSync())),
  )
  const optimizer = new AdamW(model.weights)
  const train = await medianSeconds(() => {
    const { grads } = accumulatedGradients(
      chunks.map(
        (chunk, c) => () =>
          tf.div(tf.neg(tf.mean(tokenLogProbs(model.forward(chunk.ids, chunk.mask), targets[c]!))), chunks.length) as tf.Scalar,
      ),
    )
    optimizer.apply(grads, 1e-4)
    tf.dispose(Object.values(grads))
  })
  // The update on onnxruntime's training graph (the trainer's default for cwb-gpt): the same NLL and AdamW.
  const graph = await OnnxTrainingGraph.create(config, 'nll')
  const nllRows = batch.map((row) => ({ prompt: row.slice(0, 1), response: row.slice(1) }))
  const trainGraph = await medianSeconds(async () => {
    const grads: Record<string, tf.Tensor> = {}
    for (let c = 0; c < rows / MICRO_BATCH; c++) {
      const pass = await graph.run(model.toArrays(), nllTrainingBatch(nllRows.slice(c * MICRO_BATCH, (c + 1) * MICRO_BATCH), 0))
      for (const [name, variable] of model.weights) {
        const g = tf.tensor(pass.grads[name]!, variable.shape)
        grads[name] = grads[name] ? tf.add(grads[name]!, g) : g
      }
    }
    optimizer.apply(grads, 1e-4)
    tf.dispose(Object.values(grads))
  })
  await graph.release()
  const responseRows = batch.map((row) => ({
    prompt: row.slice(0, DEMO_MAX_PROMPT_TOKENS),
    response: row.slice(DEMO_MAX_PROMPT_TOKENS),
  }))
  const logprobOnnx = await medianSeconds(() => onnxResponseStats(onnx, responseRows, 0, MICRO_BATCH, false))
  await onnx.release()

  const generated = rows * DEMO_MAX_RESPONSE_TOKENS
  const scored = rows * sequence
  // PyTorch at 1 and at 2 threads; each row compares against its faster setting.
  const torchAt = (threads: number) =>
    existsSync(python)
      ? spawnSync(
          python,
          [
            join(import.meta.dirname, 'torch_reference.py'),
            JSON.stringify({
              vocab,
              hidden: config.hidden_size,
              layers: config.num_hidden_layers,
              heads: config.num_attention_heads,
              positions: config.max_position_embeddings,
              prompts: PROMPTS,
              samples: SAMPLES,
              prompt_len: DEMO_MAX_PROMPT_TOKENS,
              new_tokens: DEMO_MAX_RESPONSE_TOKENS,
              repeats: REPEATS,
              threads,
            }),
          ],
          { encoding: 'utf8' },
        )
      : undefined
  type Torch = { torch: string; rollout_s: number; logprob_s: number; train_s: number }
  const runs = [1, 2].map(torchAt)
  const reference = runs.find((r) => r?.status !== 0) ?? runs[0]
  const measured = runs.filter((r) => r?.status === 0).map((r) => JSON.parse(r!.stdout) as Torch)
  const torch =
    measured.length === 0
      ? undefined
      : {
          torch: measured[0]!.torch,
          rollout_s: Math.min(...measured.map((t) => t.rollout_s)),
          logprob_s: Math.min(...measured.map((t) => t.logprob_s)),
          train_s: Math.min(...measured.map((t) => t.train_s)),
        }
  if (!torch)
    console.log(
      `PyTorch reference unavailable: ${reference?.stderr.split('\n').at(-2) ?? `${python} not found (apt-get install python3-torch)`}`,
    )
  printTable(
    `Engine throughput, demo model (${config.num_hidden_layers} layers, width ${config.hidden_size}, vocab ${vocab}), ${rows} sequences of ${DEMO_MAX_PROMPT_TOKENS}+${DEMO_MAX_RESPONSE_TOKENS} tokens, tfjs backend ${backend}${torch ? `, PyTorch ${torch.torch}` : ''}`,
    [
      { work: 'rollout (tfjs, KV cache)', tokens: generated, seconds: rolloutTfjs, reference: torch?.rollout_s },
      { work: 'rollout (onnxruntime, CPU)', tokens: generated, seconds: rolloutOnnx, reference: torch?.rollout_s },
      {
        work: 'rollout (onnxruntime, KV cache)',
        tokens: generated,
        seconds: rolloutOnnxCached,
        reference: torch?.rollout_s,
      },
      {
        work: 'rollout (onnxruntime, fixed-capacity cache, the default)',
        tokens: generated,
        seconds: rolloutDecoder,
        reference: torch?.rollout_s,
      },
      { work: 'log-prob pass (tfjs)', tokens: scored, seconds: logprob, reference: torch?.logprob_s },
      { work: 'log-prob pass (onnxruntime, the default)', tokens: scored, seconds: logprobOnnx, reference: torch?.logprob_s },
      { work: 'training step (tfjs, fwd+bwd+AdamW)', tokens: scored, seconds: train, reference: torch?.train_s },
      {
        work: 'training step (onnxruntime training graph, the default)',
        tokens: scored,
        seconds: trainGraph,
        reference: torch?.train_s,
      },
    ],
  )
  console.log(
    `New weights reach onnxruntime by re-export: export + session creation takes ${(exportSeconds * 1000).toFixed(0)} ms per step.`,
  )
  expect(rolloutTfjs).toBeGreaterThan(0)
  model.dispose()
})
