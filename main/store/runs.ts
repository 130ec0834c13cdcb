// Training runs in the run store: what a trainer writes about its run while it runs (status, phase, heartbeat)
// and what the CLI and the UI read back. Every write is one immediate transaction, so readers in other processes
// (WAL) see it whole or not at all. A run's metrics, samples, checkpoints and events have modules of their own.
import { hostname } from 'node:os'
import { isLiveStatus, RUN_ORIGINS, RUN_PHASES, RUN_STATUSES } from '../../preload/contract'
import type { RunSummary } from '../../preload/contract'
import type { Db } from './database'
import { addEvent } from './events'
import { HELD_OUT_KEYS_LIKE, medianStepSeconds, SELF_REWARD_KEY } from './metrics'
import { NOW, prepared, writeTransaction } from './sql'
import { isStalled } from './stall'
import { checkChoice, checkInteger, checkObject, checkTags, parseObject, parseTags } from './values'

/** A reward mode's name: the host checks it against its registry (main/engine/rewards), which the store cannot import. */
export type RewardMode = string
export type RunStatus = (typeof RUN_STATUSES)[number]
export type RunPhase = (typeof RUN_PHASES)[number]

export type RunOrigin = (typeof RUN_ORIGINS)[number]

/** A run on another host counts as interrupted once its last heartbeat is older than this; trainers beat far more often. */
export const HEARTBEAT_TIMEOUT_MS = 2 * 60 * 1000

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

/** A run by id; a missing one is an error naming it. */
export function requireRun(db: Db, id: number): Run {
  const run = getRun(db, id)
  if (!run) throw new Error(`No run with id ${id} in this workspace; \`cwb runs\` lists the runs.`)
  return run
}

/** Stores a new run (status queued) and returns its id. */
export function createRun(db: Db, run: NewRun): number {
  const name = typeof run.name === 'string' ? run.name.trim() : ''
  if (name === '') throw new Error('A run needs a name; pass a non-empty name.')
  if (typeof run.mode !== 'string' || run.mode.trim() === '') throw new Error('A run needs a reward mode; pass its name.')
  checkChoice(run.origin ?? 'local', RUN_ORIGINS, 'Run origin')
  checkObject(run.config, 'The run config')
  if (run.environment !== undefined) checkObject(run.environment, 'The run environment')
  checkInteger(run.seed, 'The run seed')
  const insert = prepared(
    db,
    `INSERT INTO runs (name, mode, config, seed, dataset_id, parent_checkpoint_id, origin, environment)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  return writeTransaction(db, (): number =>
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
  return writeTransaction(db, (): Run => {
    requireRun(db, id)
    if (given.length > 0) {
      const sets = given.map((field) => `${UPDATE_COLUMNS[field]} = @${field}`).join(', ')
      prepared(db, `UPDATE runs SET ${sets} WHERE id = @id`).run(values)
    }
    return requireRun(db, id)
  })
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
  if (prepared(db, `UPDATE runs SET heartbeat_at = ${NOW} WHERE id = ?`).run(id).changes === 0) requireRun(db, id)
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
  return writeTransaction(db, (): number[] => {
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
}

/**
 * Asks the run's trainer to stop after its current step (a running run becomes stopping) and returns the run's
 * status; a run that has already ended is refused, naming its status.
 */
export function requestStop(db: Db, id: number): RunStatus {
  return writeTransaction(db, (): RunStatus => {
    const run = requireRun(db, id)
    if (!isLiveStatus(run.status)) {
      throw new Error(`Run ${id} ("${run.name}") is already ${run.status}; there is nothing to stop.`)
    }
    if (run.stopRequested) return run.status
    const status = run.status === 'running' ? 'stopping' : run.status
    prepared(db, 'UPDATE runs SET stop_requested = 1, status = ? WHERE id = ?').run(status, id)
    addEvent(db, id, { level: 'info', kind: 'status', message: 'Stop requested: the trainer stops after its current step.' })
    return status
  })
}

/** Whether a stop was requested; also true when the run no longer exists (deleted under its trainer). */
export function stopRequested(db: Db, id: number): boolean {
  const row = prepared(db, 'SELECT stop_requested AS stop FROM runs WHERE id = ?').get(id) as { stop: number } | undefined
  return row === undefined || row.stop === 1
}

/**
 * Takes a queued run for a trainer of this host (it becomes running, phase starting); false when it is no longer
 * queued, so two schedulers (or the CLI and the app) never start the same run twice.
 */
export function claimQueuedRun(db: Db, id: number, host: string = hostname()): boolean {
  const claim = prepared(
    db,
    `UPDATE runs SET status = 'running', phase = 'starting', activity_at = ${NOW}, started_at = ${NOW}, finished_at = NULL,
       trainer_host = ?, trainer_pid = NULL, stop_requested = 0
     WHERE id = ? AND status = 'queued'`,
  )
  return claim.run(host, id).changes === 1
}

/** Records that the trainer reported progress now: a new phase when given, else a step. */
export function recordActivity(db: Db, id: number, phase?: RunPhase): void {
  if (phase === undefined) prepared(db, `UPDATE runs SET activity_at = ${NOW} WHERE id = ?`).run(id)
  else {
    checkChoice(phase, RUN_PHASES, 'Run phase')
    prepared(db, `UPDATE runs SET phase = ?, activity_at = ${NOW} WHERE id = ?`).run(phase, id)
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

// The held-out keys (`val-core/<source>/reward/mean@1`) as a range of the metrics' primary key, then the pattern.
const HELD_OUT_RANGE = `m.key >= 'val-core/' AND m.key < 'val-core0' AND m.key LIKE '${HELD_OUT_KEYS_LIKE}'`

/** Each run's held-out accuracy at its last validated step (the mean over its sources, as the Compare view's). */
function latestHeldOut(db: Db, rows: readonly { id: number; heldOutStep: number | null }[]): Map<number, number | null> {
  const at = rows.filter((row) => row.heldOutStep !== null).map((row) => [row.id, row.heldOutStep])
  if (at.length === 0) return new Map()
  const found = prepared(
    db,
    `SELECT m.run_id AS run, AVG(m.value) AS value
     FROM json_each(?) j JOIN metrics m ON m.run_id = json_extract(j.value, '$[0]') AND m.step = json_extract(j.value, '$[1]')
     WHERE ${HELD_OUT_RANGE}
     GROUP BY m.run_id`,
  ).all(JSON.stringify(at)) as { run: number; value: number | null }[]
  return new Map(found.map((row) => [row.run, row.value]))
}

type SummaryRow = Omit<RunSummary, 'tags' | 'totalSteps' | 'stalled' | 'heldOut'> & {
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
            (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id AND e.kind = 'alert') AS alerts,
            (SELECT MAX(step) FROM metrics m WHERE m.run_id = r.id AND ${HELD_OUT_RANGE}) AS heldOutStep,
            (SELECT value FROM metrics m WHERE m.run_id = r.id AND m.key = '${SELF_REWARD_KEY}' ORDER BY step DESC LIMIT 1) AS reward
     FROM runs r LEFT JOIN datasets d ON d.id = r.dataset_id
     WHERE @ids IS NULL OR r.id IN (SELECT value FROM json_each(@ids))
     ORDER BY r.id DESC`,
  ).all({ ids: options.ids ? JSON.stringify(options.ids) : null }) as SummaryRow[]
  const heldOut = latestHeldOut(db, rows)
  const running = rows.filter((row) => row.status === 'running').map((row) => row.id)
  const medians = running.length > 0 ? medianStepSeconds(db, running) : new Map<number, number>()
  const at = options.now ?? Date.now()
  return rows.map(({ configSteps, activityAt, tags, ...row }) => ({
    ...row,
    heldOut: row.heldOutStep === null ? null : (heldOut.get(row.id) ?? null),
    tags: parseTags(tags),
    totalSteps: Number.isSafeInteger(configSteps) && (configSteps as number) > 0 ? (configSteps as number) : row.steps,
    stalled: isStalled({ status: row.status, activityAt, medianStepSeconds: medians.get(row.id) ?? null }, at),
  }))
}

/** Every run's id, name and status: how a host notices runs that ended since it last looked. */
export function runStatuses(db: Db): { id: number; name: string; status: RunStatus }[] {
  return prepared(db, 'SELECT id, name, status FROM runs').all() as { id: number; name: string; status: RunStatus }[]
}

/** The ids and names of the given runs, ids ascending (runs that no longer exist are left out). */
export function runNames(db: Db, ids: readonly number[]): { id: number; name: string }[] {
  return prepared(db, 'SELECT id, name FROM runs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id').all(
    JSON.stringify(ids),
  ) as { id: number; name: string }[]
}

/** Every run's id, newest first. */
export function runIds(db: Db): number[] {
  return prepared(db, 'SELECT id FROM runs ORDER BY id DESC', { pluck: true }).all() as number[]
}

/** Sets the name kept inside a run's config (configs are what the launch form duplicates and the diff compares). */
export function setConfigName(db: Db, id: number, name: string): void {
  prepared(db, `UPDATE runs SET config = json_set(config, '$.name', ?) WHERE id = ?`).run(name, id)
}

/** Deletes a run; its metrics, samples, checkpoints and events go with it (foreign keys). */
export function deleteRun(db: Db, id: number): void {
  prepared(db, 'DELETE FROM runs WHERE id = ?').run(id)
}

/** The start checkpoint folder of every run but `exceptId` that is not finished: runs that may still train from it. */
export function unfinishedRunStarts(db: Db, exceptId: number): { id: number; start: string }[] {
  return prepared(
    db,
    `SELECT id, json_extract(environment, '$.start_checkpoint') AS start FROM runs
     WHERE id <> ? AND status <> 'finished' AND json_type(environment, '$.start_checkpoint') = 'text'`,
  ).all(exceptId) as { id: number; start: string }[]
}

/** The first run, by id, that is not finished and starts from the checkpoint folder `path`. */
export function unfinishedRunStartingAt(db: Db, path: string): { id: number; name: string; status: RunStatus } | undefined {
  return prepared(
    db,
    `SELECT id, name, status FROM runs
     WHERE status <> 'finished' AND json_extract(environment, '$.start_checkpoint') = ? ORDER BY id LIMIT 1`,
  ).get(path) as { id: number; name: string; status: RunStatus } | undefined
}

/** The runs branched from a checkpoint: by its id (when stored) or started from its folder, ids ascending. */
export function runsFromCheckpoint(
  db: Db,
  checkpointId: number | null,
  path: string,
): { id: number; name: string; status: RunStatus }[] {
  return prepared(
    db,
    `SELECT id, name, status FROM runs
     WHERE (@id IS NOT NULL AND parent_checkpoint_id = @id) OR json_extract(environment, '$.start_checkpoint') = @path
     ORDER BY id`,
  ).all({ id: checkpointId, path }) as { id: number; name: string; status: RunStatus }[]
}
