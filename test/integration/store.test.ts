import Database from 'better-sqlite3'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BUSY_TIMEOUT_MS, openDatabase, schemaVersion } from '../../main/store/database'
import { LATEST_SCHEMA_VERSION, migrations } from '../../main/store/migrations'
import { ensureChecks } from '../../main/data/datasets'
import { getParaphrase } from '../../main/store/records'
import { getRun } from '../../main/store/runs'
import { Store } from '../../main/store/store'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()
const dbFile = (): string => join(freshDir(), 'workbench.db')

/** The schema as SQLite reports it, to compare a migrated database with a fresh one. */
function schemaOf(db: Database.Database): string[] {
  return (
    db.prepare(`SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`).all() as {
      sql: string
    }[]
  ).map((row) => JSON.stringify(row))
}

/** One row in every table a version has, so an upgrade can be checked to keep data. */
function seed(db: Database.Database, version: number): void {
  if (version >= 1) {
    db.prepare(`INSERT INTO datasets (id, name) VALUES (1, 'math')`).run()
    db.prepare(`INSERT INTO records (id, dataset_id, position, question, answer) VALUES (1, 1, 0, 'What is 2+2?', '4')`).run()
    db.prepare(`INSERT INTO paraphrases (record_id, text, origin) VALUES (1, 'Two plus two?', 'manual')`).run()
    db.prepare(`INSERT INTO edits (entity, entity_id, field, before, after) VALUES ('paraphrase', 1, 'text', 'a', 'b')`).run()
  }
  if (version >= 2) {
    db.prepare(`INSERT INTO runs (id, name, mode, config, dataset_id) VALUES (1, 'gt', 'ground_truth', '{}', 1)`).run()
    db.prepare(`INSERT INTO metrics (run_id, step, key, value, wall_time) VALUES (1, 1, 'critic/score/mean', 0.5, 1.0)`).run()
    db.prepare(
      `INSERT INTO samples (run_id, step, record_id, group_index, view, prompt, text, answer) VALUES (1, 1, 1, 0, 'original', 'q', 't', '4')`,
    ).run()
    db.prepare(`INSERT INTO checkpoints (run_id, step, path) VALUES (1, 1, '/ckpt')`).run()
    db.prepare(`INSERT INTO events (run_id, level, kind, message) VALUES (1, 'info', 'log', 'hello')`).run()
  }
  if (version >= 3) {
    db.prepare(
      `UPDATE runs SET trainer_pid = 42, trainer_host = 'gpu-1', heartbeat_at = '2025-01-02T03:04:05.000Z', stop_requested = 1 WHERE id = 1`,
    ).run()
  }
}

describe('the run store', () => {
  it('opens in WAL mode with foreign keys on and a busy timeout', () => {
    const store = new Store(dbFile())
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1)
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS)
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
    store.close()
  })

  it('has a table for every entity of the design', () => {
    const store = new Store(dbFile())
    const tables = (store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map(
      (t) => t.name,
    )
    for (const name of ['datasets', 'records', 'paraphrases', 'edits', 'runs', 'metrics', 'samples', 'checkpoints', 'events']) {
      expect(tables).toContain(name)
    }
    store.close()
  })

  it('numbers its migrations 1, 2, ... without gaps', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1))
  })

  for (let from = 0; from < LATEST_SCHEMA_VERSION; from++) {
    it(`upgrades a database from schema version ${from}, keeping its rows`, () => {
      const file = dbFile()
      const old = openDatabase(file, { upTo: from })
      expect(schemaVersion(old)).toBe(from)
      seed(old, from)
      old.close()

      const upgraded = new Store(file)
      expect(upgraded.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
      const fresh = new Store(dbFile())
      expect(schemaOf(upgraded.db)).toEqual(schemaOf(fresh.db))
      if (from >= 1) expect(upgraded.listDatasets()).toMatchObject([{ name: 'math', records: 1, withAnswer: 1, paraphrases: 1 }])
      if (from >= 2) expect(upgraded.listRuns()).toMatchObject([{ name: 'gt', mode: 'ground_truth', status: 'queued', steps: 1 }])
      if (from === 2) expect(getRun(upgraded.db, 1)).toMatchObject({ trainerPid: null, heartbeatAt: null, stopRequested: false })
      if (from >= 3) expect(getRun(upgraded.db, 1)).toMatchObject({ trainerPid: 42, trainerHost: 'gpu-1', stopRequested: true })
      upgraded.close()
      fresh.close()
    })
  }

  it('clears the failed-check masks of schema 7 (no severities), so their paraphrases are checked again', () => {
    const file = dbFile()
    const old = openDatabase(file, { upTo: 7 })
    seed(old, 7)
    old.prepare(`UPDATE paraphrases SET checks = '{"failed":["numbers"],"numbers":{"missing":["2"]}}', failed_checks = 1`).run()
    old.close()
    const upgraded = new Store(file)
    expect(upgraded.db.prepare('SELECT failed_checks FROM paraphrases').pluck().get()).toBeNull()
    expect(ensureChecks(upgraded.db)).toBe(1)
    // "Two plus two?" restates both twos in words: no finding, and none of the old keys left behind.
    const paraphrase = getParaphrase(upgraded.db, 1)!
    expect(paraphrase).toMatchObject({ failed: [], findings: [] })
    expect(paraphrase.checks).toMatchObject({ numbers: { missing: [] }, findings: [] })
    expect(upgraded.db.prepare('SELECT failed_checks FROM paraphrases').pluck().get()).toBe(0)
    upgraded.close()
  })

  it('refuses a database from a newer workbench without touching it', () => {
    const file = dbFile()
    const db = new Database(file)
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`)
    db.close()
    expect(() => new Store(file)).toThrow(/newer than this workbench understands/)
    const again = new Database(file)
    expect(again.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION + 1)
    again.close()
  })

  it('enforces references: deleting a run deletes its metrics, samples, checkpoints and events', () => {
    const store = new Store(dbFile())
    seed(store.db, LATEST_SCHEMA_VERSION)
    expect(() =>
      store.db.prepare(`INSERT INTO metrics (run_id, step, key, value, wall_time) VALUES (99, 1, 'k', 1, 0)`).run(),
    ).toThrow(/FOREIGN KEY/)
    store.db.prepare('DELETE FROM runs WHERE id = 1').run()
    for (const table of ['metrics', 'samples', 'checkpoints', 'events']) {
      expect((store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n, table).toBe(0)
    }
    store.close()
  })

  it("sees another connection's commits through the data version", () => {
    const file = dbFile()
    const store = new Store(file)
    const before = store.dataVersion()
    const other = new Database(file)
    other.prepare(`INSERT INTO datasets (name) VALUES ('from the CLI')`).run()
    other.close()
    expect(store.dataVersion()).not.toBe(before)
    expect(store.listDatasets().map((d) => d.name)).toEqual(['from the CLI'])
    store.close()
  })
})
