// The reads behind the Compare view and the rollout viewer (main/services/analysis.ts). Every query goes through
// an index: metrics by (run, key, step), samples by (run, step), events by run.
import type { RolloutSample } from '../../preload/contract'
import type { Db } from './database'
import type { SampleView } from './samples'
import { prepared } from './sql'
import { parseObject } from './values'

/** A run as Compare groups and labels it. */
export interface ComparedRun {
  id: number
  name: string
  mode: string
  origin: string
  config: Record<string, unknown>
}

export type MetricRow = { key: string; step: number; value: number | null }
type Point = { step: number; value: number | null }

// Every val-core/... key sorts between these two ('0' follows '/'), so the range walks the primary key.
const VAL_CORE_RANGE = `key >= 'val-core/' AND key < 'val-core0'`
const METRIC_COLUMNS = { step: 'step', value: 'value', tokens: 'tokens', wall: 'wall_time' } as const
const VIEW_ORDER = `CASE s.view WHEN 'original' THEN 0 WHEN 'paraphrase' THEN 1 ELSE 2 END`

/** The runs of `ids` that exist, in no particular order. */
export function comparedRuns(db: Db, ids: readonly number[]): ComparedRun[] {
  const rows = prepared(db, `SELECT id, name, mode, origin, config FROM runs WHERE id IN (SELECT value FROM json_each(?))`).all(
    JSON.stringify(ids),
  ) as (Omit<ComparedRun, 'config'> & { config: string })[]
  return rows.map((row) => ({ ...row, config: parseObject(row.config) }))
}

/**
 * One column of a run's metric, steps ascending. One column per query (pluck): building a small array per row costs
 * more than the read itself. Read the columns of one chart inside a readTransaction, so they come from one snapshot.
 */
export function metricColumn(db: Db, runId: number, key: string, column: keyof typeof METRIC_COLUMNS): unknown[] {
  return prepared(db, `SELECT ${METRIC_COLUMNS[column]} FROM metrics WHERE run_id = ? AND key = ? ORDER BY step`, {
    pluck: true,
  }).all(runId, key)
}

/** The metric keys logged by any of the runs, sorted, with how many of the runs logged each. */
export function metricKeyCounts(db: Db, runIds: readonly number[]): { key: string; runs: number }[] {
  // A skip-scan over the primary key: one index seek per (run, key) instead of a pass over every point.
  return prepared(
    db,
    `WITH RECURSIVE chosen(run) AS (SELECT DISTINCT value FROM json_each(?)),
     found(run, key) AS (
       SELECT run, (SELECT MIN(key) FROM metrics WHERE run_id = chosen.run) FROM chosen
       UNION ALL
       SELECT run, (SELECT MIN(key) FROM metrics WHERE run_id = found.run AND key > found.key) FROM found WHERE key IS NOT NULL
     )
     SELECT key, COUNT(*) AS runs FROM found WHERE key IS NOT NULL GROUP BY key ORDER BY key`,
  ).all(JSON.stringify(runIds)) as { key: string; runs: number }[]
}

/** The collapse alerts stored for the runs, by run and then in the order they were raised. */
export function runAlerts(
  db: Db,
  runIds: readonly number[],
): { run: number; step: number | null; message: string; data: Record<string, unknown> }[] {
  const rows = prepared(
    db,
    `SELECT run_id AS run, step, message, data FROM events
     WHERE run_id IN (SELECT value FROM json_each(?)) AND kind = 'alert' ORDER BY run_id, id`,
  ).all(JSON.stringify(runIds)) as { run: number; step: number | null; message: string; data: string }[]
  return rows.map((row) => ({ ...row, data: parseObject(row.data) }))
}

/** A run's points of the given keys and of every held-out (val-core/...) key: what the collapse rules read. */
export function collapseMetricRows(db: Db, runId: number, keys: readonly string[]): MetricRow[] {
  return prepared(
    db,
    `SELECT key, step, value FROM metrics WHERE run_id = @run AND key IN (SELECT value FROM json_each(@keys))
     UNION ALL SELECT key, step, value FROM metrics WHERE run_id = @run AND ${VAL_CORE_RANGE}`,
  ).all({ run: runId, keys: JSON.stringify(keys) }) as MetricRow[]
}

/** A run's held-out (val-core/...) points, by key and step. */
export function heldOutRows(db: Db, runId: number): MetricRow[] {
  return prepared(db, `SELECT key, step, value FROM metrics WHERE run_id = ? AND ${VAL_CORE_RANGE} ORDER BY key, step`).all(
    runId,
  ) as MetricRow[]
}

/** A metric's best finite value (the lowest when `lowest`, else the highest; ties: the earlier step). */
export function bestMetric(db: Db, runId: number, key: string, lowest: boolean): Point | undefined {
  return prepared(
    db,
    `SELECT step, value FROM metrics WHERE run_id = ? AND key = ? AND abs(value) <= 1.7976931348623157e308
     ORDER BY value ${lowest ? 'ASC' : 'DESC'}, step LIMIT 1`,
  ).get(runId, key) as Point | undefined
}

/** A metric's value at its last step, or at the last step up to `atStep` when given. */
export function lastMetric(db: Db, runId: number, key: string, atStep?: number): Point | undefined {
  return (
    atStep === undefined
      ? prepared(db, 'SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step DESC LIMIT 1').get(runId, key)
      : prepared(db, 'SELECT step, value FROM metrics WHERE run_id = ? AND key = ? AND step <= ? ORDER BY step DESC LIMIT 1').get(
          runId,
          key,
          atStep,
        )
  ) as Point | undefined
}

/** The steps of a run with stored samples, ascending. */
export function sampledSteps(db: Db, runId: number): number[] {
  // A skip-scan over samples_by_run_step: one seek per stored step, not one per sample.
  return (
    prepared(
      db,
      `WITH RECURSIVE stored(step) AS (
         SELECT MIN(step) FROM samples WHERE run_id = @run
         UNION ALL
         SELECT (SELECT MIN(step) FROM samples WHERE run_id = @run AND step > stored.step) FROM stored WHERE step IS NOT NULL
       )
       SELECT step FROM stored WHERE step IS NOT NULL`,
    ).all({ run: runId }) as { step: number }[]
  ).map((row) => row.step)
}

/** A rollout with its group and its record's question and ground truth (or the sample's own, for an imported one). */
export type RolloutRow = RolloutSample & {
  record: number | null
  groupIndex: number
  question: string | null
  gt: string | null
}

/** The samples of a step of a run, by group, then view (original, paraphrase, teacher), then as written. */
export function rolloutRows(db: Db, runId: number, step: number): RolloutRow[] {
  return prepared(
    db,
    `SELECT s.id, s.record_id AS record, s.group_index AS groupIndex, s.view, s.prompt, s.text, s.answer,
            s.pseudo_label AS pseudoLabel, s.reward, s.advantage, r.question, COALESCE(r.answer, s.gt) AS gt
     FROM samples s LEFT JOIN records r ON r.id = s.record_id
     WHERE s.run_id = ? AND s.step = ? ORDER BY s.group_index, ${VIEW_ORDER}, s.id`,
  ).all(runId, step) as RolloutRow[]
}

/** A run's answers on the original and paraphrase views, in the order they were written. */
export function viewAnswers(
  db: Db,
  runId: number,
): { step: number; recordId: number | null; groupIndex: number; view: SampleView; answer: string }[] {
  return prepared(
    db,
    `SELECT step, record_id AS recordId, group_index AS groupIndex, view, answer FROM samples
     WHERE run_id = ? AND view IN ('original', 'paraphrase') ORDER BY step, id`,
  ).all(runId) as { step: number; recordId: number | null; groupIndex: number; view: SampleView; answer: string }[]
}

/** The records a run has samples of, with their question and answer. */
export function sampledRecords(db: Db, runId: number): { id: number; question: string; answer: string | null }[] {
  return prepared(
    db,
    `SELECT id, question, answer FROM records WHERE id IN (SELECT DISTINCT record_id FROM samples WHERE run_id = ?)`,
  ).all(runId) as { id: number; question: string; answer: string | null }[]
}
