// Versioned schema migrations. `PRAGMA user_version` holds the version a database is at; each migration
// moves it up by one inside a transaction. Never edit a released migration: add the next one.

export interface Migration {
  version: number
  name: string
  sql: string
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
]

export const LATEST_SCHEMA_VERSION = migrations.length
