// The demo task as a dataset of the store, "demo-arithmetic": what a new workspace starts with.
import { DEMO_DATASET_NAME } from '../../../preload/constants'
import type { Db } from '../../store/database'
import { findDataset } from '../../store/datasets'
import { writeTransaction } from '../../store/sql'
import { checkedRecords, createDataset } from '../datasets'
import { DEMO_TASK_DEFAULTS, generateDemoTask } from './generator'
import type { DemoTaskOptions } from './generator'

export { DEMO_DATASET_NAME }

/**
 * Stores the demo task as the dataset "demo-arithmetic" unless it is there already; returns its id.
 * `options` only matter the first time (the shipped sizes and seed by default).
 */
export function ensureDemoDataset(db: Db, options: Partial<DemoTaskOptions> = {}): number {
  const existing = findDataset(db, DEMO_DATASET_NAME)
  if (existing !== undefined) return existing.id
  const task = generateDemoTask({ ...DEMO_TASK_DEFAULTS, ...options })
  // Checked before the write lock is taken: a second process opening the new workspace (two `cwb train` on a new
  // folder) waits only for the inserts, not for 12,500 checks, which under load outlasted its busy timeout.
  const records = checkedRecords(
    task.records.map((record) => ({
      question: record.question,
      answer: record.answer,
      split: record.split,
      source: { type: record.type, steps: record.steps, family: record.family, solution: record.solution },
      paraphrases: record.paraphrases.map((paraphrase) => ({
        text: paraphrase.text,
        origin: 'template' as const,
        status: 'accepted' as const,
        checks: { family: paraphrase.family },
      })),
    })),
  )
  // Another process may have stored it while the task was being generated: check again under the write lock.
  return writeTransaction(
    db,
    (): number =>
      findDataset(db, DEMO_DATASET_NAME)?.id ??
      createDataset(db, {
        name: DEMO_DATASET_NAME,
        description:
          'Synthetic grade-school word problems (1 to 3 steps) with worked solutions; each question is paraphrased in every other scenario of its problem type.',
        source: { generator: 'demo', ...task.options },
        records,
      }).id,
  )
}
