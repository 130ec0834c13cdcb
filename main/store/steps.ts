// A training step across the tables it fills: written whole (its metrics and samples in one transaction, so
// readers see a step whole or not at all), and discarded from a step on when a run resumes from a checkpoint.
import type { Db } from './database'
import { writeMetric } from './metrics'
import { requireRun } from './runs'
import { checkSample, clearStepSamples, insertSample } from './samples'
import type { SampleRow } from './samples'
import { prepared, writeTransaction } from './sql'
import { checkInteger } from './values'

export interface StepRecord {
  step: number
  /** Seconds since the run started. */
  wallTime: number
  /** Tokens processed so far in the run. */
  tokens: number
  /** NaN is stored as NULL (read back as null); ±Infinity is stored as is. */
  metrics: Record<string, number>
  /** When given, replaces all samples of this step (an empty list clears them); when left out, they stay. */
  samples?: SampleRow[]
}

/** Writes one training step in one transaction: upserts its metrics and, when samples are given, replaces its samples. */
export function recordStep(db: Db, runId: number, record: StepRecord): void {
  const at = `Step ${record.step} of run ${runId}`
  checkInteger(record.step, `The step of run ${runId}`)
  checkInteger(record.tokens, `${at}: tokens`)
  if (!Number.isFinite(record.wallTime) || record.wallTime < 0) {
    throw new Error(`${at}: wallTime must be the seconds since the run started, got ${JSON.stringify(record.wallTime)}.`)
  }
  const metrics = Object.entries(record.metrics)
  for (const [key, value] of metrics) {
    if (key === '') throw new Error(`${at}: a metric has an empty key; name every metric.`)
    if (typeof value !== 'number') throw new Error(`${at}: metric "${key}" must be a number, got ${JSON.stringify(value)}.`)
  }
  record.samples?.forEach((sample, i) => checkSample(sample, `${at}, sample ${i + 1}`))
  writeTransaction(db, () => {
    requireRun(db, runId)
    for (const [key, value] of metrics) {
      writeMetric(db, runId, { step: record.step, key, value, wallTime: record.wallTime, tokens: record.tokens })
    }
    if (record.samples === undefined) return
    clearStepSamples(db, runId, record.step)
    for (const sample of record.samples) insertSample(db, runId, record.step, sample)
  })
}

/**
 * Deletes the metrics, samples and step-tagged events at `step` and later, so a run resumed from the checkpoint
 * of step-1 writes those steps afresh; returns how many rows of each went. Checkpoints stay (addCheckpoint replaces them).
 */
export function discardFromStep(db: Db, runId: number, step: number): { metrics: number; samples: number; events: number } {
  checkInteger(step, `The step to discard from in run ${runId}`)
  return writeTransaction(db, () => {
    requireRun(db, runId)
    return {
      metrics: prepared(db, 'DELETE FROM metrics WHERE run_id = ? AND step >= ?').run(runId, step).changes,
      samples: prepared(db, 'DELETE FROM samples WHERE run_id = ? AND step >= ?').run(runId, step).changes,
      events: prepared(db, 'DELETE FROM events WHERE run_id = ? AND step >= ?').run(runId, step).changes,
    }
  })
}
