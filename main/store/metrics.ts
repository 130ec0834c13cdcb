// A run's metrics: one value per (run, key, step), with the step's wall time and token count. NaN is stored as
// NULL (read back as null); ±Infinity is stored as is.
import type { Db } from './database'
import { prepared } from './sql'
import { median } from './stall'

/** One metric's points, steps ascending; null is a NaN the trainer logged. */
export type MetricSeries = Record<string, [number, number | null][]>

/** A metric value in JSON, which has no NaN or infinities: NaN (stored NULL) is null, infinities are strings. */
export type JsonMetricValue = number | 'Infinity' | '-Infinity' | null

export const metricToJson = (value: number | null): JsonMetricValue =>
  value === null || Number.isFinite(value) ? value : value > 0 ? 'Infinity' : '-Infinity'

/** Reads metricToJson's encoding back; anything else is NaN (null). */
export const metricFromJson = (value: unknown): number | null =>
  value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : typeof value === 'number' ? value : null

/** The held-out accuracy keys as a LIKE pattern: `val-core/<source>/reward/mean@1`, one per benchmark. */
export const HELD_OUT_KEYS_LIKE = 'val-core/%/reward/mean@1'
/** The training score: the reward the run's own reward mode gave (the self-reward). */
export const SELF_REWARD_KEY = 'critic/score/mean'
/** How often Co-rewarding's pseudo-labels matched the ground truth. */
export const PSEUDO_ACC_KEY = 'coreward/pseudo_acc'

export interface MetricPoint {
  step: number
  key: string
  /** NaN is stored as NULL. */
  value: number
  /** Seconds since the run started. */
  wallTime: number
  /** Tokens processed so far in the run. */
  tokens: number
}

/** Writes one metric value of a step, replacing the value (and the step's wall time and tokens) already there. */
export function writeMetric(db: Db, runId: number, point: MetricPoint): void {
  prepared(
    db,
    `INSERT INTO metrics (run_id, step, key, value, wall_time, tokens) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, wall_time = excluded.wall_time, tokens = excluded.tokens`,
  ).run(runId, point.step, point.key, Number.isNaN(point.value) ? null : point.value, point.wallTime, point.tokens)
}

/** Each metric's [step, value] points, steps ascending: all the run's keys when none are given; an unknown key maps to []. */
export function metricSeries(db: Db, runId: number, keys?: string[]): MetricSeries {
  const series = new Map<string, [number, number | null][]>(keys?.map((key) => [key, []]))
  const rows = (
    keys === undefined
      ? prepared(db, 'SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY key, step').all(runId)
      : prepared(
          db,
          'SELECT key, step, value FROM metrics WHERE run_id = ? AND key IN (SELECT value FROM json_each(?)) ORDER BY key, step',
        ).all(runId, JSON.stringify(keys))
  ) as { key: string; step: number; value: number | null }[]
  for (const row of rows) {
    let points = series.get(row.key)
    if (!points) series.set(row.key, (points = []))
    points.push([row.step, row.value])
  }
  return Object.fromEntries(series)
}

/** The metric keys a run has logged, sorted. */
export function metricKeys(db: Db, runId: number): string[] {
  return (prepared(db, 'SELECT DISTINCT key FROM metrics WHERE run_id = ? ORDER BY key').all(runId) as { key: string }[]).map(
    (row) => row.key,
  )
}

/** The highest step with a metric, or undefined before the first one. */
export function lastStep(db: Db, runId: number): number | undefined {
  return (
    (prepared(db, 'SELECT MAX(step) AS step FROM metrics WHERE run_id = ?').get(runId) as { step: number | null }).step ??
    undefined
  )
}

/** Every metric logged at one step of a run, by key. */
export function metricsAtStep(db: Db, runId: number, step: number): { key: string; value: number | null }[] {
  return prepared(db, 'SELECT key, value FROM metrics WHERE run_id = ? AND step = ? ORDER BY key').all(runId, step) as {
    key: string
    value: number | null
  }[]
}

/** What the checkpoint table shows of a step: the held-out accuracy, the self-reward and the pseudo-label accuracy. */
export interface CheckpointMetrics {
  heldOut: number | null
  selfReward: number | null
  pseudoAcc: number | null
}

/** Held-out accuracy (mean over the val-core sources), self-reward and pseudo-label accuracy at each step. */
export function metricsAtSteps(db: Db, runId: number, steps: readonly number[]): Map<number, CheckpointMetrics> {
  const rows = prepared(
    db,
    `SELECT step,
            AVG(CASE WHEN key LIKE '${HELD_OUT_KEYS_LIKE}' THEN value END) AS heldOut,
            MAX(CASE WHEN key = '${SELF_REWARD_KEY}' THEN value END) AS selfReward,
            MAX(CASE WHEN key = '${PSEUDO_ACC_KEY}' THEN value END) AS pseudoAcc
     FROM metrics
     WHERE run_id = ? AND step IN (SELECT value FROM json_each(?))
       AND (key LIKE '${HELD_OUT_KEYS_LIKE}' OR key IN ('${SELF_REWARD_KEY}', '${PSEUDO_ACC_KEY}'))
     GROUP BY step`,
  ).all(runId, JSON.stringify(steps)) as ({ step: number } & CheckpointMetrics)[]
  return new Map(rows.map(({ step, ...metrics }) => [step, metrics]))
}

/**
 * The median seconds per step of each run: from the trainer's `timing_s/step` metric, or (runs that do not log
 * it, like some imports) from the wall-time differences between logged steps. Runs without steps are left out.
 */
export function medianStepSeconds(db: Db, runIds: readonly number[]): Map<number, number> {
  const durations = new Map<number, number[]>()
  const timed = prepared(
    db,
    `SELECT run_id AS run, value FROM metrics
     WHERE run_id IN (SELECT value FROM json_each(?)) AND key = 'timing_s/step' AND value IS NOT NULL`,
  ).all(JSON.stringify(runIds)) as { run: number; value: number }[]
  for (const row of timed) {
    let list = durations.get(row.run)
    if (!list) durations.set(row.run, (list = []))
    list.push(row.value)
  }
  const walls = prepared(db, 'SELECT step, MAX(wall_time) AS wall FROM metrics WHERE run_id = ? GROUP BY step ORDER BY step')
  for (const run of runIds) {
    if (durations.has(run)) continue
    const points = walls.all(run) as { step: number; wall: number }[]
    const list: number[] = []
    for (let i = 1; i < points.length; i++) {
      const [a, b] = [points[i - 1]!, points[i]!]
      if (b.wall > a.wall) list.push((b.wall - a.wall) / (b.step - a.step))
    }
    if (list.length > 0) durations.set(run, list)
  }
  return new Map([...durations].map(([run, list]) => [run, median(list)!]))
}

/** The last logged value of every metric key of a run, with its step: an index seek per key, not a scan of the run. */
export function latestMetrics(db: Db, runId: number): { key: string; step: number; value: number | null }[] {
  return prepared(
    db,
    `WITH RECURSIVE keys(key) AS (
       SELECT (SELECT MIN(key) FROM metrics WHERE run_id = @run)
       UNION ALL
       SELECT (SELECT MIN(key) FROM metrics WHERE run_id = @run AND key > keys.key) FROM keys WHERE keys.key IS NOT NULL
     )
     SELECT keys.key, m.step, m.value FROM keys
     JOIN metrics m ON m.run_id = @run AND m.key = keys.key
       AND m.step = (SELECT MAX(step) FROM metrics WHERE run_id = @run AND key = keys.key)
     ORDER BY keys.key`,
  ).all({ run: runId }) as { key: string; step: number; value: number | null }[]
}

/** Tokens per second over the last `window` steps (from the cumulative tokens and wall time), or null before two steps. */
export function tokensPerSecond(db: Db, runId: number, window = 10): number | null {
  const points = prepared(
    db,
    `SELECT step, MAX(tokens) AS tokens, MAX(wall_time) AS wall FROM metrics
     WHERE run_id = @run AND step >= (SELECT MAX(step) FROM metrics WHERE run_id = @run) - @window
     GROUP BY step ORDER BY step`,
  ).all({ run: runId, window }) as { step: number; tokens: number; wall: number }[]
  const [first, last] = [points[0], points.at(-1)]
  if (!first || !last || last.wall <= first.wall) return null
  return (last.tokens - first.tokens) / (last.wall - first.wall)
}
