// The run store: one SQLite database per workspace. Reads here serve the API; writers (trainers, imports)
// come in later modules through the same connection factory.
import type { CheckpointSummary, DatasetSummary, RunSummary } from '../../preload/contract'
import { checkpointSummaries } from './checkpoints'
import { openDatabase, schemaVersion } from './database'
import type { Db } from './database'
import { runSummaries } from './runs'
import { prepared } from './sql'

export class Store {
  readonly db: Db

  constructor(readonly file: string) {
    this.db = openDatabase(file)
  }

  get schemaVersion(): number {
    return schemaVersion(this.db)
  }

  /** Changes whenever another connection commits (SQLite's `data_version`): how the UI sees CLI and trainer writes. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number
  }

  /** The rows this connection has changed since it opened: its own commits, which `dataVersion` does not count. */
  totalChanges(): number {
    return prepared(this.db, 'SELECT total_changes()', { pluck: true }).get() as number
  }

  /** Every run, newest first, with what the run list shows (see runSummaries). */
  listRuns(): RunSummary[] {
    return runSummaries(this.db)
  }

  listDatasets(): DatasetSummary[] {
    return this.db
      .prepare(
        `SELECT d.id, d.name, d.created_at AS createdAt,
                (SELECT COUNT(*) FROM records r WHERE r.dataset_id = d.id) AS records,
                (SELECT COUNT(*) FROM records r WHERE r.dataset_id = d.id AND TRIM(COALESCE(r.answer, '')) <> '') AS withAnswer,
                (SELECT COUNT(*) FROM paraphrases p JOIN records r ON r.id = p.record_id WHERE r.dataset_id = d.id) AS paraphrases
         FROM datasets d ORDER BY d.id DESC`,
      )
      .all() as DatasetSummary[]
  }

  listCheckpoints(run?: number): CheckpointSummary[] {
    return checkpointSummaries(this.db, run)
  }

  close(): void {
    this.db.close()
  }
}
