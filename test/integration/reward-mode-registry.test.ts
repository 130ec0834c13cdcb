// Adding a reward mode is its module plus one registry line: a mode registered in memory (here one that rewards
// short responses) is offered by `cwb train --print-config`, the run-config JSON Schema and the launch form, the UI
// gets its label and colour, the store keeps its runs, and the trainer trains it with no other change.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { trainCommand } from '../../main/cli/commands/train'
import { DEMO_TASK_DEFAULTS, generateDemoTask } from '../../main/data/demo'
import { useBackend } from '../../main/engine/backend'
import { registerRewardMode } from '../../main/engine/rewards'
import type { RewardMode } from '../../main/engine/rewards/shared/types'
import { defaultRunConfig, parseRunConfig, runConfigJsonSchema, RunConfig } from '../../main/engine/run-config'
import { Trainer, type TrainerEvent } from '../../main/engine/trainer/trainer'
import { createRun } from '../../main/store/runs'
import { hostOnWorkspace } from '../helpers/host'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { cleanupsAfterEach, freshDirs } from '../helpers/workspace'

const shortest: RewardMode = {
  id: 'shortest',
  label: 'Shortest response',
  description: 'Each rollout is rewarded for a short response.',
  colour: '#0c8599',
  klCoef: 0.02,
  binary: false,
  extraViews: [],
  needsTokenStats: false,
  usesGroundTruth: false,
  score: (groups) => groups.map(({ views }) => ({ original: { rewards: views.original.map((r) => -r.text.length) } })),
}

const cleanups = cleanupsAfterEach()
const folder = freshDirs()
let unregister: () => void

beforeAll(() => {
  unregister = registerRewardMode(shortest)
})
afterAll(() => unregister())

describe('a reward mode added to the registry', () => {
  it('is offered by cwb train --print-config, with the defaults it declares', () => {
    const printConfig = trainCommand().options.find((option) => option.long === '--print-config')
    expect(printConfig?.argChoices).toContain('shortest')
    expect(defaultRunConfig('shortest')).toMatchObject({ name: 'demo-shortest', mode: 'shortest', kl: { coef: 0.02 } })
    expect(defaultRunConfig('shortest')).not.toHaveProperty('ema')
    expect(() => parseRunConfig({ name: 'x', mode: 'shortest', ema: {} }, 'run.json')).toThrow(
      /^run\.json: ema: only co_rewarding_ii has an EMA teacher/,
    )
    expect(() => parseRunConfig({ name: 'x', mode: 'longest' }, 'run.json')).toThrow(/^run\.json: mode: .*"shortest"/)
  })

  it('is a choice of the run-config JSON Schema', () => {
    const schema = runConfigJsonSchema() as { properties: { mode: { enum: string[] } } }
    expect(schema.properties.mode.enum.at(-1)).toBe('shortest')
  })

  it('is offered by the launch form, shown by its label and colour, and its runs are stored', async () => {
    const { call, store } = hostOnWorkspace(cleanups, { demo: true })
    const form = await call('runs.form', {})
    expect((form.schema as { properties: { mode: { enum: string[] } } }).properties.mode.enum).toContain('shortest')
    expect(form.defaults.shortest).toMatchObject({ mode: 'shortest', kl: { coef: 0.02 } })
    expect((await call('runs.validate', { config: { name: 'short', mode: 'shortest' } })).issues).toEqual([])
    expect((await call('app.info', {})).modes.at(-1)).toEqual({
      id: 'shortest',
      label: 'Shortest response',
      description: 'Each rollout is rewarded for a short response.',
      colour: '#0c8599',
      extraViews: [],
      usesGroundTruth: false,
    })
    createRun(store.db, { name: 'short', mode: 'shortest', config: defaultRunConfig('shortest'), seed: 1 })
    expect((await call('runs.list', {})).map((run) => run.mode)).toEqual(['shortest'])
  })

  it('trains: the trainer asks the mode what it needs, never its name', async () => {
    await useBackend('wasm')
    const dir = folder()
    writeTinyCheckpoint(join(dir, 'base'))
    const task = generateDemoTask({ ...DEMO_TASK_DEFAULTS, train: 8, validation: 2, test: 0 })
    const events: TrainerEvent[] = []
    const trainer = await Trainer.create(
      {
        config: RunConfig.parse({
          name: 'short',
          mode: 'shortest',
          steps: 2,
          batch_size: 2,
          rollouts: 4,
          max_response_tokens: 8,
          validation: { every: 2, questions: 2 },
          checkpoint_every: 2,
        }),
        runDir: join(dir, 'run'),
        startCheckpoint: join(dir, 'base'),
        train: task.records
          .filter((r) => r.split === 'train')
          .map((r, i) => ({ id: i + 1, question: r.question, answer: r.answer, paraphrases: [] })),
        validation: task.records.filter((r) => r.split === 'validation').map((r) => ({ question: r.question, answer: r.answer })),
        validationSource: 'demo-arithmetic',
      },
      (event) => events.push(event),
    )
    expect(await trainer.run(() => false)).toMatchObject({ status: 'finished', steps: 2 })
    trainer.dispose()
    const last = events.filter((e): e is Extract<TrainerEvent, { type: 'step' }> => e.type === 'step').at(-1)!
    expect(last.metrics['critic/score/mean']).toBeLessThan(0)
    expect(last.metrics['actor/kl_loss']).toEqual(expect.any(Number))
  })
})
