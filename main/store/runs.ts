// Training runs in the run store: what a trainer writes while it runs (status, heartbeat, metrics, samples,
// checkpoints, events) and what the CLI and the UI read back. Every write is one immediate transaction, so
// readers in other processes (WAL) see a step whole or not at all.
import { hostname } from 'node:os'
import type Database from 'better-sqlite3'
import { REWARD_MODES, RUN_PHASES, RUN_STATUSES, type RunSummary } from '../../preload/contract'
import type { Db } from './database'

export type RewardMode = (typeof REWARD_MODES)[number]
export type RunStatus = (typeof RUN_STATUSES)[number]
export type RunPhase = (typeof RUN_PHASES)[number]

export const RUN_ORIGINS = ['local', 'verl', 'trl', 'imported'] as const
export type RunOrigin = (typeof RUN_ORIGINS)[number]

export const SAMPLE_VIEWS = ['original', 'paraphrase', 'teacher'] as const
export type SampleView = (typeof SAMPLE_VIEWS)[number]

export const EVENT_LEVELS = ['debug', 'info', 'warning', 'error'] as const
export type EventLevel = (typeof EVENT_LEVELS)[number]

export const EVENT_KINDS = ['log', 'alert', 'status'] as const
export type EventKind = (typeof EVENT_KINDS)[number]

/** A run on another host counts as interrupted once its last heartbeat is older than this; trainers beat far more often. */
export const HEARTBEAT_TIMEOUT_MS = 2 * 60 * 1000

const LIVE_STATUSES: readonly RunStatus[] = ['queued', 'running', 'stopping']
const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`

export interface NewRun {
  name: string
  mode: RewardMode
  /** The full training configuration, stored as JSON. */
  config: object
  seed: number
  datasetId?: number | null
  parentCheckpointId?: number | null
  origin?: RunOrigin
  environment?: object
}

export interface Run {
  id: number
  name: string
  mode: RewardMode
  config: Record<string, unknown>
  status: RunStatus
  backend: string | null
  seed: number
  datasetId: number | null
  parentCheckpointId: number | null
  origin: RunOrigin
  notes: string
  tags: string[]
  environment: Record<string, unknown>
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  trainerPid: number | null
  trainerHost: string | null
  heartbeatAt: string | null
  stopRequested: boolean
  /** What the trainer reported doing last (null when no trainer runs). */
  phase: RunPhase | null
  /** When the trainer last reported a phase or a step. */
  activityAt: string | null
  /** A queued run that resumes from its latest checkpoint rather than starting afresh. */
  resume: boolean
  /** When the run joined the queue: the scheduler starts the oldest first. */
  queuedAt: string | null
}

export interface RunUpdate {
  status: RunStatus
  backend: string | null
  trainerPid: number | null
  trainerHost: string | null
  /** ISO 8601 times, as `new Date().toISOString()` writes them. */
  startedAt: string | null
  finishedAt: string | null
  environment: object
  notes: string
  name: string
  tags: string[]
  /** A trainer that resumes a stopped run clears the old request with false. */
  stopRequested: boolean
  phase: RunPhase | null
  activityAt: string | null
  resume: boolean
  queuedAt: string | null
}

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

export interface RunCheckpoint {
  id: number
  runId: number
  step: number
  path: string
  tags: string[]
  createdAt: string
}

export interface NewEvent {
  level: EventLevel
  kind: EventKind
  step?: number | null
  message: string
  data?: object
}

export interface RunEvent {
  id: number
  runId: number | null
  time: string
  level: EventLevel
  kind: EventKind
  step: number | null
  message: string
  data: Record<string, unknown>
}

/** One metric's points, steps ascending; null is a NaN the trainer logged. */
export type MetricSeries = Record<string, [number, number | null][]>

/** A metric value in JSON, which has no NaN or infinities: NaN (stored NULL) is null, infinities are strings. */
export type JsonMetricValue = number | 'Infinity' | '-Infinity' | null

export const metricToJson = (value: number | null): JsonMetricValue =>
  value === null || Number.isFinite(value) ? value : value > 0 ? 'Infinity' : '-Infinity'

/** Reads metricToJson's encoding back; anything else is NaN (null). */
export const metricFromJson = (value: unknown): number | null =>
  value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : typeof value === 'number' ? value : null

// Statements are prepared once per connection: recordStep runs every training step.
const statements = new WeakMap<Db, Map<string, Database.Statement>>()

function prepared(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db)
  if (!cache) statements.set(db, (cache = new Map()))
  let statement = cache.get(sql)
  if (!statement) cache.set(sql, (statement = db.prepare(sql)))
  return statement
}

const parseObject = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>
const parseTags = (text: string): string[] => JSON.parse(text) as string[]

function checkChoice<T extends string>(value: unknown, choices: readonly T[], what: string): asserts value is T {
  if (!choices.includes(value as T)) {
    throw new Error(`${what} ${JSON.stringify(value)} is not one of ${choices.join(', ')}; use one of them.`)
  }
}

function checkInteger(value: unknown, what: string, min = 0): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new Error(`${what} must be a whole number of at least ${min}, got ${JSON.stringify(value)}.`)
  }
}

function checkObject(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} must be a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}.`)
  }
}

function checkTags(value: unknown, what: string): asserts value is string[] {
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string' && tag.trim() !== '')) {
    throw new Error(`${what} must be a list of non-empty words, got ${JSON.stringify(value)}.`)
  }
}

const RUN_COLUMNS = `id, name, mode, config, status, backend, seed, dataset_id AS datasetId,
  parent_checkpoint_id AS parentCheckpointId, origin, notes, tags, environment, created_at AS createdAt,
  started_at AS startedAt, finished_at AS finishedAt, trainer_pid AS trainerPid, trainer_host AS trainerHost,
  heartbeat_at AS heartbeatAt, stop_requested AS stopRequested, phase, activity_at AS activityAt, resume,
  queued_at AS queuedAt`

type RunRow = Omit<Run, 'config' | 'tags' | 'environment' | 'stopRequested' | 'resume'> & {
  config: string
  tags: string
  environment: string
  stopRequested: number
  resume: number
}

const parseRun = (row: RunRow): Run => ({
  ...row,
  config: parseObject(row.config),
  tags: parseTags(row.tags),
  environment: parseObject(row.environment),
  stopRequested: row.stopRequested === 1,
  resume: row.resume === 1,
})

function requireRun(db: Db, id: number): Run {
  const run = getRun(db, id)
  if (!run) throw new Error(`No run with id ${id} in this workspace; \`cwb runs\` lists the runs.`)
  return run
}

/** Stores a new run (status queued) and returns its id. */
export function createRun(db: Db, run: NewRun): number {
  const name = typeof run.name === 'string' ? run.name.trim() : ''
  if (name === '') throw new Error('A run needs a name; pass a non-empty name.')
  checkChoice(run.mode, REWARD_MODES, 'Reward mode')
  checkChoice(run.origin ?? 'local', RUN_ORIGINS, 'Run origin')
  checkObject(run.config, 'The run config')
  if (run.environment !== undefined) checkObject(run.environment, 'The run environment')
  checkInteger(run.seed, 'The run seed')
  const insert = prepared(
    db,
    `INSERT INTO runs (name, mode, config, seed, dataset_id, parent_checkpoint_id, origin, environment)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const write = db.transaction((): number =>
    Number(
      insert.run(
        name,
        run.mode,
        JSON.stringify(run.config),
        run.seed,
        run.datasetId ?? null,
        run.parentCheckpointId ?? null,
        run.origin ?? 'local',
        JSON.stringify(run.environment ?? {}),
      ).lastInsertRowid,
    ),
  )
  return write.immediate()
}

const UPDATE_COLUMNS: Record<keyof RunUpdate, string> = {
  status: 'status',
  backend: 'backend',
  trainerPid: 'trainer_pid',
  trainerHost: 'trainer_host',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  environment: 'environment',
  notes: 'notes',
  name: 'name',
  tags: 'tags',
  stopRequested: 'stop_requested',
  phase: 'phase',
  activityAt: 'activity_at',
  resume: 'resume',
  queuedAt: 'queued_at',
}

function columnValue(field: keyof RunUpdate, value: unknown): string | number | null {
  switch (field) {
    case 'status':
      checkChoice(value, RUN_STATUSES, 'Run status')
      return value
    case 'name': {
      const name = typeof value === 'string' ? value.trim() : ''
      if (name === '') throw new Error('A run needs a name; pass a non-empty name.')
      return name
    }
    case 'trainerPid':
      if (value !== null) checkInteger(value, 'The trainer pid', 1)
      return value as number | null
    case 'environment':
      checkObject(value, 'The run environment')
      return JSON.stringify(value)
    case 'tags':
      checkTags(value, 'Run tags')
      return JSON.stringify(value)
    case 'stopRequested':
    case 'resume':
      return value ? 1 : 0
    case 'phase':
      if (value !== null) checkChoice(value, RUN_PHASES, 'Run phase')
      return value as RunPhase | null
    default:
      return value as string | null
  }
}

/** Changes the given fields of a run (others stay) and returns the run as stored. */
export function updateRun(db: Db, id: number, fields: Partial<RunUpdate>): Run {
  const given = (Object.keys(UPDATE_COLUMNS) as (keyof RunUpdate)[]).filter((field) => fields[field] !== undefined)
  const values: Record<string, string | number | null> = { id }
  for (const field of given) values[field] = columnValue(field, fields[field])
  const write = db.transaction((): Run => {
    requireRun(db, id)
    if (given.length > 0) {
      const sets = given.map((field) => `${UPDATE_COLUMNS[field]} = @${field}`).join(', ')
      prepared(db, `UPDATE runs SET ${sets} WHERE id = @id`).run(values)
    }
    return requireRun(db, id)
  })
  return write.immediate()
}

/** A run by id, or by name (the newest run of that name); a string of digits is tried as an id first. */
export function getRun(db: Db, idOrName: string | number): Run | undefined {
  const byId = (id: number): RunRow | undefined =>
    prepared(db, `SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id) as RunRow | undefined
  let row: RunRow | undefined
  if (typeof idOrName === 'number') row = byId(idOrName)
  else {
    if (/^\d+$/.test(idOrName)) row = byId(Number(idOrName))
    row ??= prepared(db, `SELECT ${RUN_COLUMNS} FROM runs WHERE name = ? ORDER BY id DESC LIMIT 1`).get(idOrName) as
      RunRow | undefined
  }
  return row && parseRun(row)
}

/** Records that the run's trainer is alive now; call it every few seconds while training. */
export function heartbeat(db: Db, id: number): void {
  if (prepared(db, `UPDATE runs SET heartbeat_at = ${now} WHERE id = ?`).run(id).changes === 0) requireRun(db, id)
}

/**
 * Marks runs left running or stopping by a trainer that is gone as interrupted, with a status event saying why,
 * and returns their ids. On this host `isAlive(pid, host)` decides; a run of another host (or one with no
 * trainer process recorded) is gone once its last heartbeat is older than HEARTBEAT_TIMEOUT_MS.
 */
export function markInterruptedRuns(
  db: Db,
  isAlive: (pid: number, host: string) => boolean,
  options: { host?: string; now?: number } = {},
): number[] {
  const thisHost = options.host ?? hostname()
  const at = options.now ?? Date.now()
  const select = prepared(
    db,
    `SELECT id, status, trainer_pid AS pid, trainer_host AS host, COALESCE(heartbeat_at, started_at, created_at) AS lastSign
     FROM runs WHERE status IN ('running', 'stopping') ORDER BY id`,
  )
  const interrupt = prepared(db, `UPDATE runs SET status = 'interrupted', phase = NULL WHERE id = ?`)
  const write = db.transaction((): number[] => {
    const interrupted: number[] = []
    const live = select.all() as { id: number; status: RunStatus; pid: number | null; host: string | null; lastSign: string }[]
    for (const run of live) {
      let why: string | undefined
      if (run.pid !== null && run.host === thisHost) {
        if (!isAlive(run.pid, run.host)) why = `its trainer (process ${run.pid} on ${run.host}) is no longer running`
      } else if (at - Date.parse(run.lastSign) > HEARTBEAT_TIMEOUT_MS) {
        why = `no heartbeat from its trainer${run.host ? ` on ${run.host}` : ''} since ${run.lastSign}`
      }
      if (why === undefined) continue
      interrupt.run(run.id)
      addEvent(db, run.id, {
        level: 'warning',
        kind: 'status',
        message: `Run interrupted while ${run.status}: ${why}. Resume it from its last checkpoint.`,
        data: { previousStatus: run.status, trainerPid: run.pid, trainerHost: run.host, lastSign: run.lastSign },
      })
      interrupted.push(run.id)
    }
    return interrupted
  })
  return write.immediate()
}

/**
 * Asks the run's trainer to stop after its current step (a running run becomes stopping) and returns the run's
 * status; a run that has already ended is refused, naming its status.
 */
export function requestStop(db: Db, id: number): RunStatus {
  const write = db.transaction((): RunStatus => {
    const run = requireRun(db, id)
    if (!LIVE_STATUSES.includes(run.status)) {
      throw new Error(`Run ${id} ("${run.name}") is already ${run.status}; there is nothing to stop.`)
    }
    if (run.stopRequested) return run.status
    const status = run.status === 'running' ? 'stopping' : run.status
    prepared(db, 'UPDATE runs SET stop_requested = 1, status = ? WHERE id = ?').run(status, id)
    addEvent(db, id, { level: 'info', kind: 'status', message: 'Stop requested: the trainer stops after its current step.' })
    return status
  })
  return write.immediate()
}

/** Whether a stop was requested; also true when the run no longer exists (deleted under its trainer). */
export function stopRequested(db: Db, id: number): boolean {
  const row = prepared(db, 'SELECT stop_requested AS stop FROM runs WHERE id = ?').get(id) as { stop: number } | undefined
  return row === undefined || row.stop === 1
}

function checkSample(sample: SampleRow, what: string): void {
  checkInteger(sample.groupIndex, `${what}: groupIndex`)
  checkChoice(sample.view, SAMPLE_VIEWS, `${what}: view`)
  for (const field of ['prompt', 'text', 'answer'] as const) {
    if (typeof sample[field] !== 'string')
      throw new Error(`${what}: ${field} must be text, got ${JSON.stringify(sample[field])}.`)
  }
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
  const upsert = prepared(
    db,
    `INSERT INTO metrics (run_id, step, key, value, wall_time, tokens) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, wall_time = excluded.wall_time, tokens = excluded.tokens`,
  )
  const clearSamples = prepared(db, 'DELETE FROM samples WHERE run_id = ? AND step = ?')
  const insertSample = prepared(
    db,
    `INSERT INTO samples (run_id, step, record_id, group_index, view, prompt, text, answer, pseudo_label, reward, advantage, gt)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const write = db.transaction(() => {
    requireRun(db, runId)
    for (const [key, value] of metrics) {
      upsert.run(runId, record.step, key, Number.isNaN(value) ? null : value, record.wallTime, record.tokens)
    }
    if (record.samples === undefined) return
    clearSamples.run(runId, record.step)
    for (const s of record.samples) {
      insertSample.run(
        runId,
        record.step,
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
  })
  write.immediate()
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

/**
 * Deletes the metrics, samples and step-tagged events at `step` and later, so a run resumed from the checkpoint
 * of step-1 writes those steps afresh; returns how many rows of each went. Checkpoints stay (addCheckpoint replaces them).
 */
export function discardFromStep(db: Db, runId: number, step: number): { metrics: number; samples: number; events: number } {
  checkInteger(step, `The step to discard from in run ${runId}`)
  const write = db.transaction(() => {
    requireRun(db, runId)
    return {
      metrics: prepared(db, 'DELETE FROM metrics WHERE run_id = ? AND step >= ?').run(runId, step).changes,
      samples: prepared(db, 'DELETE FROM samples WHERE run_id = ? AND step >= ?').run(runId, step).changes,
      events: prepared(db, 'DELETE FROM events WHERE run_id = ? AND step >= ?').run(runId, step).changes,
    }
  })
  return write.immediate()
}

/** Records the checkpoint folder of a run's step (replacing the path and tags of one already at that step); returns its id. */
export function addCheckpoint(db: Db, runId: number, step: number, path: string, tags: string[] = []): number {
  checkInteger(step, `The checkpoint step of run ${runId}`)
  checkTags(tags, 'Checkpoint tags')
  if (typeof path !== 'string' || path.trim() === '')
    throw new Error(`The checkpoint of run ${runId} at step ${step} needs a folder path.`)
  const upsert = prepared(
    db,
    `INSERT INTO checkpoints (run_id, step, path, tags) VALUES (?, ?, ?, ?)
     ON CONFLICT (run_id, step) DO UPDATE SET path = excluded.path, tags = excluded.tags, created_at = ${now}
     RETURNING id`,
  )
  const write = db.transaction((): number => {
    requireRun(db, runId)
    return (upsert.get(runId, step, path, JSON.stringify(tags)) as { id: number }).id
  })
  return write.immediate()
}

/** Adds and removes tags of a checkpoint (by checkpoint id) and returns its tags, in the order they were first added. */
export function tagCheckpoint(db: Db, checkpointId: number, add: string[], remove: string[] = []): string[] {
  checkTags(add, 'Tags to add')
  checkTags(remove, 'Tags to remove')
  const write = db.transaction((): string[] => {
    const row = prepared(db, 'SELECT tags FROM checkpoints WHERE id = ?').get(checkpointId) as { tags: string } | undefined
    if (!row) throw new Error(`No checkpoint with id ${checkpointId} in this workspace; \`cwb runs\` lists the runs.`)
    const tags = [...new Set([...parseTags(row.tags), ...add])].filter((tag) => !remove.includes(tag))
    prepared(db, 'UPDATE checkpoints SET tags = ? WHERE id = ?').run(JSON.stringify(tags), checkpointId)
    return tags
  })
  return write.immediate()
}

/** A run's checkpoints, steps ascending. */
export function listRunCheckpoints(db: Db, runId: number): RunCheckpoint[] {
  const rows = prepared(
    db,
    `SELECT id, run_id AS runId, step, path, tags, created_at AS createdAt FROM checkpoints WHERE run_id = ? ORDER BY step`,
  ).all(runId) as (Omit<RunCheckpoint, 'tags'> & { tags: string })[]
  return rows.map((row) => ({ ...row, tags: parseTags(row.tags) }))
}

/** Adds a log line, alert or status change to a run (null: to the workspace) and returns the event's id. */
export function addEvent(db: Db, runId: number | null, event: NewEvent): number {
  checkChoice(event.level, EVENT_LEVELS, 'Event level')
  checkChoice(event.kind, EVENT_KINDS, 'Event kind')
  if (event.step !== undefined && event.step !== null) checkInteger(event.step, 'The event step')
  if (event.data !== undefined) checkObject(event.data, 'Event data')
  const insert = prepared(db, 'INSERT INTO events (run_id, level, kind, step, message, data) VALUES (?, ?, ?, ?, ?, ?)')
  const write = db.transaction((): number =>
    Number(
      insert.run(runId, event.level, event.kind, event.step ?? null, event.message, JSON.stringify(event.data ?? {}))
        .lastInsertRowid,
    ),
  )
  return write.immediate()
}

/** A run's events in the order they were added: only `kinds` when given, only those after `afterId` (to follow a log), at most `limit`. */
export function runEvents(
  db: Db,
  runId: number | null,
  options: { kinds?: EventKind[]; afterId?: number; limit?: number } = {},
): RunEvent[] {
  const rows = prepared(
    db,
    `SELECT id, run_id AS runId, time, level, kind, step, message, data FROM events
     WHERE run_id IS @run AND id > @after AND (@kinds IS NULL OR kind IN (SELECT value FROM json_each(@kinds)))
     ORDER BY id LIMIT @limit`,
  ).all({
    run: runId,
    after: options.afterId ?? 0,
    kinds: options.kinds ? JSON.stringify(options.kinds) : null,
    limit: options.limit ?? -1,
  }) as (Omit<RunEvent, 'data'> & { data: string })[]
  return rows.map((row) => ({ ...row, data: parseObject(row.data) }))
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

/**
 * Takes a queued run for a trainer of this host (it becomes running, phase starting); false when it is no longer
 * queued, so two schedulers (or the CLI and the app) never start the same run twice.
 */
export function claimQueuedRun(db: Db, id: number, host: string = hostname()): boolean {
  const claim = prepared(
    db,
    `UPDATE runs SET status = 'running', phase = 'starting', activity_at = ${now}, started_at = ${now}, finished_at = NULL,
       trainer_host = ?, trainer_pid = NULL, stop_requested = 0
     WHERE id = ? AND status = 'queued'`,
  )
  return claim.run(host, id).changes === 1
}

/** Records that the trainer reported progress now: a new phase when given, else a step. */
export function recordActivity(db: Db, id: number, phase?: RunPhase): void {
  if (phase === undefined) prepared(db, `UPDATE runs SET activity_at = ${now} WHERE id = ?`).run(id)
  else {
    checkChoice(phase, RUN_PHASES, 'Run phase')
    prepared(db, `UPDATE runs SET phase = ?, activity_at = ${now} WHERE id = ?`).run(phase, id)
  }
}

/** The queued runs, oldest in the queue first: the order the scheduler starts them in. */
export function queuedRuns(db: Db): number[] {
  return (
    prepared(db, `SELECT id FROM runs WHERE status = 'queued' ORDER BY COALESCE(queued_at, created_at), id`).all() as {
      id: number
    }[]
  ).map((row) => row.id)
}

/** Runs with a live trainer (running or stopping); on `host` only when given. */
export function activeRuns(db: Db, host?: string): { id: number; name: string; trainerHost: string | null }[] {
  return prepared(
    db,
    `SELECT id, name, trainer_host AS trainerHost FROM runs
     WHERE status IN ('running', 'stopping') AND (@host IS NULL OR trainer_host = @host) ORDER BY id`,
  ).all({ host: host ?? null }) as { id: number; name: string; trainerHost: string | null }[]
}

/** How a stalled run is told apart from a slow one: no activity for this many median steps, ... */
export const STALL_STEPS = 4
/** ... but never less than this many seconds, ... */
export const STALL_FLOOR_SECONDS = 15
/** ... and before the first step (start-up, the step-0 validation) this many seconds. */
export const STALL_FRESH_SECONDS = 120

/**
 * Whether a running run is stalled: its trainer has reported no phase or step for longer than STALL_STEPS times
 * its median step time (at least STALL_FLOOR_SECONDS; STALL_FRESH_SECONDS while it has no median yet).
 */
export function isStalled(
  run: { status: RunStatus; activityAt: string | null; medianStepSeconds: number | null },
  now: number = Date.now(),
): boolean {
  if (run.status !== 'running' || run.activityAt === null) return false
  const limit =
    run.medianStepSeconds === null ? STALL_FRESH_SECONDS : Math.max(STALL_STEPS * run.medianStepSeconds, STALL_FLOOR_SECONDS)
  return (now - Date.parse(run.activityAt)) / 1000 > limit
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
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

type SummaryRow = Omit<RunSummary, 'tags' | 'totalSteps' | 'stalled'> & {
  tags: string
  configSteps: unknown
  activityAt: string | null
}

/** Run summaries, newest first (only `ids` when given), in one query plus one for the step times of running runs. */
export function runSummaries(db: Db, options: { ids?: readonly number[]; now?: number } = {}): RunSummary[] {
  const rows = prepared(
    db,
    `SELECT r.id, r.name, r.mode, r.status, r.seed, r.origin, r.tags, r.notes, r.created_at AS createdAt,
            r.finished_at AS finishedAt, COALESCE(r.activity_at, r.started_at) AS activityAt,
            COALESCE(d.name, CASE WHEN json_type(r.config, '$.dataset') = 'text' THEN json_extract(r.config, '$.dataset') END) AS dataset,
            COALESCE((SELECT MAX(step) FROM metrics m WHERE m.run_id = r.id), 0) AS steps,
            json_extract(r.config, '$.steps') AS configSteps,
            (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id AND e.kind = 'alert') AS alerts
     FROM runs r LEFT JOIN datasets d ON d.id = r.dataset_id
     WHERE @ids IS NULL OR r.id IN (SELECT value FROM json_each(@ids))
     ORDER BY r.id DESC`,
  ).all({ ids: options.ids ? JSON.stringify(options.ids) : null }) as SummaryRow[]
  const running = rows.filter((row) => row.status === 'running').map((row) => row.id)
  const medians = running.length > 0 ? medianStepSeconds(db, running) : new Map<number, number>()
  const at = options.now ?? Date.now()
  return rows.map(({ configSteps, activityAt, tags, ...row }) => ({
    ...row,
    tags: parseTags(tags),
    totalSteps: Number.isSafeInteger(configSteps) && (configSteps as number) > 0 ? (configSteps as number) : row.steps,
    stalled: isStalled({ status: row.status, activityAt, medianStepSeconds: medians.get(row.id) ?? null }, at),
  }))
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

/** The tag of the checkpoint with the best held-out accuracy (see refreshBestCheckpointTag). */
export const BEST_GT_TAG = 'best-gt'

/** The held-out accuracy keys as a LIKE pattern: `val-core/<source>/reward/mean@1`, one per benchmark. */
export const HELD_OUT_KEYS_LIKE = 'val-core/%/reward/mean@1'

/** The step with the highest value (ties: the later step), or null when no step has one; picks best checkpoints. */
export function bestStep(values: readonly { step: number; value: number | null }[]): number | null {
  let best: { step: number; value: number } | null = null
  for (const { step, value } of values) if (value !== null && (best === null || value >= best.value)) best = { step, value }
  return best?.step ?? null
}

/** The tag of the checkpoint with the best training score `critic/score/mean` (the self-reward; see refreshBestSelfTag). */
export const BEST_SELF_TAG = 'best-self'

/** Moves `tag` to the run's checkpoint whose step has the best `value` (an SQL expression over checkpoint `c`). */
function moveBestTag(db: Db, runId: number, tag: string, value: string): number | null {
  const select = prepared(
    db,
    `SELECT c.id, c.step, c.tags, (${value}) AS value FROM checkpoints c WHERE c.run_id = ? ORDER BY c.step`,
  )
  const setTags = prepared(db, 'UPDATE checkpoints SET tags = ? WHERE id = ?')
  const write = db.transaction((): number | null => {
    const rows = select.all(runId) as { id: number; step: number; tags: string; value: number | null }[]
    const best = bestStep(rows)
    for (const row of rows) {
      const tags = parseTags(row.tags)
      const tagged = tags.includes(tag)
      if (tagged === (row.step === best)) continue
      setTags.run(JSON.stringify(tagged ? tags.filter((t) => t !== tag) : [...tags, tag]), row.id)
    }
    return best
  })
  return write.immediate()
}

/**
 * Moves the BEST_GT_TAG to the run's checkpoint whose step has the best held-out accuracy: the mean over the
 * `val-core/<source>/reward/mean@1` keys logged at that step, among steps with a checkpoint. Ties go to the later
 * checkpoint (more training for the same accuracy, and retention keeps no extra folder). Call it after a
 * checkpoint or a validation is written, and before pruning, so the best checkpoint is kept. Returns the step.
 */
export function refreshBestCheckpointTag(db: Db, runId: number): number | null {
  return moveBestTag(
    db,
    runId,
    BEST_GT_TAG,
    `SELECT AVG(m.value) FROM metrics m
     WHERE m.run_id = c.run_id AND m.step = c.step AND m.key LIKE '${HELD_OUT_KEYS_LIKE}' AND m.value IS NOT NULL`,
  )
}

/** Moves the BEST_SELF_TAG the same way, by the training score at the checkpoint's step, so retention keeps it too. */
export function refreshBestSelfTag(db: Db, runId: number): number | null {
  return moveBestTag(
    db,
    runId,
    BEST_SELF_TAG,
    `SELECT m.value FROM metrics m WHERE m.run_id = c.run_id AND m.step = c.step AND m.key = 'critic/score/mean'`,
  )
}

/** Both best tags, as a run's retention needs them before it prunes. */
export function refreshBestTags(db: Db, runId: number): void {
  refreshBestCheckpointTag(db, runId)
  refreshBestSelfTag(db, runId)
}
