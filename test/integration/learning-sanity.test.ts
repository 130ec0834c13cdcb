// Does GRPO learn at all? A reward that is 1 for one fixed answer, even a wrong one, must teach the shipped demo base
// model to give that answer within a bounded number of steps, and ground truth on 8 fixed training questions must
// raise their training reward to 0.8. This catches a broken sign, misaligned log-probs or a
// dead gradient anywhere between the rollouts and the optimiser, which every other test could miss: with the
// advantages' sign flipped the reward falls to 0, and with a learning rate of 1e-9 it stays where it started.
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { RunConfig } from '../../main/engine/run-config'
import { Trainer, type TrainerEvent, type TrainerJob } from '../../main/engine/trainer/trainer'
import { cwb, lastJson, root } from '../helpers/cli'
import { demoTask } from '../helpers/trainer-job'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()
const BASE = join(root, 'resources', 'base-model')

beforeAll(async () => {
  await useBackend('wasm')
})

/** Ground-truth GRPO of the base model on `train`, 8 questions × 8 rollouts a step; the training reward of each step. */
async function trainingRewards(train: TrainerJob['train'], steps: number): Promise<number[]> {
  const validation = demoTask({ train: 200, validation: 1 }).records.filter((r) => r.split === 'validation')
  const job: TrainerJob = {
    config: RunConfig.parse({
      name: 'sanity',
      mode: 'ground_truth',
      steps,
      batch_size: 8,
      rollouts: 8,
      learning_rate: 3e-4,
      validation: { every: 1000, questions: 1 },
      checkpoint_every: 1000,
      seed: 3,
    }),
    runDir: join(folder(), 'run'),
    startCheckpoint: BASE,
    train,
    validation: validation.map((r) => ({ question: r.question, answer: r.answer })),
    validationSource: 'demo-arithmetic',
  }
  const rewards: number[] = []
  const trainer = await Trainer.create(job, (event: TrainerEvent) => {
    if (event.type === 'step' && event.step > 0) rewards.push(event.metrics['critic/score/mean']!)
  })
  await trainer.run(() => false)
  trainer.dispose()
  return rewards
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

describe('GRPO learns what it is rewarded for', () => {
  it(
    'teaches the base model to give the one answer that is rewarded, even a wrong one, within 30 steps',
    { timeout: 300_000 },
    async () => {
      // A three-step training question, and the wrong answer the base model gives most often to it: it must give it
      // sometimes, or nothing could reward it.
      const { question, answer } = demoTask({ train: 200, validation: 1 }).records.find((r) => r.steps === 3)!
      const sampled = cwb(['generate', '--checkpoint', BASE, '--prompt', question, '--samples', '32', '--seed', '0', '--json'], {
        CWB_WORKSPACE: folder(),
        CWB_DEMO: '0',
      })
      expect(sampled.code, sampled.stderr).toBe(0)
      const answers = lastJson<{ completions: { answer: string | null }[] }>(sampled.stdout).completions.map((c) => c.answer)
      const counts = new Map<string, number>()
      for (const a of answers) if (a !== null && a !== answer) counts.set(a, (counts.get(a) ?? 0) + 1)
      const [target, times] = [...counts].sort((p, q) => q[1] - p[1])[0] ?? []
      expect(target, `the base model gave no wrong answer to "${question}" in 32 samples`).toBeDefined()

      // Eight copies of the question, labelled with that answer: a reward of 1 for it and 0 for anything else.
      const train = Array.from({ length: 8 }, (_, i) => ({ id: i + 1, question, answer: target!, paraphrases: [] }))
      const rewards = await trainingRewards(train, 30)
      console.log(
        `rewarding ${target} (sampled ${times}/32 times at first; the true answer is ${answer}): ${rewards.map((r) => r.toFixed(2)).join(' ')}`,
      )
      expect(rewards[0]).toBeLessThan(0.5)
      expect(mean(rewards.slice(-5))).toBeGreaterThanOrEqual(0.8)
    },
  )

  it(
    'raises the training reward of 8 fixed training questions to at least 0.8 with their true answers, within 30 steps',
    { timeout: 300_000 },
    async () => {
      // Eight 2- and 3-step training questions: the base model often answers these directly, and wrongly.
      const records = demoTask({ train: 200, validation: 1 })
        .records.filter((r) => r.split === 'train' && r.steps > 1)
        .slice(0, 8)
      const train = records.map((r, i) => ({ id: i + 1, question: r.question, answer: r.answer, paraphrases: [] }))
      const rewards = await trainingRewards(train, 30)
      console.log(`ground truth on 8 fixed questions: ${rewards.map((r) => r.toFixed(2)).join(' ')}`)
      expect(rewards[0]).toBeLessThan(0.8)
      expect(mean(rewards.slice(-5))).toBeGreaterThanOrEqual(0.8)
    },
  )
})
