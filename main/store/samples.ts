// A run's samples: the rollouts of a step (each view of each group), with their answers, rewards and advantages.
import { SAMPLE_VIEWS } from '../../preload/constants'
import type { Db } from './database'
import { prepared } from './sql'
import { checkChoice, checkInteger } from './values'

export type SampleView = (typeof SAMPLE_VIEWS)[number]

export interface SampleRow {
  recordId?: number | null
  groupIndex: number
  view: SampleView
  prompt: string
  text: string
  answer: string
  pseudoLabel?: string | null
  reward?: number | null
  advantage?: number | null
  /** The ground truth, for a rollout without a record (an imported dump); a record's answer is read from the record. */
  gt?: string | null
}

export interface StoredSample extends Required<SampleRow> {
  id: number
  step: number
}

/** Refuses a sample SQLite would store wrongly or refuse less clearly; `what` names it in the message. */
export function checkSample(sample: SampleRow, what: string): void {
  checkInteger(sample.groupIndex, `${what}: groupIndex`)
  checkChoice(sample.view, SAMPLE_VIEWS, `${what}: view`)
  for (const field of ['prompt', 'text', 'answer'] as const) {
    if (typeof sample[field] !== 'string')
      throw new Error(`${what}: ${field} must be text, got ${JSON.stringify(sample[field])}.`)
  }
}

/** Deletes the samples of one step of a run. */
export function clearStepSamples(db: Db, runId: number, step: number): void {
  prepared(db, 'DELETE FROM samples WHERE run_id = ? AND step = ?').run(runId, step)
}

/** Adds one sample to a step of a run (checked by the caller with checkSample). */
export function insertSample(db: Db, runId: number, step: number, s: SampleRow): void {
  prepared(
    db,
    `INSERT INTO samples (run_id, step, record_id, group_index, view, prompt, text, answer, pseudo_label, reward, advantage, gt)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    runId,
    step,
    s.recordId ?? null,
    s.groupIndex,
    s.view,
    s.prompt,
    s.text,
    s.answer,
    s.pseudoLabel ?? null,
    s.reward ?? null,
    s.advantage ?? null,
    s.gt ?? null,
  )
}

/** The samples stored for one step of a run, in the order they were written. */
export function stepSamples(db: Db, runId: number, step: number): StoredSample[] {
  return prepared(
    db,
    `SELECT id, step, record_id AS recordId, group_index AS groupIndex, view, prompt, text, answer,
            pseudo_label AS pseudoLabel, reward, advantage, gt
     FROM samples WHERE run_id = ? AND step = ? ORDER BY id`,
  ).all(runId, step) as StoredSample[]
}
