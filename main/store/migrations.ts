// Versioned schema migrations. `PRAGMA user_version` holds the version a database is at; each migration
// moves it up by one inside a transaction. Never edit a released migration: add the next one.

export interface Migration {
  version: number
  name: string
  sql: string
  /**
   * The migration drops and recreates tables that others reference: it runs with foreign keys off (with them on,
   * dropping a parent deletes its children's rows), and must leave no reference broken that was not broken before.
   */
  rebuildsTables?: boolean
}

const now = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'datasets, records, paraphrases and their edit history',
    sql: `
      CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT ${now}
      );
      CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT,
        split TEXT NOT NULL DEFAULT 'train',
        source TEXT NOT NULL DEFAULT '{}',
        flags TEXT NOT NULL DEFAULT '[]',
        UNIQUE (dataset_id, position)
      );
      CREATE TABLE paraphrases (
        id INTEGER PRIMARY KEY,
        record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('template', 'llm', 'manual', 'imported')),
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
        checks TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT ${now},
        updated_at TEXT NOT NULL DEFAULT ${now}
      );
      CREATE INDEX paraphrases_by_record ON paraphrases(record_id);
      CREATE TABLE edits (
        id INTEGER PRIMARY KEY,
        entity TEXT NOT NULL CHECK (entity IN ('record', 'paraphrase')),
        entity_id INTEGER NOT NULL,
        field TEXT NOT NULL,
        before TEXT,
        after TEXT,
        created_at TEXT NOT NULL DEFAULT ${now}
      );
      CREATE INDEX edits_by_entity ON edits(entity, entity_id);
    `,
  },
  {
    version: 2,
    name: 'runs with their metrics, samples, checkpoints and events',
    sql: `
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('ground_truth', 'majority_voting', 'self_certainty', 'entropy', 'co_rewarding_i', 'co_rewarding_ii')),
        config TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'stopping', 'finished', 'stopped', 'failed', 'interrupted')),
        backend TEXT,
        seed INTEGER NOT NULL DEFAULT 0,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        parent_checkpoint_id INTEGER REFERENCES checkpoints(id) ON DELETE SET NULL,
        origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'verl', 'trl', 'imported')),
        notes TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        environment TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT ${now},
        started_at TEXT,
        finished_at TEXT
      );
      CREATE TABLE metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        key TEXT NOT NULL,
        value REAL,
        wall_time REAL NOT NULL,
        tokens INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, key, step)
      ) WITHOUT ROWID;
      CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        record_id INTEGER REFERENCES records(id) ON DELETE SET NULL,
        group_index INTEGER NOT NULL,
        view TEXT NOT NULL CHECK (view IN ('original', 'paraphrase', 'teacher')),
        prompt TEXT NOT NULL,
        text TEXT NOT NULL,
        answer TEXT NOT NULL,
        pseudo_label TEXT,
        reward REAL,
        advantage REAL
      );
      CREATE INDEX samples_by_run_step ON samples(run_id, step);
      CREATE TABLE checkpoints (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        path TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL DEFAULT ${now},
        UNIQUE (run_id, step)
      );
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
        time TEXT NOT NULL DEFAULT ${now},
        level TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
        kind TEXT NOT NULL CHECK (kind IN ('log', 'alert', 'status')),
        step INTEGER,
        message TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX events_by_run ON events(run_id, id);
    `,
  },
  {
    version: 3,
    name: 'live trainers on runs: process, host, heartbeat and stop request; metrics by step',
    sql: `
      ALTER TABLE runs ADD COLUMN trainer_pid INTEGER;
      ALTER TABLE runs ADD COLUMN trainer_host TEXT;
      ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
      ALTER TABLE runs ADD COLUMN stop_requested INTEGER NOT NULL DEFAULT 0 CHECK (stop_requested IN (0, 1));
      CREATE INDEX metrics_by_run_step ON metrics(run_id, step);
    `,
  },
  {
    version: 4,
    name: 'run lifecycle: what the trainer is doing and when it last said so; the queue (order, resume flag)',
    sql: `
      ALTER TABLE runs ADD COLUMN phase TEXT;
      ALTER TABLE runs ADD COLUMN activity_at TEXT;
      ALTER TABLE runs ADD COLUMN resume INTEGER NOT NULL DEFAULT 0 CHECK (resume IN (0, 1));
      ALTER TABLE runs ADD COLUMN queued_at TEXT;
      CREATE INDEX runs_by_status ON runs(status);
    `,
  },
  {
    version: 5,
    name: 'dataset curation: full-text search, failed checks per paraphrase, undo steps per dataset, the audit split',
    // failed_checks is a bit mask over CHECK_NAMES (NULL: not checked yet; the service checks such rows on first
    // use). The FTS tables index the text where it lives (external content) and triggers keep them in step; a bulk
    // insert (an import) pauses the insert triggers with a row in search_index_paused, inside its transaction, and
    // indexes its rows in one statement at the end: several times faster than a trigger per row.
    // paraphrases_by_record now covers what the record filters ask of a record's paraphrases (one index probe per
    // record, no row reads). samples_by_record lets deleting a dataset unlink its samples without a scan per record.
    sql: `
      ALTER TABLE datasets ADD COLUMN audit_split TEXT;
      ALTER TABLE paraphrases ADD COLUMN failed_checks INTEGER;
      DROP INDEX paraphrases_by_record;
      CREATE INDEX paraphrases_by_record ON paraphrases(record_id, status, origin, failed_checks);
      CREATE INDEX paraphrases_unchecked ON paraphrases(id) WHERE failed_checks IS NULL;
      ALTER TABLE edits ADD COLUMN dataset_id INTEGER REFERENCES datasets(id) ON DELETE CASCADE;
      ALTER TABLE edits ADD COLUMN undo_step INTEGER;
      UPDATE edits SET
        dataset_id = CASE entity
          WHEN 'paraphrase' THEN (SELECT r.dataset_id FROM paraphrases p JOIN records r ON r.id = p.record_id WHERE p.id = edits.entity_id)
          ELSE (SELECT r.dataset_id FROM records r WHERE r.id = edits.entity_id)
        END,
        undo_step = id;
      CREATE INDEX edits_by_dataset ON edits(dataset_id, undo_step);
      CREATE INDEX samples_by_record ON samples(record_id);
      CREATE VIRTUAL TABLE records_fts USING fts5(
        question, answer, content = 'records', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE VIRTUAL TABLE paraphrases_fts USING fts5(
        text, content = 'paraphrases', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
      );
      INSERT INTO records_fts (records_fts) VALUES ('rebuild');
      INSERT INTO paraphrases_fts (paraphrases_fts) VALUES ('rebuild');
      CREATE TABLE search_index_paused (paused INTEGER);
      CREATE TRIGGER records_fts_insert AFTER INSERT ON records WHEN NOT EXISTS (SELECT 1 FROM search_index_paused) BEGIN
        INSERT INTO records_fts (rowid, question, answer) VALUES (new.id, new.question, new.answer);
      END;
      CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN
        INSERT INTO records_fts (records_fts, rowid, question, answer) VALUES ('delete', old.id, old.question, old.answer);
      END;
      CREATE TRIGGER records_fts_update AFTER UPDATE OF question, answer ON records BEGIN
        INSERT INTO records_fts (records_fts, rowid, question, answer) VALUES ('delete', old.id, old.question, old.answer);
        INSERT INTO records_fts (rowid, question, answer) VALUES (new.id, new.question, new.answer);
      END;
      CREATE TRIGGER paraphrases_fts_insert AFTER INSERT ON paraphrases WHEN NOT EXISTS (SELECT 1 FROM search_index_paused) BEGIN
        INSERT INTO paraphrases_fts (rowid, text) VALUES (new.id, new.text);
      END;
      CREATE TRIGGER paraphrases_fts_delete AFTER DELETE ON paraphrases BEGIN
        INSERT INTO paraphrases_fts (paraphrases_fts, rowid, text) VALUES ('delete', old.id, old.text);
      END;
      CREATE TRIGGER paraphrases_fts_update AFTER UPDATE OF text ON paraphrases BEGIN
        INSERT INTO paraphrases_fts (paraphrases_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO paraphrases_fts (rowid, text) VALUES (new.id, new.text);
      END;
    `,
  },
  {
    version: 6,
    name: "a rollout's ground truth where it has no record (imported verl rollout dumps carry their own `gts`)",
    sql: `
      ALTER TABLE samples ADD COLUMN gt TEXT;
    `,
  },
  {
    version: 7,
    name: 'any reward mode the host registers (the engine registry checks runs.mode; the store cannot import it)',
    // SQLite drops a CHECK only with its column, and rebuilding runs would cascade deletes into its children: so the
    // column moves to a fresh one without the CHECK, at the end of the row.
    sql: `
      ALTER TABLE runs RENAME COLUMN mode TO checked_mode;
      ALTER TABLE runs ADD COLUMN mode TEXT NOT NULL DEFAULT '';
      UPDATE runs SET mode = checked_mode;
      ALTER TABLE runs DROP COLUMN checked_mode;
    `,
  },
  {
    version: 8,
    name: 'check findings with a severity: failed_checks becomes a mask over check × severity; every paraphrase is checked again',
    // Bit 3 × (index in CHECK_NAMES) + (index in SEVERITIES) says the paraphrase has a finding of that check with that
    // severity (main/store/records.ts). Masks of schema 5 to 7 meant "check i failed", which no longer says how much
    // it matters, so they are cleared: the service checks NULL rows on first use (ensureChecks) with today's checks.
    sql: `
      UPDATE paraphrases SET failed_checks = NULL;
    `,
  },
  {
    version: 9,
    name: 'ids are never reused: every table with an id numbers its rows with AUTOINCREMENT',
    // Without AUTOINCREMENT SQLite gives a new row the largest id + 1, so deleting the newest run made the next run
    // take its id, and saved links (/compare?runs=2), logs and messages naming it pointed at another run. SQLite
    // cannot add AUTOINCREMENT to a column: each table is rebuilt (new table, rows copied with their ids, old table
    // dropped, new one renamed), with foreign keys off so dropping a parent cascades nowhere (see rebuildsTables), and
    // its indexes and triggers made again. The columns keep their order; the search indexes keep their rowids.
    rebuildsTables: true,
    sql: `
      CREATE TABLE datasets_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT ${now},
        audit_split TEXT
      );
      INSERT INTO datasets_new SELECT * FROM datasets;
      DROP TABLE datasets;
      ALTER TABLE datasets_new RENAME TO datasets;

      CREATE TABLE records_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT,
        split TEXT NOT NULL DEFAULT 'train',
        source TEXT NOT NULL DEFAULT '{}',
        flags TEXT NOT NULL DEFAULT '[]',
        UNIQUE (dataset_id, position)
      );
      INSERT INTO records_new SELECT * FROM records;
      DROP TABLE records;
      ALTER TABLE records_new RENAME TO records;

      CREATE TABLE paraphrases_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('template', 'llm', 'manual', 'imported')),
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
        checks TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT ${now},
        updated_at TEXT NOT NULL DEFAULT ${now},
        failed_checks INTEGER
      );
      INSERT INTO paraphrases_new SELECT * FROM paraphrases;
      DROP TABLE paraphrases;
      ALTER TABLE paraphrases_new RENAME TO paraphrases;

      CREATE TABLE edits_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        entity TEXT NOT NULL CHECK (entity IN ('record', 'paraphrase')),
        entity_id INTEGER NOT NULL,
        field TEXT NOT NULL,
        before TEXT,
        after TEXT,
        created_at TEXT NOT NULL DEFAULT ${now},
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE CASCADE,
        undo_step INTEGER
      );
      INSERT INTO edits_new SELECT * FROM edits;
      DROP TABLE edits;
      ALTER TABLE edits_new RENAME TO edits;

      CREATE TABLE runs_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        config TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'stopping', 'finished', 'stopped', 'failed', 'interrupted')),
        backend TEXT,
        seed INTEGER NOT NULL DEFAULT 0,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        parent_checkpoint_id INTEGER REFERENCES checkpoints(id) ON DELETE SET NULL,
        origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'verl', 'trl', 'imported')),
        notes TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        environment TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT ${now},
        started_at TEXT,
        finished_at TEXT,
        trainer_pid INTEGER,
        trainer_host TEXT,
        heartbeat_at TEXT,
        stop_requested INTEGER NOT NULL DEFAULT 0 CHECK (stop_requested IN (0, 1)),
        phase TEXT,
        activity_at TEXT,
        resume INTEGER NOT NULL DEFAULT 0 CHECK (resume IN (0, 1)),
        queued_at TEXT,
        mode TEXT NOT NULL DEFAULT ''
      );
      INSERT INTO runs_new SELECT * FROM runs;
      DROP TABLE runs;
      ALTER TABLE runs_new RENAME TO runs;

      CREATE TABLE samples_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        record_id INTEGER REFERENCES records(id) ON DELETE SET NULL,
        group_index INTEGER NOT NULL,
        view TEXT NOT NULL CHECK (view IN ('original', 'paraphrase', 'teacher')),
        prompt TEXT NOT NULL,
        text TEXT NOT NULL,
        answer TEXT NOT NULL,
        pseudo_label TEXT,
        reward REAL,
        advantage REAL,
        gt TEXT
      );
      INSERT INTO samples_new SELECT * FROM samples;
      DROP TABLE samples;
      ALTER TABLE samples_new RENAME TO samples;

      CREATE TABLE checkpoints_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        path TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL DEFAULT ${now},
        UNIQUE (run_id, step)
      );
      INSERT INTO checkpoints_new SELECT * FROM checkpoints;
      DROP TABLE checkpoints;
      ALTER TABLE checkpoints_new RENAME TO checkpoints;

      CREATE TABLE events_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
        time TEXT NOT NULL DEFAULT ${now},
        level TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
        kind TEXT NOT NULL CHECK (kind IN ('log', 'alert', 'status')),
        step INTEGER,
        message TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
      );
      INSERT INTO events_new SELECT * FROM events;
      DROP TABLE events;
      ALTER TABLE events_new RENAME TO events;

      CREATE INDEX paraphrases_by_record ON paraphrases(record_id, status, origin, failed_checks);
      CREATE INDEX paraphrases_unchecked ON paraphrases(id) WHERE failed_checks IS NULL;
      CREATE INDEX edits_by_entity ON edits(entity, entity_id);
      CREATE INDEX edits_by_dataset ON edits(dataset_id, undo_step);
      CREATE INDEX runs_by_status ON runs(status);
      CREATE INDEX samples_by_run_step ON samples(run_id, step);
      CREATE INDEX samples_by_record ON samples(record_id);
      CREATE INDEX events_by_run ON events(run_id, id);
      CREATE TRIGGER records_fts_insert AFTER INSERT ON records WHEN NOT EXISTS (SELECT 1 FROM search_index_paused) BEGIN
        INSERT INTO records_fts (rowid, question, answer) VALUES (new.id, new.question, new.answer);
      END;
      CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN
        INSERT INTO records_fts (records_fts, rowid, question, answer) VALUES ('delete', old.id, old.question, old.answer);
      END;
      CREATE TRIGGER records_fts_update AFTER UPDATE OF question, answer ON records BEGIN
        INSERT INTO records_fts (records_fts, rowid, question, answer) VALUES ('delete', old.id, old.question, old.answer);
        INSERT INTO records_fts (rowid, question, answer) VALUES (new.id, new.question, new.answer);
      END;
      CREATE TRIGGER paraphrases_fts_insert AFTER INSERT ON paraphrases WHEN NOT EXISTS (SELECT 1 FROM search_index_paused) BEGIN
        INSERT INTO paraphrases_fts (rowid, text) VALUES (new.id, new.text);
      END;
      CREATE TRIGGER paraphrases_fts_delete AFTER DELETE ON paraphrases BEGIN
        INSERT INTO paraphrases_fts (paraphrases_fts, rowid, text) VALUES ('delete', old.id, old.text);
      END;
      CREATE TRIGGER paraphrases_fts_update AFTER UPDATE OF text ON paraphrases BEGIN
        INSERT INTO paraphrases_fts (paraphrases_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO paraphrases_fts (rowid, text) VALUES (new.id, new.text);
      END;
    `,
  },
]

export const LATEST_SCHEMA_VERSION = migrations.length
