// Seconds per GRPO step by phase for each reward mode on the demo model (8 questions x 8 rollouts), next to
// PyTorch doing the same work in the same run: its rollout, log-prob and training primitives (torch_reference.py)
// composed into each mode's step (Co-rewarding-I: both views; Co-rewarding-II: the teacher's rollouts too).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { DEMO_TASK_DEFAULTS, generateDemoTask } from '../../main/data/demo'
import { useBackend } from '../../main/engine/backend'
import { DEMO_MAX_PROMPT_TOKENS, DEMO_MAX_RESPONSE_TOKENS, demoModelConfig, demoTokenizerFiles } from '../../main/demo/base-model'
import { saveModel } from '../../main/engine/model/load'
import { Transformer } from '../../main/engine/model/transformer'
import { rewardModeIds } from '../../main/engine/rewards'
import { RunConfig } from '../../main/engine/run-config'
import { loadTokenizer } from '../../main/engine/tokenizer/tokenizer'
import { Trainer, type TrainerEvent } from '../../main/engine/trainer/trainer'
import { root } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { median } from './table'

interface Torch {
  torch: string
  threads: number
  rollout_s: number
  logprob_s: number
  train_s: number
  rss_mb: number
}

/** Steps measured, after one warm-up step. */
const STEPS = 4
const python = '/usr/bin/python3'

it('GRPO step time by phase, per reward mode, against PyTorch', async () => {
  const { backend } = await useBackend()
  const shipped = join(root, 'resources/base-model')
  const scratch = tempDir('cwb-bench-')
  let base = shipped
  if (!existsSync(join(shipped, 'config.json'))) {
    const files = demoTokenizerFiles()
    const config = demoModelConfig(loadTokenizer(files.tokenizer, files.tokenizerConfig, 'demo').vocabSize)
    const transformer = Transformer.initialise(config, 1)
    base = join(scratch.dir, 'base')
    saveModel(base, {
      config,
      transformer,
      tokenizerFiles: { tokenizer: files.tokenizer as Record<string, unknown>, tokenizerConfig: files.tokenizerConfig },
    })
  }
  const task = generateDemoTask(DEMO_TASK_DEFAULTS)
  const train = task.records
    .filter((r) => r.split === 'train')
    .map((r, i) => ({ id: i + 1, question: r.question, answer: r.answer, paraphrases: r.paraphrases.map((p) => p.text) }))
  const phases = [
    'timing_s/gen',
    'timing_s/gen_aug',
    'timing_s/gen_ref',
    'timing_s/old_log_prob',
    'timing_s/ref',
    'timing_s/reward',
    'timing_s/update_actor',
    'timing_s/step',
    'response_length/mean',
    'perf/rss_mb',
  ]
  const ours: Record<string, Record<string, number>> = {}
  for (const mode of rewardModeIds()) {
    const events: TrainerEvent[] = []
    const trainer = await Trainer.create(
      {
        config: RunConfig.parse({
          name: `bench-${mode}`,
          mode,
          steps: STEPS + 1,
          validation: { every: 1000, questions: 1 },
          checkpoint_every: 1000,
        }),
        runDir: join(scratch.dir, mode),
        startCheckpoint: base,
        train,
        validation: [{ question: train[0]!.question, answer: train[0]!.answer }],
        validationSource: 'demo',
      },
      (event) => events.push(event),
    )
    await trainer.run(() => false)
    trainer.dispose()
    const steps = events.filter((e): e is Extract<TrainerEvent, { type: 'step' }> => e.type === 'step' && e.step >= 2)
    ours[mode] = Object.fromEntries(phases.map((key) => [key, median(steps.map((s) => s.metrics[key] ?? 0))]))
  }
  scratch.remove()

  const config = demoModelConfig(
    loadTokenizer(demoTokenizerFiles().tokenizer, demoTokenizerFiles().tokenizerConfig, 'demo').vocabSize,
  )
  // PyTorch does the same step with our mean response length, at 1 and at 2 threads; the faster is the baseline.
  const responseLength = Math.max(1, Math.round(ours.ground_truth!['response_length/mean']!))
  const torchAt = (threads: number): Torch | undefined => {
    if (!existsSync(python)) return undefined
    const reference = spawnSync(
      python,
      [
        join(import.meta.dirname, 'torch_reference.py'),
        JSON.stringify({
          vocab: config.vocab_size,
          hidden: config.hidden_size,
          layers: config.num_hidden_layers,
          heads: config.num_attention_heads,
          positions: config.max_position_embeddings,
          prompts: 8,
          samples: 8,
          prompt_len: DEMO_MAX_PROMPT_TOKENS,
          new_tokens: DEMO_MAX_RESPONSE_TOKENS,
          response_len: responseLength,
          repeats: 5,
          threads,
        }),
      ],
      { encoding: 'utf8' },
    )
    return reference.status === 0 ? (JSON.parse(reference.stdout) as Torch) : undefined
  }
  const phasesOf = (torch: Torch, mode: string): { rollout: number; logprob: number; update: number; step: number } => {
    const views = mode === 'co_rewarding_i' ? 2 : 1
    const rollout = (views + (mode === 'co_rewarding_ii' ? 1 : 0)) * torch.rollout_s
    const logprob = 2 * views * torch.logprob_s
    const update = views * torch.train_s
    return { rollout, logprob, update, step: rollout + logprob + update }
  }
  const candidates = [1, 2].map(torchAt).filter((t): t is Torch => t !== undefined)
  const torch = candidates.sort((x, y) => phasesOf(x, 'ground_truth').step - phasesOf(y, 'ground_truth').step)[0]
  const pair = (value: number, reference: number | undefined, digits = 2): string =>
    `${value.toFixed(digits)} (${reference === undefined ? 'n/a' : reference.toFixed(digits)})`
  const header = ['mode', 'rollout s', 'log-prob s', 'scoring s', 'update s', 'step s', 'ratio', 'peak RSS MB']
  const lines = rewardModeIds().map((mode) => {
    const m = ours[mode]!
    const reference = torch && phasesOf(torch, mode)
    return [
      mode,
      pair(m['timing_s/gen']! + m['timing_s/gen_aug']! + m['timing_s/gen_ref']!, reference?.rollout),
      pair(m['timing_s/old_log_prob']! + m['timing_s/ref']!, reference?.logprob),
      m['timing_s/reward']!.toFixed(3),
      pair(m['timing_s/update_actor']!, reference?.update),
      pair(m['timing_s/step']!, reference?.step),
      reference ? `${(reference.step / m['timing_s/step']!).toFixed(2)}x` : 'n/a',
      pair(m['perf/rss_mb']!, torch?.rss_mb, 0),
    ]
  })
  const widths = header.map((_, c) => Math.max(header[c]!.length, ...lines.map((l) => l[c]!.length)))
  const format = (row: string[]): string => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')
  console.log(
    `\nGRPO step on the demo model (8 questions x 8 rollouts, ${backend}; mean response ${responseLength} tokens), median of ${STEPS} ` +
      `steps after a warm-up step. In brackets: PyTorch ${torch?.torch ?? '(absent)'} at ${torch?.threads ?? '-'} thread(s), the faster ` +
      `of 1 and 2, doing the same phases in this run (ratio = PyTorch's step / ours):\n${[header, ...lines].map(format).join('\n')}\n`,
  )
  expect(Object.keys(ours)).toHaveLength(6)
})
