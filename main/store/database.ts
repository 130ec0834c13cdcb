import Database from 'better-sqlite3'
import { packageRoot } from '../package-root'
import { diskFullReason, isDiskFull } from '../disk-full'
import { LATEST_SCHEMA_VERSION, migrations } from './migrations'
import type { Migration } from './migrations'
import { sqliteBindingFor } from './native-binding'

export type Db = Database.Database

/** How long a writer waits for another process's transaction (CLI, trainer, app) before giving up. */
export const BUSY_TIMEOUT_MS = 5000

export function openDatabase(file: string, options: { upTo?: number; readonly?: boolean } = {}): Db {
  const nativeBinding = sqliteBindingFor(
    { electron: process.versions.electron, modules: process.versions.modules },
    packageRoot(),
    process.env,
  )
  const db = new Database(file, { nativeBinding, readonly: options.readonly ?? false, timeout: BUSY_TIMEOUT_MS })
  try {
    if (!options.readonly) db.pragma('journal_mode = WAL')
    db.pragma('foreign_keys = ON')
    db.pragma('synchronous = NORMAL')
    if (!options.readonly) migrate(db, options.upTo ?? LATEST_SCHEMA_VERSION, file)
    return db
  } catch (error) {
    db.close()
    if (isDiskFull(error)) {
      throw new Error(
        `Cannot open the store ${file}: ${diskFullReason(error)}. SQLite needs a little free space even to read it; ` +
          'free space on that disk (delete old runs, checkpoints or other files), then try again. Nothing stored was changed.',
        { cause: error },
      )
    }
    throw error
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number
}

/** Brings the database up to `target`, one migration per transaction, so a failure leaves the last good version. */
export function migrate(db: Db, target: number, file: string): void {
  const current = schemaVersion(db)
  if (current > LATEST_SCHEMA_VERSION) {
    throw new Error(
      `${file} is at schema version ${current}, newer than this workbench understands (${LATEST_SCHEMA_VERSION}); update the workbench.`,
    )
  }
  const pending: Migration[] = migrations.filter((m) => m.version > current && m.version <= target)
  for (const migration of pending) {
    // SQLite ignores this pragma inside a transaction, so it is set around it.
    const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number
    if (migration.rebuildsTables) db.pragma('foreign_keys = OFF')
    try {
      db.transaction(() => {
        // Another process (a CLI, a trainer) may have opened the workspace at the same time and migrated it first.
        if (schemaVersion(db) >= migration.version) return
        const brokenBefore = new Set(migration.rebuildsTables ? brokenReferences(db) : [])
        db.exec(migration.sql)
        if (migration.rebuildsTables) {
          const broken = brokenReferences(db).filter((reference) => !brokenBefore.has(reference))
          if (broken.length > 0) {
            throw new Error(
              `Migration ${migration.version} (${migration.name}) would break ${broken.length} reference(s) in ${file}, ` +
                `e.g. ${broken[0]}; nothing was changed. Report this as a bug.`,
            )
          }
        }
        db.pragma(`user_version = ${migration.version}`)
      }).immediate()
    } finally {
      if (migration.rebuildsTables) db.pragma(`foreign_keys = ${foreignKeys}`)
    }
  }
}

/** Rows whose foreign key points at no row (PRAGMA foreign_key_check), one line each. */
function brokenReferences(db: Db): string[] {
  const rows = db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string; fkid: number }[]
  return rows.map((row) => `${row.table} row ${row.rowid} -> ${row.parent} (key ${row.fkid})`)
}
