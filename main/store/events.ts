// A run's events: log lines, collapse alerts and status changes, in the order they were added (an event of no
// run belongs to the workspace).
import { EVENT_KINDS, EVENT_LEVELS } from '../../preload/constants'
import type { Db } from './database'
import { prepared, writeTransaction } from './sql'
import { checkChoice, checkInteger, checkObject, parseObject } from './values'

export type EventLevel = (typeof EVENT_LEVELS)[number]

export type EventKind = (typeof EVENT_KINDS)[number]

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

/** Adds a log line, alert or status change to a run (null: to the workspace) and returns the event's id. */
export function addEvent(db: Db, runId: number | null, event: NewEvent): number {
  checkChoice(event.level, EVENT_LEVELS, 'Event level')
  checkChoice(event.kind, EVENT_KINDS, 'Event kind')
  if (event.step !== undefined && event.step !== null) checkInteger(event.step, 'The event step')
  if (event.data !== undefined) checkObject(event.data, 'Event data')
  const insert = prepared(db, 'INSERT INTO events (run_id, level, kind, step, message, data) VALUES (?, ?, ?, ?, ?, ?)')
  return writeTransaction(db, (): number =>
    Number(
      insert.run(runId, event.level, event.kind, event.step ?? null, event.message, JSON.stringify(event.data ?? {}))
        .lastInsertRowid,
    ),
  )
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

/** The id of the newest alert of any run, or 0 before the first: where watching for new alerts starts. */
export function lastAlertId(db: Db): number {
  return (prepared(db, `SELECT MAX(id) FROM events WHERE kind = 'alert'`, { pluck: true }).get() as number | null) ?? 0
}

/** The alerts added after `afterId`, oldest first, with their run's name. */
export function alertsAfter(db: Db, afterId: number): { id: number; run: number; message: string; name: string }[] {
  return prepared(
    db,
    `SELECT e.id, e.run_id AS run, e.message, r.name FROM events e JOIN runs r ON r.id = e.run_id
     WHERE e.kind = 'alert' AND e.id > ? ORDER BY e.id`,
  ).all(afterId) as { id: number; run: number; message: string; name: string }[]
}

/** The message of a run's newest error or warning that is not an alert: why it failed or was interrupted. */
export function lastProblem(db: Db, runId: number): string | undefined {
  return prepared(
    db,
    `SELECT message FROM events WHERE run_id = ? AND level IN ('error', 'warning') AND kind <> 'alert' ORDER BY id DESC LIMIT 1`,
    { pluck: true },
  ).get(runId) as string | undefined
}
