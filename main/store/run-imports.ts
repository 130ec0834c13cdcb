// Runs that come from elsewhere: run bundles (a run of another workstation, written and read back row for row)
// and the logs of runs trained on verl or TRL, which a run remembers as sources and reads again as they grow.
import type { Db } from './database'
import { prepared } from './sql'

// ---- run bundles --------------------------------------------------------------------------------------------

/** A metric row of a bundle: [step, key, value (null: NaN), wall time, tokens]. */
export type BundledMetric = [number, string, number | null, number, number]

/** A run's rows as a bundle carries them: metrics by step and key, samples and events in the order they were added. */
export function runRowsForBundle(
  db: Db,
  runId: number,
): { metrics: BundledMetric[]; samples: Record<string, unknown>[]; events: Record<string, unknown>[] } {
  const metrics = prepared(
    db,
    'SELECT step, key, value, wall_time AS wall, tokens FROM metrics WHERE run_id = ? ORDER BY step, key',
  ).all(runId) as { step: number; key: string; value: number | null; wall: number; tokens: number }[]
  const samples = prepared(
    db,
    `SELECT step, group_index AS groupIndex, view, prompt, text, answer, pseudo_label AS pseudoLabel, reward, advantage, gt
     FROM samples WHERE run_id = ? ORDER BY id`,
  ).all(runId) as Record<string, unknown>[]
  const events = prepared(db, 'SELECT time, level, kind, step, message, data FROM events WHERE run_id = ? ORDER BY id').all(
    runId,
  ) as Record<string, unknown>[]
  return { metrics: metrics.map((m) => [m.step, m.key, m.value, m.wall, m.tokens]), samples, events }
}

export interface BundledRun {
  name: string
  mode: string
  config: object
  status: string
  seed: number
  datasetId: number | null
  origin: string
  notes: string
  tags: string[]
  environment: object
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

/**
 * Stores a bundled run under a new id with its rows as the bundle carries them (see runRowsForBundle); call it inside
 * the caller's transaction, which adds the checkpoints once their folders are known. Returns the run's id.
 */
export function insertBundledRun(
  db: Db,
  run: BundledRun,
  rows: { metrics: BundledMetric[]; samples: Record<string, unknown>[]; events: Record<string, unknown>[] },
): number {
  const id = Number(
    prepared(
      db,
      `INSERT INTO runs (name, mode, config, status, seed, dataset_id, origin, notes, tags, environment, created_at, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      run.name,
      run.mode,
      JSON.stringify(run.config),
      run.status,
      run.seed,
      run.datasetId,
      run.origin,
      run.notes,
      JSON.stringify(run.tags),
      JSON.stringify(run.environment),
      run.createdAt,
      run.startedAt,
      run.finishedAt,
    ).lastInsertRowid,
  )
  const metric = prepared(db, 'INSERT INTO metrics (run_id, step, key, value, wall_time, tokens) VALUES (?, ?, ?, ?, ?, ?)')
  for (const [step, key, value, wall, tokens] of rows.metrics) metric.run(id, step, key, value, wall, tokens)
  const sample = prepared(
    db,
    `INSERT INTO samples (run_id, step, group_index, view, prompt, text, answer, pseudo_label, reward, advantage, gt)
     VALUES (@run, @step, @groupIndex, @view, @prompt, @text, @answer, @pseudoLabel, @reward, @advantage, @gt)`,
  )
  for (const s of rows.samples) sample.run({ run: id, gt: null, ...s }) // bundles from before migration 6 have no gt
  const event = prepared(
    db,
    'INSERT INTO events (run_id, time, level, kind, step, message, data) VALUES (@run, @time, @level, @kind, @step, @message, @data)',
  )
  for (const e of rows.events) event.run({ run: id, ...e })
  return id
}

/** Records a bundled run's checkpoints at their folders in this workspace. */
export function insertBundledCheckpoints(
  db: Db,
  runId: number,
  checkpoints: { step: number; path: string; tags: string[] }[],
): void {
  const checkpoint = prepared(db, 'INSERT INTO checkpoints (run_id, step, path, tags) VALUES (?, ?, ?, ?)')
  for (const c of checkpoints) checkpoint.run(runId, c.step, c.path, JSON.stringify(c.tags))
}

// ---- runs imported from logs --------------------------------------------------------------------------------

/** The runs not trained here whose environment mentions `path` (candidates for the run that has it as a source). */
export function importedRunsMentioning(db: Db, path: string): number[] {
  return prepared(db, `SELECT id FROM runs WHERE origin <> 'local' AND environment LIKE ?`, { pluck: true }).all(
    `%${JSON.stringify(path).slice(1, -1)}%`,
  ) as number[]
}

/** The steps a run has stored a metric or a sample of. */
export function storedSteps(db: Db, runId: number): Set<number> {
  return new Set(
    (prepared(db, 'SELECT DISTINCT step FROM metrics WHERE run_id = ?', { pluck: true }).all(runId) as number[]).concat(
      prepared(db, 'SELECT DISTINCT step FROM samples WHERE run_id = ?', { pluck: true }).all(runId) as number[],
    ),
  )
}

/** Seconds since the start and tokens so far at a run's last stored step before `step` (0 before the first). */
export function clockBefore(db: Db, runId: number, step: number): { wall: number; tokens: number } {
  const row = prepared(db, 'SELECT MAX(wall_time) AS wall, MAX(tokens) AS tokens FROM metrics WHERE run_id = ? AND step < ?').get(
    runId,
    step,
  ) as { wall: number | null; tokens: number | null }
  return { wall: row.wall ?? 0, tokens: row.tokens ?? 0 }
}

/** Deletes the metrics a log gave a step (those the workbench computed, `rescore/...`, stay). */
export function clearLoggedMetrics(db: Db, runId: number, step: number): void {
  prepared(db, `DELETE FROM metrics WHERE run_id = ? AND step = ? AND key NOT LIKE 'rescore/%'`).run(runId, step)
}
