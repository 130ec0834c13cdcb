// Writing datasets to the run store: one transaction per dataset, so an import that fails part-way leaves
// nothing behind.
import type { DatasetDetail } from '../../preload/contract'
import { PARAPHRASE_ORIGINS, PARAPHRASE_STATUSES } from '../../preload/contract'
import { FINDING_CHECKS, SEVERITIES } from '../../preload/constants'
import type { Db } from './database'
import { checkColumns, findingMask } from './records'
import { writeTransaction } from './sql'

export type ParaphraseOrigin = (typeof PARAPHRASE_ORIGINS)[number]
export type ParaphraseStatus = (typeof PARAPHRASE_STATUSES)[number]

export interface NewParaphrase {
  text: string
  origin: ParaphraseOrigin
  status?: ParaphraseStatus
  /** The answer-preservation checks with their `findings`, beside whatever else it carries (without: not checked yet). */
  checks?: object
}

export interface NewRecord {
  question: string
  answer?: string | null
  split?: string
  source?: object
  flags?: string[]
  paraphrases?: NewParaphrase[]
}

export interface NewDataset {
  name: string
  description?: string
  source?: object
  records: NewRecord[]
}

export interface CreatedDataset {
  id: number
  records: number
  paraphrases: number
  withAnswer: number
}

export function nameTaken(db: Db, name: string): boolean {
  return db.prepare('SELECT 1 FROM datasets WHERE name = ?').get(name) !== undefined
}

/** The first of "name (2)", "name (3)", ... that no dataset uses. */
export function freeDatasetName(db: Db, name: string): string {
  for (let n = 2; ; n++) {
    const candidate = `${name} (${n})`
    if (!nameTaken(db, candidate)) return candidate
  }
}

/** Checks what SQLite would refuse less clearly, naming the record (1-based, as a user counts) and field. */
function checkRecord(record: NewRecord, number: number): void {
  const where = `Record ${number}`
  if (typeof record.question !== 'string' || record.question.trim() === '') {
    throw new Error(`${where} has an empty question; give every record a question or leave the record out.`)
  }
  if (record.flags !== undefined && !(Array.isArray(record.flags) && record.flags.every((flag) => typeof flag === 'string'))) {
    throw new Error(`${where}: flags must be a list of words, got ${JSON.stringify(record.flags)}.`)
  }
  for (const [i, paraphrase] of (record.paraphrases ?? []).entries()) {
    const at = `${where}, paraphrase ${i + 1}`
    if (typeof paraphrase.text !== 'string' || paraphrase.text.trim() === '') {
      throw new Error(`${at} has empty text; remove it or write the paraphrase.`)
    }
    if (!PARAPHRASE_ORIGINS.includes(paraphrase.origin)) {
      throw new Error(
        `${at}: origin ${JSON.stringify(paraphrase.origin)} is not one of ${PARAPHRASE_ORIGINS.join(', ')}; use one of them.`,
      )
    }
    if (paraphrase.status !== undefined && !PARAPHRASE_STATUSES.includes(paraphrase.status)) {
      throw new Error(
        `${at}: status ${JSON.stringify(paraphrase.status)} is not one of ${PARAPHRASE_STATUSES.join(', ')}; use one of them.`,
      )
    }
  }
}

/**
 * Stores a dataset with its records and paraphrases (and the checks they carry) in one transaction; a taken name is
 * refused.
 */
export function insertDataset(db: Db, input: NewDataset): CreatedDataset {
  const name = input.name.trim()
  if (name === '') throw new Error('A dataset needs a name; pass a non-empty name.')
  const insertDataset = db.prepare('INSERT INTO datasets (name, description, source) VALUES (?, ?, ?)')
  const insertRecord = db.prepare(
    'INSERT INTO records (dataset_id, position, question, answer, split, source, flags) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const insertParaphrase = db.prepare(
    'INSERT INTO paraphrases (record_id, text, origin, status, checks, failed_checks) VALUES (?, ?, ?, ?, ?, ?)',
  )
  return writeTransaction(db, (): CreatedDataset => {
    if (nameTaken(db, name)) {
      throw new Error(`A dataset named "${name}" already exists; choose another name, e.g. "${freeDatasetName(db, name)}".`)
    }
    const id = Number(insertDataset.run(name, input.description ?? '', JSON.stringify(input.source ?? {})).lastInsertRowid)
    // The search index takes the whole dataset at the end, in two statements (see migration 5).
    db.prepare('INSERT INTO search_index_paused (paused) VALUES (1)').run()
    const created: CreatedDataset = { id, records: 0, paraphrases: 0, withAnswer: 0 }
    for (const [position, record] of input.records.entries()) {
      checkRecord(record, position + 1)
      const answer = record.answer ?? null
      const recordId = insertRecord.run(
        id,
        position,
        record.question,
        answer,
        record.split ?? 'train',
        JSON.stringify(record.source ?? {}),
        JSON.stringify(record.flags ?? []),
      ).lastInsertRowid
      created.records++
      if (answer !== null && answer.trim() !== '') created.withAnswer++
      for (const paraphrase of record.paraphrases ?? []) {
        const checks = checkColumns(paraphrase.checks)
        insertParaphrase.run(
          recordId,
          paraphrase.text,
          paraphrase.origin,
          paraphrase.status ?? 'pending',
          checks.json,
          checks.mask,
        )
        created.paraphrases++
      }
    }
    db.prepare(
      'INSERT INTO records_fts (rowid, question, answer) SELECT id, question, answer FROM records WHERE dataset_id = ?',
    ).run(id)
    db.prepare(
      'INSERT INTO paraphrases_fts (rowid, text) SELECT p.id, p.text FROM paraphrases p JOIN records r ON r.id = p.record_id WHERE r.dataset_id = ?',
    ).run(id)
    db.prepare('DELETE FROM search_index_paused').run()
    return created
  })
}

export interface StoredDataset {
  id: number
  name: string
  description: string
  source: Record<string, unknown>
  createdAt: string
}

export interface DatasetRecord {
  id: number
  /** 0-based place in the dataset (see recordName). */
  position: number
  question: string
  answer: string | null
  split: string
  source: Record<string, unknown>
}

// A record is labelled when its ground-truth answer is not blank (as listDatasets counts withAnswer).
const LABELLED = `TRIM(COALESCE(answer, '')) <> ''`

type DatasetRow = Omit<StoredDataset, 'source'> & { source: string }

/** A dataset by id, or by name; a string of digits is tried as an id first. */
export function findDataset(db: Db, idOrName: string | number): StoredDataset | undefined {
  const select = 'SELECT id, name, description, source, created_at AS createdAt FROM datasets'
  const byId =
    typeof idOrName === 'number' || /^\d+$/.test(idOrName)
      ? (db.prepare(`${select} WHERE id = ?`).get(Number(idOrName)) as DatasetRow | undefined)
      : undefined
  const row =
    byId ??
    (typeof idOrName === 'string' ? (db.prepare(`${select} WHERE name = ?`).get(idOrName) as DatasetRow | undefined) : undefined)
  return row && { ...row, source: JSON.parse(row.source) as Record<string, unknown> }
}

/** A dataset's records in their stored order: one split when given, only those with an answer when labelledOnly. */
export function datasetRecords(
  db: Db,
  datasetId: number,
  options: { split?: string; labelledOnly?: boolean } = {},
): DatasetRecord[] {
  const rows = db
    .prepare(
      `SELECT id, position, question, answer, split, source FROM records
       WHERE dataset_id = @dataset AND (@split IS NULL OR split = @split) AND (@labelled = 0 OR ${LABELLED})
       ORDER BY position`,
    )
    .all({ dataset: datasetId, split: options.split ?? null, labelled: options.labelledOnly ? 1 : 0 }) as (Omit<
    DatasetRecord,
    'source'
  > & { source: string })[]
  return rows.map((row) => ({ ...row, source: JSON.parse(row.source) as Record<string, unknown> }))
}

/** How many records each split of a dataset holds (only those with an answer when labelledOnly), by split name. */
export function datasetSplits(db: Db, datasetId: number, options: { labelledOnly?: boolean } = {}): Record<string, number> {
  const rows = db
    .prepare(
      `SELECT split, COUNT(*) AS n FROM records WHERE dataset_id = ? AND (? = 0 OR ${LABELLED}) GROUP BY split ORDER BY split`,
    )
    .all(datasetId, options.labelledOnly ? 1 : 0) as { split: string; n: number }[]
  return Object.fromEntries(rows.map((row) => [row.split, row.n]))
}

/** Everything the Datasets view shows about one dataset; undefined when there is no such dataset. */
export function datasetDetail(db: Db, datasetId: number): DatasetDetail | undefined {
  const row = db
    .prepare(
      'SELECT id, name, description, source, audit_split AS auditSplit, created_at AS createdAt FROM datasets WHERE id = ?',
    )
    .get(datasetId) as
    { id: number; name: string; description: string; source: string; auditSplit: string | null; createdAt: string } | undefined
  if (!row) return undefined
  const splits = db
    .prepare(
      `SELECT split, COUNT(*) AS records, SUM(${LABELLED}) AS withAnswer FROM records WHERE dataset_id = ? GROUP BY split ORDER BY split`,
    )
    .all(datasetId) as { split: string; records: number; withAnswer: number }[]
  const statuses = db
    .prepare(
      `SELECT p.status, COUNT(*) AS n FROM paraphrases p JOIN records r ON r.id = p.record_id WHERE r.dataset_id = ? GROUP BY p.status`,
    )
    .all(datasetId) as { status: string; n: number }[]
  const masks = db
    .prepare(
      `SELECT p.failed_checks AS mask, COUNT(*) AS n FROM paraphrases p JOIN records r ON r.id = p.record_id
       WHERE r.dataset_id = ? AND p.failed_checks > 0 GROUP BY p.failed_checks`,
    )
    .all(datasetId) as { mask: number; n: number }[]
  const having = (mask: number): number => masks.reduce((sum, m) => sum + (m.mask & mask ? m.n : 0), 0)
  const byFailedCheck = Object.fromEntries(FINDING_CHECKS.map((name) => [name, having(findingMask(name))]))
  const bySeverity = Object.fromEntries(SEVERITIES.map((severity) => [severity, having(findingMask(undefined, severity))]))
  const flags = db
    .prepare(
      `SELECT SUM(flags LIKE '%"duplicate"%') AS duplicates, SUM(NOT ${LABELLED}) AS noAnswer FROM records WHERE dataset_id = ?`,
    )
    .get(datasetId) as { duplicates: number | null; noAnswer: number | null }
  const records = splits.reduce((sum, s) => sum + s.records, 0)
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    source: JSON.parse(row.source) as Record<string, unknown>,
    createdAt: row.createdAt,
    records,
    withAnswer: splits.reduce((sum, s) => sum + s.withAnswer, 0),
    paraphrases: statuses.reduce((sum, s) => sum + s.n, 0),
    splits,
    auditSplit: row.auditSplit,
    byStatus: Object.fromEntries(
      PARAPHRASE_STATUSES.map((status) => [status, statuses.find((s) => s.status === status)?.n ?? 0]),
    ),
    byFailedCheck,
    bySeverity,
    duplicates: flags.duplicates ?? 0,
    noAnswer: flags.noAnswer ?? 0,
  }
}

/** Sets a dataset's name, description or audit split (null clears it); the caller checks the values. */
export function updateDataset(
  db: Db,
  datasetId: number,
  change: { name?: string; description?: string; auditSplit?: string | null },
): void {
  const update = db.prepare(
    `UPDATE datasets SET name = COALESCE(@name, name), description = COALESCE(@description, description),
       audit_split = CASE WHEN @setAudit THEN @auditSplit ELSE audit_split END WHERE id = @id`,
  )
  update.run({
    id: datasetId,
    name: change.name ?? null,
    description: change.description ?? null,
    setAudit: change.auditSplit !== undefined ? 1 : 0,
    auditSplit: change.auditSplit ?? null,
  })
}

/** The runs that are queued, running or stopping on a dataset: they read it when they start. */
export function runsUsingDataset(db: Db, datasetId: number): { id: number; name: string; status: string }[] {
  return db
    .prepare(`SELECT id, name, status FROM runs WHERE dataset_id = ? AND status IN ('queued', 'running', 'stopping') ORDER BY id`)
    .all(datasetId) as { id: number; name: string; status: string }[]
}

/** Deletes a dataset with its records, paraphrases and edit history (runs keep their metrics; samples lose the link). */
export function deleteDataset(db: Db, datasetId: number): void {
  db.prepare('DELETE FROM datasets WHERE id = ?').run(datasetId)
}

/** A record as the exports write it: with its paraphrases that are not rejected, accepted ones first. */
export interface ExportableRecord {
  position: number
  question: string
  answer: string | null
  split: string
  source: Record<string, unknown>
  paraphrases: { text: string; status: string }[]
}

/** A dataset's records in their stored order for an export (only accepted paraphrases when acceptedOnly). */
export function exportableRecords(db: Db, datasetId: number, acceptedOnly: boolean): ExportableRecord[] {
  const records = db
    .prepare('SELECT id, position, question, answer, split, source FROM records WHERE dataset_id = ? ORDER BY position')
    .all(datasetId) as { id: number; position: number; question: string; answer: string | null; split: string; source: string }[]
  const paraphrases = db
    .prepare(
      `SELECT p.record_id AS record, p.text, p.status FROM paraphrases p JOIN records r ON r.id = p.record_id
       WHERE r.dataset_id = ? AND p.status <> 'rejected' AND (? = 0 OR p.status = 'accepted')
       ORDER BY p.record_id, CASE p.status WHEN 'accepted' THEN 0 ELSE 1 END, p.id`,
    )
    .all(datasetId, acceptedOnly ? 1 : 0) as { record: number; text: string; status: string }[]
  const byRecord = new Map<number, { text: string; status: string }[]>()
  for (const p of paraphrases) byRecord.set(p.record, [...(byRecord.get(p.record) ?? []), { text: p.text, status: p.status }])
  return records.map((r) => ({
    position: r.position,
    question: r.question,
    answer: r.answer,
    split: r.split,
    source: JSON.parse(r.source) as Record<string, unknown>,
    paraphrases: byRecord.get(r.id) ?? [],
  }))
}

/** Every dataset's name, sorted: what a message offers when a name finds no dataset. */
export function datasetNames(db: Db): string[] {
  return db.prepare('SELECT name FROM datasets ORDER BY name').pluck().all() as string[]
}

/** A dataset's audit split (its ground truth is kept out of training), or null. */
export function auditSplitOf(db: Db, datasetId: number): string | null {
  return (db.prepare('SELECT audit_split FROM datasets WHERE id = ?').pluck().get(datasetId) as string | null | undefined) ?? null
}

/** The audit split of every dataset that has one, by dataset name. */
export function auditSplits(db: Db): Record<string, string> {
  const rows = db.prepare('SELECT name, audit_split AS split FROM datasets WHERE audit_split IS NOT NULL').all() as {
    name: string
    split: string
  }[]
  return Object.fromEntries(rows.map((row) => [row.name, row.split]))
}
