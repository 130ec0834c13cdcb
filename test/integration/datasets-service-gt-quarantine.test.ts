// GT quarantine (issue 6.6): a dataset's answers are kept, but they reach a training reward only in ground_truth
// mode. Every other mode trains exactly the same with the training answers blanked: the same rewards, advantages
// and losses step by step (only the audit metrics, which compare pseudo labels with the GT, see them). Validation
// is scored against the validation split's answers in every mode, as the method's held-out accuracy is.
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEMO_TASK_DEFAULTS, generateDemoTask } from '../../main/data/demo'
import { useBackend } from '../../main/engine/backend'
import { rewardModeIds } from '../../main/engine/rewards'
import { RunConfig } from '../../main/engine/run-config'
import { Trainer, type TrainerEvent, type TrainerJob } from '../../main/engine/trainer/trainer'
import { root } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()
const task = generateDemoTask({ ...DEMO_TASK_DEFAULTS, train: 12, validation: 4, test: 0 })

beforeAll(async () => {
  await useBackend('wasm')
})

type Answers = (answer: string) => string | null

function job(mode: string, dir: string, answers: Answers): TrainerJob {
  return {
    config: RunConfig.parse({
      name: `quarantine-${mode}`,
      mode,
      steps: 2,
      batch_size: 2,
      rollouts: 4,
      max_response_tokens: 24,
      learning_rate: 1e-3,
      validation: { every: 2, questions: 4 },
      checkpoint_every: 10,
      micro_batch_size: 4,
      sample_groups: 2,
      seed: 3,
    }),
    runDir: join(dir, 'run'),
    // The shipped base model answers demo problems, so votes and rewards are not all empty.
    startCheckpoint: join(root, 'resources', 'base-model'),
    train: task.records
      .filter((r) => r.split === 'train')
      .map((r, i) => ({
        id: i + 1,
        question: r.question,
        answer: answers(r.answer),
        paraphrases: r.paraphrases.map((p) => p.text),
      })),
    validation: task.records.filter((r) => r.split === 'validation').map((r) => ({ question: r.question, answer: r.answer })),
    validationSource: 'demo-arithmetic',
  }
}

/** Each step's metrics (without timings and the GT audit) and its rollouts' rewards and advantages. */
async function trainWith(mode: string, answers: Answers) {
  const dir = folder()
  const events: TrainerEvent[] = []
  const trainer = await Trainer.create(job(mode, dir, answers), (event) => events.push(event))
  await trainer.run(() => false)
  trainer.dispose()
  return events
    .filter((e): e is Extract<TrainerEvent, { type: 'step' }> => e.type === 'step')
    .map((e) => ({
      metrics: Object.fromEntries(Object.entries(e.metrics).filter(([key]) => !/^(timing_s|perf|coreward)\//.test(key))),
      samples: e.samples.map((s) => [s.view, s.text, s.reward, s.advantage]),
    }))
}

describe('GT quarantine', () => {
  it.each(rewardModeIds().filter((mode) => mode !== 'ground_truth'))(
    '%s trains the same with the training answers blanked',
    async (mode) => {
      const labelled = await trainWith(mode, (answer) => answer)
      const blanked = await trainWith(mode, () => null)
      expect(labelled.length).toBe(3)
      expect(labelled.some((step) => step.samples.some(([, , reward]) => reward !== 0))).toBe(true)
      expect(blanked).toEqual(labelled)
    },
  )

  it('ground_truth is the mode the answers train: wrong answers change its rewards', async () => {
    const right = await trainWith('ground_truth', (answer) => answer)
    const wrong = await trainWith('ground_truth', (answer) => `${answer}0`)
    expect(wrong[1]!.metrics['critic/score/mean']).not.toBe(right[1]!.metrics['critic/score/mean'])
  })
})
