// Datasets and paraphrases go into the store with their answer-preservation checks: computed here (paraphrase/
// checks.ts), kept by the store, so every paraphrase a user reviews says what the checks found and how much it
// matters; `cwb checks` runs them again over a stored dataset (recheckDataset).
import type { Db } from '../store/database'
import { insertDataset } from '../store/datasets'
import type { CreatedDataset, NewDataset, NewRecord, ParaphraseOrigin, ParaphraseStatus } from '../store/datasets'
import {
  datasetParaphrases,
  getParaphrase,
  getRecord,
  insertParaphrase,
  setParaphraseChecks,
  uncheckedParaphrases,
  undoLastStep,
  updateParaphrase,
} from '../store/records'
import type { UncheckedParaphrase, Undone } from '../store/records'
import { writeTransaction } from '../store/sql'
import type { Finding, Paraphrase } from '../../preload/contract'
import { CHECK_NAMES, SEVERITIES } from '../../preload/constants'
import { checkPair } from './paraphrase/checks'
import { withModelFindings } from './paraphrase/model-checks'
import type { ModelCheck } from './paraphrase/model-checks'
import type { CheckName, Severity } from './paraphrase/checks'

/** What checks of an older version stored beside their results, which today's checks do not all overwrite. */
const OLD_CHECK_KEYS = ['failed', 'findings', ...CHECK_NAMES]

/**
 * The checks of a paraphrase of `question`, over whatever else the paraphrase carried (e.g. its family); the model
 * checks' results about this text keep their findings beside the rule findings (model-checks.ts).
 */
const checksOf = (question: string, text: string, answer: string | null, extra: object = {}): object =>
  withModelFindings(
    {
      ...Object.fromEntries(Object.entries(extra).filter(([key]) => !OLD_CHECK_KEYS.includes(key))),
      ...checkPair(question, text, answer),
    },
    text,
  )

/** Whether a paraphrase carries checks of today's kind (findings with severities); older ones are checked again. */
const hasChecks = (checks: object | undefined): boolean => Array.isArray((checks as { findings?: unknown } | undefined)?.findings)

/**
 * Stores a dataset, checking every paraphrase against its question and answer on the way in (those checked already,
 * see precheck, keep their checks); a taken name is refused.
 */
export function createDataset(db: Db, input: NewDataset): CreatedDataset {
  return insertDataset(db, { ...input, records: checkedRecords(input.records) })
}

/**
 * The records with every paraphrase checked (those checked already keep their checks): what createDataset stores.
 * A caller that stores them under a write lock checks them first, so that other processes do not wait on the checks.
 */
export function checkedRecords(records: NewRecord[]): NewRecord[] {
  return records.map((record) => ({
    ...record,
    paraphrases: record.paraphrases?.map((paraphrase) =>
      // What is not text is left for the store to refuse, naming the record and the field.
      hasChecks(paraphrase.checks) || typeof paraphrase.text !== 'string' || typeof record.question !== 'string'
        ? paraphrase
        : { ...paraphrase, checks: checksOf(record.question, paraphrase.text, record.answer ?? null, paraphrase.checks) },
    ),
  }))
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

/** Reverts the dataset's last undo step (see undoLastStep), checking a restored text again; says what it undid and where. */
export function undoEdit(db: Db, datasetId: number): Undone {
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
  return checkAndStore(db, uncheckedParaphrases(db)).length
}

/** Checks paraphrases against their questions and answers and stores the results; returns them. */
function checkAndStore(db: Db, rows: UncheckedParaphrase[]): { id: number; checks: object }[] {
  const checked = rows.map((row) => ({ id: row.id, checks: checksOf(row.question, row.text, row.answer, row.checks) }))
  if (checked.length > 0) setParaphraseChecks(db, checked)
  return checked
}

export interface CheckSummary {
  /** Paraphrases checked (each a pair with its record's question). */
  pairs: number
  /** Pairs with at least one error finding; with at least one warning. */
  withError: number
  withWarning: number
  /**
   * Findings of each check by severity (a check finds at most once per pair, so these count pairs too): every rule
   * check, and a model check (judge, agreement) where some pair has its finding.
   */
  byCheck: Record<CheckName, Record<Severity, number>> & Partial<Record<ModelCheck, Record<Severity, number>>>
}

/**
 * Runs the rule checks again on every paraphrase of a dataset and stores their findings in place of the old ones,
 * as an import does (the model checks' findings stay: they are about the same text); says how many pairs have
 * errors and warnings, and what each check found.
 */
export function recheckDataset(db: Db, datasetId: number): CheckSummary {
  const checked = checkAndStore(db, datasetParaphrases(db, datasetId))
  const byCheck = Object.fromEntries(
    CHECK_NAMES.map((name) => [name, Object.fromEntries(SEVERITIES.map((severity) => [severity, 0]))]),
  ) as CheckSummary['byCheck']
  let withError = 0
  let withWarning = 0
  const counts = byCheck as Record<string, Record<Severity, number>>
  for (const { checks } of checked) {
    const { findings } = checks as { findings: Finding[] }
    for (const finding of findings) {
      counts[finding.check] ??= Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<Severity, number>
      counts[finding.check]![finding.severity] += 1
    }
    if (findings.some((f) => f.severity === 'error')) withError += 1
    if (findings.some((f) => f.severity === 'warning')) withWarning += 1
  }
  return { pairs: checked.length, withError, withWarning, byCheck }
}
