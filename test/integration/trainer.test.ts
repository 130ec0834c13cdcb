// Trains a tiny model (about 10k parameters) for a few steps under every reward mode, in-process, and checks
// the events the trainer streams: metrics with the method's keys, stored rollouts, checkpoints, and that a
// resumed run reproduces an uninterrupted one.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { rewardModeIds } from '../../main/engine/rewards'
import { emaConfig } from '../../main/engine/run-config'
import { Trainer, type TrainerEvent, type TrainerJob } from '../../main/engine/trainer/trainer'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { demoTrainerJob } from '../helpers/trainer-job'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()

beforeAll(async () => {
  await useBackend('wasm')
})

function job(mode: string, steps: number, dir: string, start: string): TrainerJob {
  const config = {
    name: `tiny-${mode}`,
    mode,
    steps,
    batch_size: 2,
    rollouts: 4,
    max_response_tokens: 8,
    learning_rate: 1e-3,
    validation: { every: 2, questions: 4 },
    checkpoint_every: 3,
    micro_batch_size: 4,
    sample_groups: 1,
    seed: 5,
  }
  return demoTrainerJob(dir, start, config, { train: 40, validation: 6 })
}

async function train(j: TrainerJob): Promise<{ events: TrainerEvent[]; result: Awaited<ReturnType<Trainer['run']>> }> {
  const events: TrainerEvent[] = []
  const trainer = await Trainer.create(j, (event) => events.push(event))
  const result = await trainer.run(() => false)
  trainer.dispose()
  return { events, result }
}

const steps = (events: TrainerEvent[]): Extract<TrainerEvent, { type: 'step' }>[] =>
  events.filter((e): e is Extract<TrainerEvent, { type: 'step' }> => e.type === 'step')

const COMMON_KEYS = [
  'critic/score/mean',
  'critic/score/max',
  'critic/score/min',
  'critic/score/zero_std_frac',
  'critic/advantages/mean',
  'response_length/mean',
  'response_length/clip_ratio',
  'actor/pg_loss',
  'actor/kl_loss',
  'actor/entropy',
  'actor/grad_norm',
  'actor/lr',
  'actor/pg_clipfrac',
  'timing_s/gen',
  'timing_s/reward',
  'timing_s/old_log_prob',
  'timing_s/ref',
  'timing_s/update_actor',
  'timing_s/step',
  'perf/throughput',
  'perf/total_num_tokens',
  'perf/max_memory_allocated_gb',
]

describe.each(rewardModeIds())('a %s run on a tiny model', (mode) => {
  it('trains 3 steps, streaming metrics, rollouts and a checkpoint', async () => {
    const dir = folder()
    writeTinyCheckpoint(join(dir, 'base'))
    const { events, result } = await train(job(mode, 3, join(dir, 'run'), join(dir, 'base')))
    expect(result).toMatchObject({ status: 'finished', steps: 3 })
    const stepEvents = steps(events)
    expect(stepEvents.map((e) => e.step)).toEqual([0, 1, 2, 3])
    expect(Object.keys(stepEvents[0]!.metrics)).toContain('val-core/demo-arithmetic/reward/mean@1')
    for (const event of stepEvents.slice(1)) {
      for (const key of COMMON_KEYS) expect(event.metrics[key], `${mode} step ${event.step} ${key}`).toEqual(expect.any(Number))
      expect(event.metrics['response_length/mean']).toBeLessThanOrEqual(9)
      // The step's time covers its phases (validation is timed apart, as timing_s/testing).
      const phases = ['gen', 'gen_aug', 'gen_ref', 'reward', 'old_log_prob', 'ref', 'update_actor']
      const phaseSum = phases.reduce((sum, p) => sum + (event.metrics[`timing_s/${p}`] ?? 0), 0)
      expect(event.metrics['timing_s/step']!).toBeGreaterThanOrEqual(phaseSum)
      expect(event.samples.filter((s) => s.view === 'original')).toHaveLength(4)
    }
    expect(stepEvents[2]!.metrics['val-core/demo-arithmetic/reward/mean@1']).toEqual(expect.any(Number))
    const binary = mode !== 'self_certainty' && mode !== 'entropy'
    for (const sample of stepEvents[1]!.samples) if (binary && sample.reward !== null) expect([0, 1]).toContain(sample.reward)
    if (mode === 'co_rewarding_i') {
      expect(stepEvents[1]!.metrics['critic/score_aug/mean']).toEqual(expect.any(Number))
      expect(stepEvents[1]!.metrics['actor/pg_loss_aug']).toEqual(expect.any(Number))
      expect(stepEvents[1]!.samples.some((s) => s.view === 'paraphrase')).toBe(true)
    }
    if (mode === 'co_rewarding_ii') {
      expect(stepEvents[1]!.metrics['timing_s/gen_ref']).toEqual(expect.any(Number))
      expect(stepEvents[1]!.samples.filter((s) => s.view === 'teacher').every((s) => s.reward === null)).toBe(true)
    }
    if (mode !== 'ground_truth' && mode !== 'self_certainty' && mode !== 'entropy') {
      expect(stepEvents[1]!.metrics['coreward/pseudo_acc']).toEqual(expect.any(Number))
      for (const event of stepEvents.slice(1)) {
        const tieRate = event.metrics['coreward/tie_rate']
        expect(tieRate, `${mode} step ${event.step} coreward/tie_rate`).toBeGreaterThanOrEqual(0)
        expect(tieRate).toBeLessThanOrEqual(1)
      }
    } else {
      expect(stepEvents[1]!.metrics['coreward/tie_rate']).toBeUndefined()
    }
    const checkpoint = events.find((e) => e.type === 'checkpoint')
    expect(checkpoint).toMatchObject({ step: 3 })
    expect(existsSync(join(dir, 'run/checkpoints/step-3/optimizer.safetensors'))).toBe(true)
    expect(existsSync(join(dir, 'run/checkpoints/step-3/teacher.safetensors'))).toBe(mode === 'co_rewarding_ii')
  })

  it('resumed after 3 steps, reproduces 6 uninterrupted steps (metrics within 1e-6)', async () => {
    const dir = folder()
    writeTinyCheckpoint(join(dir, 'base'))
    const straight = steps((await train(job(mode, 6, join(dir, 'straight'), join(dir, 'base')))).events)
    const first = job(mode, 6, join(dir, 'split'), join(dir, 'base'))
    const events: TrainerEvent[] = []
    const trainer = await Trainer.create(first, (e) => events.push(e))
    await trainer.run(() => trainer.currentStep >= 3)
    trainer.dispose()
    const resumed = await train({ ...first, resumeFrom: join(dir, 'split/checkpoints/step-3') })
    const split = [...steps(events), ...steps(resumed.events)]
    expect(split.map((e) => e.step)).toEqual([0, 1, 2, 3, 4, 5, 6])
    for (const [i, event] of split.entries()) {
      for (const [key, value] of Object.entries(straight[i]!.metrics)) {
        if (key.startsWith('timing_s/') || key.startsWith('perf/')) continue
        expect(event.metrics[key], `step ${event.step} ${key}`).toBeCloseTo(value, 6)
      }
    }
  })
})

describe.each(['ground_truth', 'co_rewarding_ii'])('a %s run with rollouts on onnxruntime', (mode) => {
  it('samples the same rollouts as tfjs for the same seed (the KV-cached graph fed the current weights)', async () => {
    const dir = folder()
    writeTinyCheckpoint(join(dir, 'base'))
    const run = async (engine: 'onnx' | 'tfjs') => {
      const j = job(mode, 3, join(dir, engine), join(dir, 'base'))
      // A large learning rate and a fast teacher move the weights far at each step: rollouts from stale weights would differ.
      const ema = { ...emaConfig(j.config), alpha_start: 0.5, alpha_end: 0.5 }
      return steps((await train({ ...j, config: { ...j.config, rollout_engine: engine, learning_rate: 0.05, ema } })).events)
    }
    const [onnx, tfjs] = [await run('onnx'), await run('tfjs')]
    for (const step of [1, 2, 3]) {
      const texts = (events: typeof onnx) => events[step]!.samples.map((s) => `${s.view}:${s.text}`)
      expect(texts(onnx).length).toBeGreaterThan(0)
      expect(texts(onnx), `step ${step}`).toEqual(texts(tfjs))
      expect(onnx[step]!.metrics['critic/score/mean']).toBeCloseTo(tfjs[step]!.metrics['critic/score/mean']!, 6)
    }
  })
})

describe.each(['onnx', 'tfjs'] as const)('a run at temperature 0.7 with the update on %s', (engine) => {
  it('is on-policy at the first update: the PPO ratio is 1, so nothing is clipped', async () => {
    const dir = folder()
    writeTinyCheckpoint(join(dir, 'base'))
    const j = job('ground_truth', 1, join(dir, 'run'), join(dir, 'base'))
    const config = { ...j.config, temperature: 0.7, mini_batches: 1, update_engine: engine, logprob_engine: engine }
    const [, first] = steps((await train({ ...j, config })).events)
    expect(first!.metrics['actor/pg_clipfrac']).toBe(0)
    expect(first!.metrics['actor/entropy']).toBeGreaterThan(0)
  })
})

describe('a training question over max_prompt_tokens', () => {
  it('fails before any step, naming the record as the Datasets view numbers it', async () => {
    const dir = folder()
    writeTinyCheckpoint(join(dir, 'base'))
    const base = job('ground_truth', 1, join(dir, 'run'), join(dir, 'base'))
    const long = `${base.train[1]!.question} ${'and then some more apples '.repeat(20)}`
    const named = { ...base.train[1]!, name: 'record 2 of dataset "demo" (id 2501)', question: long }
    const j = { ...base, train: [base.train[0]!, named, ...base.train.slice(2)] }
    await expect(train(j)).rejects.toThrow(
      /^training record 2 of dataset "demo" \(id 2501\): the prompt is \d+ tokens, over max_prompt_tokens 48/,
    )
  })
})
