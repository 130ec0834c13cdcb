// How the store modules talk to SQLite: statements prepared once per connection, the time SQLite writes, and
// transactions, which callers outside the store open through these functions rather than with SQL of their own.
import type Database from 'better-sqlite3'
import type { Db } from './database'

/** Now as an ISO 8601 time with milliseconds, the way `new Date().toISOString()` writes it. */
export const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`

// Statements are prepared once per connection: a trainer writes a step every few seconds, the Compare view reads
// the same queries for every run it draws.
const statements = new WeakMap<Db, Map<string, Database.Statement>>()

/** The statement for `sql` on this connection; `pluck` returns only the first column of each row. */
export function prepared(db: Db, sql: string, options: { pluck?: boolean } = {}): Database.Statement {
  let cache = statements.get(db)
  if (!cache) statements.set(db, (cache = new Map()))
  const key = options.pluck ? `pluck:${sql}` : sql
  let statement = cache.get(key)
  if (!statement) {
    statement = db.prepare(sql)
    if (options.pluck) statement.pluck(true)
    cache.set(key, statement)
  }
  return statement
}

/**
 * Runs `write` in one immediate transaction (it takes the write lock first, so it never fails half-way on a lock):
 * readers in other processes see all of it or none. Inside another transaction it becomes a savepoint.
 */
export function writeTransaction<T>(db: Db, write: () => T): T {
  return db.transaction(write).immediate()
}

/** Runs `read` in one deferred transaction: its queries see one snapshot of the store while others commit. */
export function readTransaction<T>(db: Db, read: () => T): T {
  return db.transaction(read)()
}
