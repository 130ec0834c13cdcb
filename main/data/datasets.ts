// Datasets and paraphrases go into the store with their answer-preservation checks: computed here (paraphrase/
// checks.ts), kept by the store, so every paraphrase a user reviews says which checks it fails.
import type { Db } from '../store/database'
import { insertDataset } from '../store/datasets'
import type { CreatedDataset, NewDataset, NewRecord, ParaphraseOrigin, ParaphraseStatus } from '../store/datasets'
import {
  getParaphrase,
  getRecord,
  insertParaphrase,
  setParaphraseChecks,
  uncheckedParaphrases,
  undoLastStep,
  updateParaphrase,
} from '../store/records'
import { writeTransaction } from '../store/sql'
import type { Paraphrase } from '../../preload/contract'
import { checkPair } from './paraphrase/checks'

/** The checks of a paraphrase of `question`, over whatever else the paraphrase carried (e.g. its family). */
const checksOf = (question: string, text: string, answer: string | null, extra: object = {}): object => ({
  ...extra,
  ...checkPair(question, text, answer),
})

const hasChecks = (checks: object | undefined): boolean => Array.isArray((checks as { failed?: unknown } | undefined)?.failed)

/**
 * Stores a dataset, checking every paraphrase against its question and answer on the way in (those checked already,
 * see precheck, keep their checks); a taken name is refused.
 */
export function createDataset(db: Db, input: NewDataset): CreatedDataset {
  return insertDataset(db, {
    ...input,
    records: input.records.map((record) => ({
      ...record,
      paraphrases: record.paraphrases?.map((paraphrase) =>
        // What is not text is left for the store to refuse, naming the record and the field.
        hasChecks(paraphrase.checks) || typeof paraphrase.text !== 'string' || typeof record.question !== 'string'
          ? paraphrase
          : { ...paraphrase, checks: checksOf(record.question, paraphrase.text, record.answer ?? null, paraphrase.checks) },
      ),
    })),
  })
}

const PRECHECK_CHUNK = 2000

/**
 * Checks every paraphrase of records about to be stored, a chunk at a time, letting the event loop run between
 * chunks (progress, cancel): checks take the longest part of storing a large import, which is one synchronous
 * transaction. The results go into each paraphrase's `checks`, where createDataset takes them.
 */
export async function precheck(
  records: NewRecord[],
  signal?: AbortSignal,
  onProgress?: (fraction: number) => void,
): Promise<void> {
  for (let start = 0; start < records.length; start += PRECHECK_CHUNK) {
    if (signal?.aborted) throw new Error('Import cancelled; nothing was stored.')
    for (const record of records.slice(start, start + PRECHECK_CHUNK)) {
      for (const paraphrase of record.paraphrases ?? []) {
        if (typeof paraphrase.text !== 'string' || typeof record.question !== 'string') continue
        paraphrase.checks = checksOf(record.question, paraphrase.text, record.answer ?? null, paraphrase.checks)
      }
    }
    onProgress?.(Math.min(1, (start + PRECHECK_CHUNK) / records.length))
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/**
 * Stores a new paraphrase of a record with its checks. `edit` records it for undo (a user's add); generated
 * paraphrases are not user steps and are not.
 */
export function addParaphrase(
  db: Db,
  recordId: number,
  input: { text: string; origin: ParaphraseOrigin; status: ParaphraseStatus; extra?: object },
  options: { edit?: boolean } = {},
): Paraphrase {
  return writeTransaction(db, () => {
    const record = getRecord(db, recordId)
    if (!record) throw new Error(`No record ${recordId}.`)
    const { extra, ...paraphrase } = input
    return insertParaphrase(
      db,
      record,
      { ...paraphrase, checks: checksOf(record.question, input.text, record.answer, extra) },
      options,
    )
  })
}

/** Changes a paraphrase's text (checking it again) and/or status as one undo step; undefined when there is no such paraphrase. */
export function editParaphrase(
  db: Db,
  id: number,
  change: { text?: string; status?: ParaphraseStatus },
): (Paraphrase & { record: number }) | undefined {
  return writeTransaction(db, () => {
    const current = getParaphrase(db, id)
    if (!current) return undefined
    const record = getRecord(db, current.record)!
    const checks =
      change.text !== undefined && change.text !== current.text
        ? checksOf(record.question, change.text, record.answer, current.checks)
        : undefined
    return updateParaphrase(db, id, { ...change, checks })
  })
}

/** Reverts the dataset's last undo step (see undoLastStep), checking a restored text again; says what it undid. */
export function undoEdit(db: Db, datasetId: number): string | null {
  return writeTransaction(db, () => {
    const undone = undoLastStep(db, datasetId)
    ensureChecks(db)
    return undone
  })
}

/**
 * Checks the paraphrases the store holds unchecked (from before schema 5, restored by an undo, or written by other
 * code); returns how many.
 */
export function ensureChecks(db: Db): number {
  const rows = uncheckedParaphrases(db)
  if (rows.length === 0) return 0
  setParaphraseChecks(
    db,
    rows.map((row) => ({ id: row.id, checks: checksOf(row.question, row.text, row.answer, row.checks) })),
  )
  return rows.length
}
