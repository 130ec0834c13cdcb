// The run store: one SQLite database per workspace. Reads here serve the API; writers (trainers, imports)
// come in later modules through the same connection factory.
import type { CheckpointSummary, DatasetSummary, RunSummary } from '../../preload/contract'
import { openDatabase, schemaVersion, type Db } from './database'
import { runSummaries } from './runs'

const jsonArray = (text: string): string[] => JSON.parse(text) as string[]

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
    const rows = this.db
      .prepare(
        `SELECT c.id, c.run_id AS run, r.name AS runName, c.step, c.path, c.tags, c.created_at AS createdAt
         FROM checkpoints c JOIN runs r ON r.id = c.run_id
         WHERE (@run IS NULL OR c.run_id = @run) ORDER BY c.run_id DESC, c.step`,
      )
      .all({ run: run ?? null }) as (Omit<CheckpointSummary, 'tags'> & { tags: string })[]
    return rows.map((row) => ({ ...row, tags: jsonArray(row.tags) }))
  }

  close(): void {
    this.db.close()
  }
}
