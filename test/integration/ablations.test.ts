// The paper's ablations on a tiny model, in-process, 2 steps each: majority voting on the rephrased questions only
// (question_view "paraphrase"), Co-rewarding-I with each view scored by its own vote (cross_view false), and
// Co-rewarding-II with a frozen teacher (ema.enabled false). The streamed rollouts show what each one did.
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { majorityVote } from '../../main/engine/answers/vote'
import { useBackend } from '../../main/engine/backend'
import { readSafetensors, toFloat32 } from '../../main/engine/checkpoint/safetensors'
import { Trainer, type SampleEvent, type TrainerEvent, type TrainerJob } from '../../main/engine/trainer/trainer'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { demoTrainerJob } from '../helpers/trainer-job'
import { hostOnWorkspace } from '../helpers/host'
import { cleanupsAfterEach, freshDirs } from '../helpers/workspace'

const folder = freshDirs()
const cleanups = cleanupsAfterEach()

beforeAll(async () => {
  await useBackend('wasm')
})

function job(dir: string, overrides: Record<string, unknown>): TrainerJob {
  const config = {
    name: 'ablation',
    mode: 'majority_voting',
    steps: 2,
    batch_size: 3,
    rollouts: 4,
    max_response_tokens: 8,
    learning_rate: 1e-3,
    validation: { every: 2, questions: 4 },
    checkpoint_every: 2,
    micro_batch_size: 4,
    sample_groups: 3,
    seed: 5,
    // The untrained tiny model writes numbers but rarely a box: its last number is an answer to vote on.
    extractor: 'last-number' as const,
    ...overrides,
  }
  writeTinyCheckpoint(join(dir, 'base'))
  return demoTrainerJob(join(dir, 'run'), join(dir, 'base'), config, { train: 40, validation: 6 })
}

type StepEvent = Extract<TrainerEvent, { type: 'step' }>

async function train(j: TrainerJob): Promise<StepEvent[]> {
  const events: TrainerEvent[] = []
  const trainer = await Trainer.create(j, (event) => events.push(event))
  const result = await trainer.run(() => false)
  trainer.dispose()
  expect(result).toMatchObject({ status: 'finished', steps: 2 })
  return events.filter((e): e is StepEvent => e.type === 'step' && e.step > 0)
}

/** A step's samples of one view, group by group. */
function groupsOf(event: StepEvent, view: SampleEvent['view']): SampleEvent[][] {
  const groups: SampleEvent[][] = []
  for (const sample of event.samples.filter((s) => s.view === view)) (groups[sample.groupIndex] ??= []).push(sample)
  return groups
}

describe('question_view "paraphrase" (majority voting on the rephrased questions only)', () => {
  it('rolls out and votes on the paraphrase Co-rewarding-I would draw, never the original question', async () => {
    const onParaphrases = await train(job(folder(), { question_view: 'paraphrase' }))
    const original = await train(job(folder(), {}))
    const coI = await train(job(folder(), { mode: 'co_rewarding_i' }))
    for (const [s, event] of onParaphrases.entries()) {
      expect(event.metrics['coreward/pseudo_acc']).toEqual(expect.any(Number))
      const groups = groupsOf(event, 'original')
      expect(groups).toHaveLength(3)
      groups.forEach((group, q) => {
        const prompt = group[0]!.prompt
        // The same questions as the run on the originals and Co-rewarding-I's, each asked in its paraphrase.
        expect(prompt).not.toBe(groupsOf(original[s]!, 'original')[q]![0]!.prompt)
        expect(prompt).toBe(groupsOf(coI[s]!, 'paraphrase')[q]![0]!.prompt)
        expect(group[0]!.recordId).toBe(groupsOf(original[s]!, 'original')[q]![0]!.recordId)
        // Voted on its own rollouts, as majority voting does.
        const label = majorityVote(group.map((sample) => sample.answer)).label
        for (const sample of group) {
          expect(sample.pseudoLabel).toBe(label)
          expect(sample.reward).toBe(label !== '' && sample.answer === label ? 1 : 0)
        }
      })
      expect(event.samples.some((sample) => sample.reward === 1)).toBe(true)
    }
  })

  it('refuses to start when a training question has no accepted paraphrase', async () => {
    const j = job(folder(), { question_view: 'paraphrase' })
    j.train[1] = { ...j.train[1]!, name: 'record 2 of dataset "demo"', paraphrases: [] }
    await expect(Trainer.create(j, () => {})).rejects.toThrow(
      /question_view "paraphrase" trains on rephrased questions only, but 1 of 40 training questions have no accepted paraphrase \(record 2 of dataset "demo"\)/,
    )
  })
})

describe('cross_view false (Co-rewarding-I, each view rewarded by its own majority)', () => {
  it("scores each view against its own vote; the default scores it against the other view's", async () => {
    const own = await train(job(folder(), { mode: 'co_rewarding_i', cross_view: false }))
    const cross = await train(job(folder(), { mode: 'co_rewarding_i' }))
    // The first step's rollouts come from the same starting policy, so only the scoring differs.
    const texts = (event: StepEvent) => event.samples.map((s) => `${s.view}:${s.text}`)
    expect(texts(own[0]!)).toEqual(texts(cross[0]!))
    for (const [event, crossed] of [
      [own[0]!, false],
      [cross[0]!, true],
    ] as const) {
      const original = groupsOf(event, 'original')
      const paraphrase = groupsOf(event, 'paraphrase')
      original.forEach((group, q) => {
        const pairs: [SampleEvent[], SampleEvent[]][] = [
          [group, crossed ? paraphrase[q]! : group],
          [paraphrase[q]!, crossed ? group : paraphrase[q]!],
        ]
        for (const [view, voters] of pairs) {
          const label = majorityVote(voters.map((sample) => sample.answer)).label
          for (const sample of view) {
            expect(sample.pseudoLabel).toBe(label)
            expect(sample.reward).toBe(label !== '' && sample.answer === label ? 1 : 0)
          }
        }
      })
    }
    const rewards = (event: StepEvent) => event.samples.filter((s) => s.reward !== null).map((s) => s.reward)
    expect(rewards(own[0]!)).not.toEqual(rewards(cross[0]!))
    expect(own[1]!.metrics['critic/score_aug/mean']).toEqual(expect.any(Number))
  })
})

describe('ema.enabled false (Co-rewarding-II with a frozen teacher)', () => {
  it('keeps the teacher at the starting weights while the policy moves', async () => {
    const dir = folder()
    const steps = await train(job(dir, { mode: 'co_rewarding_ii', ema: { enabled: false } }))
    expect(steps[1]!.samples.some((s) => s.view === 'teacher')).toBe(true)
    const base = readSafetensors(join(dir, 'base/model.safetensors')).tensors
    const teacher = readSafetensors(join(dir, 'run/checkpoints/step-2/teacher.safetensors')).tensors
    const policy = readSafetensors(join(dir, 'run/checkpoints/step-2/model.safetensors')).tensors
    const names = Object.keys(base)
    expect(names.length).toBeGreaterThan(0)
    for (const name of names) expect(toFloat32(teacher[name]!), name).toEqual(toFloat32(base[name]!))
    expect(names.some((name) => toFloat32(policy[name]!).some((v, i) => v !== toFloat32(base[name]!)[i]))).toBe(true)
  })
})

describe('launching question_view "paraphrase"', () => {
  it('is refused when a training question has no accepted paraphrase, naming it', async () => {
    const { call } = hostOnWorkspace(cleanups, { demo: true })
    const config = { name: 'mv-para', mode: 'majority_voting', dataset: 'demo-arithmetic', question_view: 'paraphrase' }
    expect((await call('runs.validate', { config })).issues).toEqual([])
    const [demo] = await call('datasets.list', {})
    const { rows } = await call('datasets.records', { dataset: demo!.id, filter: { split: 'train' }, limit: 1 })
    const filter = { split: 'train', search: rows[0]!.question }
    await call('paraphrases.bulkStatus', { dataset: demo!.id, filter, status: 'rejected', onlyPending: false })
    const refused = await call('runs.validate', { config })
    expect(refused.config).toBeNull()
    expect(refused.issues).toEqual([
      {
        path: 'question_view',
        message: expect.stringMatching(
          /^"paraphrase" trains on rephrased questions only, but \d+ of \d+ questions in split "train" have no accepted paraphrase \(record \d+ of dataset "demo-arithmetic" \(id \d+\).*\); accept a paraphrase for each, or use "original"$/,
        ),
      },
    ])
  })
})
