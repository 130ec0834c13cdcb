import type Database from 'better-sqlite3'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { addParaphrase, createDataset, undoEdit } from '../../main/data/datasets'
import { addCheckpoint, removeCheckpoint } from '../../main/store/checkpoints'
import { openDatabase, schemaVersion } from '../../main/store/database'
import { deleteDataset, datasetRecords } from '../../main/store/datasets'
import { addEvent, alertsAfter, lastAlertId } from '../../main/store/events'
import { LATEST_SCHEMA_VERSION } from '../../main/store/migrations'
import { createRun, deleteRun, getRun, type NewRun } from '../../main/store/runs'
import { stepSamples } from '../../main/store/samples'
import { recordStep } from '../../main/store/steps'
import { Store } from '../../main/store/store'
import { freshStores } from '../helpers/stores'
import { freshDirs } from '../helpers/workspace'

const openStore = freshStores()
const freshDir = freshDirs()

const run: NewRun = { name: 'gt', mode: 'ground_truth', config: {}, seed: 0 }
const dataset = (name: string): Parameters<typeof createDataset>[1] => ({
  name,
  records: [
    { question: 'What is 2+2?', answer: '4' },
    { question: 'What is 3+3?', answer: '6' },
  ],
})

describe('ids are never reused', () => {
  it('gives the run created after deleting the newest run a new id, so links to the deleted one find nothing', () => {
    const { db } = openStore()
    expect([createRun(db, run), createRun(db, run)]).toEqual([1, 2])
    deleteRun(db, 2)
    expect(createRun(db, run)).toBe(3)
    expect(getRun(db, 2)).toBeUndefined()
  })

  it('gives a dataset and its records new ids after the newest dataset was deleted', () => {
    const { db } = openStore()
    expect(createDataset(db, dataset('a')).id).toBe(1)
    expect(createDataset(db, dataset('b')).id).toBe(2)
    expect(datasetRecords(db, 2).map((r) => r.id)).toEqual([3, 4])
    deleteDataset(db, 2)
    expect(createDataset(db, dataset('c')).id).toBe(3)
    expect(datasetRecords(db, 3).map((r) => r.id)).toEqual([5, 6])
  })

  it('gives a checkpoint a new id after the newest checkpoint was removed', () => {
    const { db } = openStore()
    const id = createRun(db, run)
    expect([addCheckpoint(db, id, 1, '/c/1'), addCheckpoint(db, id, 2, '/c/2')]).toEqual([1, 2])
    removeCheckpoint(db, 2)
    expect(addCheckpoint(db, id, 2, '/c/2')).toBe(3)
  })

  it('gives paraphrases, samples and events new ids after the newest ones were deleted', () => {
    const { db } = openStore()
    createDataset(db, dataset('a'))
    const manual = (text: string): number =>
      addParaphrase(db, 1, { text, origin: 'manual', status: 'pending' }, { edit: true }).id
    expect(manual('Two plus two?')).toBe(1)
    undoEdit(db, 1)
    expect(manual('Two and two?')).toBe(2)

    const first = createRun(db, run)
    const second = createRun(db, run)
    const step = (id: number): void =>
      recordStep(db, id, {
        step: 1,
        wallTime: 0,
        tokens: 0,
        metrics: {},
        samples: [{ groupIndex: 0, view: 'original', prompt: 'q', text: 't', answer: '4', reward: 1 }],
      })
    step(first)
    step(second)
    expect(addEvent(db, second, { level: 'info', kind: 'log', message: 'hello' })).toBe(1)
    deleteRun(db, second)
    step(createRun(db, run))
    expect(stepSamples(db, 3, 1).map((s) => s.id)).toEqual([3])
    expect(addEvent(db, 3, { level: 'info', kind: 'log', message: 'hello' })).toBe(2)
  })

  it('lets a watcher of alerts see an alert added after the run with the newest alert was deleted', () => {
    const { db } = openStore()
    const kept = createRun(db, run)
    const deleted = createRun(db, run)
    addEvent(db, deleted, { level: 'warning', kind: 'alert', message: 'collapse' })
    const seen = lastAlertId(db)
    deleteRun(db, deleted)
    addEvent(db, kept, { level: 'warning', kind: 'alert', message: 'entropy falling' })
    expect(alertsAfter(db, seen).map((alert) => alert.message)).toEqual(['entropy falling'])
  })
})

const TABLES = ['datasets', 'records', 'paraphrases', 'edits', 'runs', 'metrics', 'samples', 'checkpoints', 'events']

/** Every row of every table, in storage order. */
const rowsOf = (db: Database.Database): Record<string, unknown[]> =>
  Object.fromEntries(
    TABLES.map((table) => [
      table,
      db.prepare(`SELECT * FROM ${table} ORDER BY ${table === 'metrics' ? 'run_id, key, step' : 'id'}`).all(),
    ]),
  )

/** What each table is, apart from how it numbers its rows: columns, references, indexes and triggers. */
function structureOf(db: Database.Database): unknown {
  const tables = TABLES.map((table) => ({
    table,
    columns: db.pragma(`table_xinfo(${table})`),
    references: db.pragma(`foreign_key_list(${table})`),
    indexes: (db.pragma(`index_list(${table})`) as { name: string }[]).map((index) => ({
      ...index,
      columns: db.pragma(`index_info(${index.name})`),
    })),
  }))
  const named = db
    .prepare(`SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name`)
    .all()
  return { tables, named }
}

/** A workspace at schema 8 with rows in every table, ids with gaps (deleted rows) and links between them. */
function seedSchema8(db: Database.Database): void {
  db.exec(`
    INSERT INTO datasets (id, name, audit_split) VALUES (1, 'math', 'audit'), (3, 'more', NULL);
    INSERT INTO records (id, dataset_id, position, question, answer, split) VALUES
      (1, 1, 0, 'What is 2+2?', '4', 'train'), (2, 1, 1, 'What is 3+3?', '6', 'test'), (5, 3, 0, 'Seven apples?', '7', 'train');
    INSERT INTO paraphrases (id, record_id, text, origin, status, failed_checks) VALUES
      (1, 1, 'Two plus two?', 'manual', 'accepted', 0), (4, 5, 'How many apples?', 'template', 'pending', NULL);
    INSERT INTO edits (id, entity, entity_id, field, before, after, dataset_id, undo_step) VALUES
      (2, 'paraphrase', 1, 'text', 'a', 'Two plus two?', 1, 1);
    INSERT INTO runs (id, name, config, status, dataset_id, mode, tags) VALUES
      (1, 'gt', '{}', 'finished', 1, 'ground_truth', '["best"]'), (3, 'co', '{}', 'stopped', 3, 'co_rewarding_i', '[]');
    INSERT INTO checkpoints (id, run_id, step, path) VALUES (1, 1, 10, '/c/1'), (2, 3, 5, '/c/2');
    UPDATE runs SET parent_checkpoint_id = 1 WHERE id = 3;
    INSERT INTO metrics (run_id, step, key, value, wall_time) VALUES (1, 1, 'critic/score/mean', 0.5, 1), (3, 1, 'critic/score/mean', 0.25, 2);
    INSERT INTO samples (id, run_id, step, record_id, group_index, view, prompt, text, answer, gt) VALUES
      (1, 1, 1, 1, 0, 'original', 'q', 't', '4', NULL), (7, 3, 1, 5, 0, 'paraphrase', 'q', 't', '7', '7');
    INSERT INTO events (id, run_id, level, kind, message) VALUES (1, 1, 'info', 'log', 'hello'), (9, 3, 'warning', 'alert', 'collapse');
  `)
}

describe('the migration that stops ids being reused', () => {
  it('keeps every row, column, index, trigger and reference of a schema 8 workspace, and numbers new rows past the old ones', () => {
    const file = join(freshDir(), 'workbench.db')
    const old = openDatabase(file, { upTo: LATEST_SCHEMA_VERSION - 1 })
    expect(schemaVersion(old)).toBe(8)
    seedSchema8(old)
    const rowsBefore = rowsOf(old)
    const structureBefore = structureOf(old)
    old.close()

    const store = new Store(file)
    const { db } = store
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
    expect(rowsOf(db)).toEqual(rowsBefore)
    expect(structureOf(db)).toEqual(structureBefore)
    expect(db.pragma('foreign_key_check')).toEqual([])
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
    for (const table of ['datasets', 'records', 'paraphrases', 'edits', 'runs', 'samples', 'checkpoints', 'events']) {
      expect(db.prepare(`SELECT sql FROM sqlite_master WHERE name = ?`).pluck().get(table), table).toMatch(/AUTOINCREMENT/)
    }
    // The search indexes still match their tables, row for row.
    db.exec(`INSERT INTO records_fts (records_fts) VALUES ('integrity-check')`)
    db.exec(`INSERT INTO paraphrases_fts (paraphrases_fts) VALUES ('integrity-check')`)
    expect(db.prepare(`SELECT rowid FROM records_fts WHERE records_fts MATCH 'apples'`).pluck().all()).toEqual([5])

    // References are enforced again: a deleted run takes its rows along; the next run is numbered past it.
    deleteRun(db, 3)
    expect(db.prepare('SELECT COUNT(*) FROM samples WHERE run_id = 3').pluck().get()).toBe(0)
    expect(createRun(db, run)).toBe(4)
    expect(createDataset(db, dataset('new')).id).toBe(4)
    expect(datasetRecords(db, 4).map((r) => r.id)).toEqual([6, 7])
    expect(addCheckpoint(db, 4, 1, '/c/3')).toBe(3)
  })

  it('migrates a workspace whose references were already broken, leaving them as they were', () => {
    const file = join(freshDir(), 'workbench.db')
    const old = openDatabase(file, { upTo: LATEST_SCHEMA_VERSION - 1 })
    seedSchema8(old)
    old.pragma('foreign_keys = OFF')
    old.exec(`INSERT INTO checkpoints (id, run_id, step, path) VALUES (5, 42, 1, '/gone')`)
    old.close()

    const store = new Store(file)
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION)
    expect(store.db.pragma('foreign_key_check')).toEqual([{ table: 'checkpoints', rowid: 5, parent: 'runs', fkid: 0 }])
  })
})
