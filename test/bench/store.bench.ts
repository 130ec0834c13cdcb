// Writing a training step to the run store (64 rollouts + 60 metrics, one transaction, with the upsert and
// sample replacement that resume needs) against a baseline measured in the same run: plain inserts of the
// same rows through prepared statements in one transaction.
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createRun } from '../../main/store/runs'
import { recordStep } from '../../main/store/steps'
import { Store } from '../../main/store/store'
import { tempDir } from '../helpers/workspace'
import { median } from './table'

it('recordStep against plain inserts', () => {
  const { dir, remove } = tempDir()
  const store = new Store(join(dir, 'workbench.db'))
  const run = createRun(store.db, { name: 'bench', mode: 'ground_truth', config: {}, seed: 1 })
  const metrics = Object.fromEntries(Array.from({ length: 60 }, (_, k) => [`metric/${k}`, k / 7]))
  const samples = Array.from({ length: 64 }, (_, i) => ({
    groupIndex: i % 8,
    view: 'original' as const,
    prompt: 'Tom has 3 apples and buys 5 more. How many apples does he have?',
    text: `3 + 5 = 8. The answer is \\boxed{8}. (${i})`,
    answer: '8',
    pseudoLabel: '8',
    reward: 1,
    advantage: 0.5,
  }))
  const insertMetric = store.db.prepare(
    'INSERT INTO metrics (run_id, step, key, value, wall_time, tokens) VALUES (?, ?, ?, ?, ?, ?)',
  )
  const insertSample = store.db.prepare(
    'INSERT INTO samples (run_id, step, group_index, view, prompt, text, answer, pseudo_label, reward, advantage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const plain = store.db.transaction((step: number) => {
    for (const [key, value] of Object.entries(metrics)) insertMetric.run(run, step, key, value, step, step)
    for (const s of samples)
      insertSample.run(run, step, s.groupIndex, s.view, s.prompt, s.text, s.answer, s.pseudoLabel, s.reward, s.advantage)
  })
  const time = (work: (step: number) => void, offset: number): number =>
    median(
      Array.from({ length: 200 }, (_, i) => {
        const started = performance.now()
        work(offset + i)
        return performance.now() - started
      }),
    )
  const baseline = time(plain, 100_000)
  const ours = time((step) => recordStep(store.db, run, { step, wallTime: step, tokens: step, metrics, samples }), 1)
  console.log(
    `\nStore: one training step (64 samples + 60 metrics): recordStep ${ours.toFixed(2)} ms, plain inserts ${baseline.toFixed(2)} ms (${(ours / baseline).toFixed(2)}x the baseline's time), median of 200\n`,
  )
  store.close()
  remove()
  expect(ours).toBeGreaterThan(0)
})
