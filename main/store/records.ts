// A dataset's records and paraphrases as the pair editor works on them: pages of records matching a filter
// (full-text search through the FTS5 tables of migration 5), paraphrase edits with their answer-preservation
// checks, and the edit history that one undo walks back a user step at a time (a bulk change is one step).
import type { DatasetRecordRow, Finding, Paraphrase, RecordFilter } from '../../preload/contract'
import { CHECK_NAMES, FINDING_CHECKS, MODEL_CHECK_NAMES, SEVERITIES } from '../../preload/constants'
import type { Db } from './database'
import type { ParaphraseOrigin, ParaphraseStatus } from './datasets'
import { NOW, prepared, writeTransaction } from './sql'

type CheckName = (typeof FINDING_CHECKS)[number]
type Severity = (typeof SEVERITIES)[number]

// ---- checks ------------------------------------------------------------------------------------------------

/** Checks a mask has room for: ten fit the 31 bits JavaScript's bitwise operators keep. */
const MASK_SLOTS = 10

/**
 * A check's place in the mask: the rule checks from 0 in CHECK_NAMES order, the model checks in the top slots (so a
 * rule check added at the end of CHECK_NAMES moves no stored model finding's bit).
 */
const slotOf = (check: CheckName): number => {
  const model = (MODEL_CHECK_NAMES as readonly string[]).indexOf(check)
  return model >= 0 ? MASK_SLOTS - MODEL_CHECK_NAMES.length + model : (CHECK_NAMES as readonly string[]).indexOf(check)
}

/**
 * The bit of paraphrases.failed_checks that says a paraphrase has a finding of `check` with `severity` (schema 8:
 * bit 3 × the check's slot + SEVERITIES index), so a filter by check, by severity or by both is one mask test.
 */
const findingBit = (check: CheckName, severity: Severity): number =>
  1 << (slotOf(check) * SEVERITIES.length + SEVERITIES.indexOf(severity))

/** The mask of the findings a filter asks for: of one check, of one severity, or of that check with that severity. */
export function findingMask(check?: CheckName, severity?: Severity): number {
  let mask = 0
  for (const c of check === undefined ? FINDING_CHECKS : [check])
    for (const s of severity === undefined ? SEVERITIES : [severity]) mask |= findingBit(c, s)
  return mask
}

const isFinding = (value: unknown): value is { check: CheckName; severity: Severity } =>
  value !== null &&
  typeof value === 'object' &&
  FINDING_CHECKS.includes((value as { check: CheckName }).check) &&
  SEVERITIES.includes((value as { severity: Severity }).severity)

/** A paraphrase's findings as stored in its checks JSON; unknown checks or severities are left out. */
export function findingsOf(checks: Record<string, unknown>): Finding[] {
  return Array.isArray(checks.findings)
    ? checks.findings
        .filter(isFinding)
        .map((f) => ({ check: f.check, severity: f.severity, message: String((f as Finding).message ?? '') }))
    : []
}

/**
 * A paraphrase's checks as stored: the JSON, and the findings mask (null: not checked yet, see uncheckedParaphrases;
 * checks from before schema 8 carry no findings and are checked again).
 */
export function checkColumns(checks: object | undefined): { json: string; mask: number | null } {
  const findings = (checks as { findings?: unknown } | undefined)?.findings
  return {
    json: JSON.stringify(checks ?? {}),
    mask: Array.isArray(findings)
      ? findings.filter(isFinding).reduce((mask, f) => mask | findingBit(f.check, f.severity), 0)
      : null,
  }
}

const parseObject = (text: string): Record<string, unknown> => {
  const value = JSON.parse(text) as unknown
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

export interface UncheckedParaphrase {
  id: number
  text: string
  /** What the paraphrase carries already (e.g. its family), kept beside the checks. */
  checks: Record<string, unknown>
  question: string
  answer: string | null
}

/**
 * The paraphrases not checked yet (failed_checks NULL: rows from before schema 5, text an undo restored, or written
 * by other code); cheap when there are none, thanks to a partial index.
 */
export function uncheckedParaphrases(db: Db): UncheckedParaphrase[] {
  return paraphrasePairs(db, 'WHERE p.failed_checks IS NULL')
}

/** Every paraphrase of a dataset with its record's question and answer, in dataset order (what `cwb checks` checks). */
export function datasetParaphrases(db: Db, datasetId: number): UncheckedParaphrase[] {
  return paraphrasePairs(db, 'WHERE r.dataset_id = ? ORDER BY r.position, p.id', datasetId)
}

export interface FilteredPair extends UncheckedParaphrase {
  record: number
  /** The record's 0-based place in its dataset. */
  position: number
}

/**
 * The paraphrases of the records matching a filter that meet its paraphrase conditions, rejected ones left out
 * unless the filter asks for them, with their records' questions and answers, in dataset order (what a model check
 * covers).
 */
export function filteredPairs(db: Db, datasetId: number, filter: RecordFilter): FilteredPair[] {
  const sql = recordFilterSql(datasetId, filter)
  const rejected = filter.status === 'rejected' ? '' : `AND p.status <> 'rejected'`
  const rows = db
    .prepare(
      `SELECT p.id, p.text, p.checks, r.question, r.answer, r.id AS record, r.position FROM paraphrases p
       JOIN records r ON r.id = p.record_id WHERE ${sql.where} AND ${sql.paraphrase} ${rejected} ORDER BY r.position, p.id`,
    )
    .all(sql.params) as (Omit<FilteredPair, 'checks'> & { checks: string })[]
  return rows.map((row) => ({ ...row, checks: parseObject(row.checks) }))
}

/** Paraphrases with their record's question and answer, as the checks take them; `where` selects and orders. */
function paraphrasePairs(db: Db, where: string, ...params: unknown[]): UncheckedParaphrase[] {
  const rows = db
    .prepare(
      `SELECT p.id, p.text, p.checks, r.question, r.answer FROM paraphrases p JOIN records r ON r.id = p.record_id ${where}`,
    )
    .all(...params) as (Omit<UncheckedParaphrase, 'checks'> & { checks: string })[]
  return rows.map((row) => ({ ...row, checks: parseObject(row.checks) }))
}

/** Stores computed checks (with their `findings`) of paraphrases, in one transaction. */
export function setParaphraseChecks(db: Db, rows: readonly { id: number; checks: object }[]): void {
  const update = db.prepare('UPDATE paraphrases SET checks = ?, failed_checks = ? WHERE id = ?')
  writeTransaction(db, () => {
    for (const row of rows) {
      const checks = checkColumns(row.checks)
      update.run(checks.json, checks.mask, row.id)
    }
  })
}

// ---- filters -----------------------------------------------------------------------------------------------

const MAX_SEARCH_WORDS = 32

/**
 * The user's words as an FTS5 query: each word quoted (so no character of theirs is FTS5 syntax), all required,
 * the last one also as a prefix (search as you type). Undefined when the text has no word characters.
 */
export function ftsQuery(search: string): string | undefined {
  const words = search.match(/[\p{L}\p{N}\p{M}]+/gu)?.slice(0, MAX_SEARCH_WORDS)
  if (!words || words.length === 0) return undefined
  return words.map((word, i) => `"${word}"${i === words.length - 1 ? '*' : ''}`).join(' ')
}

export interface FilterSql {
  /** Conditions on records aliased `r`. */
  where: string
  /** Conditions on paraphrases aliased `p` that the filter asks of a paraphrase (status, failed check, origin). */
  paraphrase: string
  params: Record<string, string | number>
}

/** The SQL of a record filter over one dataset (named parameters, values bound: nothing of the user's is spliced in). */
export function recordFilterSql(datasetId: number, filter: RecordFilter): FilterSql {
  const where = ['r.dataset_id = @dataset']
  const paraphrase: string[] = []
  const params: Record<string, string | number> = { dataset: datasetId }
  if (filter.split !== undefined) {
    where.push('r.split = @split')
    params.split = filter.split
  }
  if (filter.duplicate !== undefined) where.push(`${filter.duplicate ? '' : 'NOT '}(r.flags LIKE '%"duplicate"%')`)
  if (filter.noAnswer !== undefined) where.push(`${filter.noAnswer ? '' : 'NOT '}(TRIM(COALESCE(r.answer, '')) = '')`)
  const search = filter.search?.trim()
  if (search) {
    const match = ftsQuery(search)
    if (match !== undefined) {
      where.push(`(r.id IN (SELECT rowid FROM records_fts WHERE records_fts MATCH @match)
        OR r.id IN (SELECT s.record_id FROM paraphrases s WHERE s.id IN (SELECT rowid FROM paraphrases_fts WHERE paraphrases_fts MATCH @match)))`)
      params.match = match
    } else {
      // Only punctuation or symbols ("$", "+"): FTS5 indexes none of it, so look for the text itself.
      where.push(`(instr(r.question, @needle) OR instr(COALESCE(r.answer, ''), @needle)
        OR EXISTS (SELECT 1 FROM paraphrases s WHERE s.record_id = r.id AND instr(s.text, @needle)))`)
      params.needle = search
    }
  }
  if (filter.status !== undefined && filter.status !== 'none') {
    paraphrase.push('p.status = @status')
    params.status = filter.status
  }
  if (filter.failedCheck !== undefined || filter.severity !== undefined) {
    paraphrase.push('(p.failed_checks & @failedMask) <> 0')
    params.failedMask = findingMask(filter.failedCheck, filter.severity)
  }
  if (filter.origin !== undefined) {
    paraphrase.push('p.origin = @origin')
    params.origin = filter.origin
  }
  if (filter.status === 'none') where.push('NOT EXISTS (SELECT 1 FROM paraphrases p WHERE p.record_id = r.id)')
  if (paraphrase.length > 0)
    where.push(`EXISTS (SELECT 1 FROM paraphrases p WHERE p.record_id = r.id AND ${paraphrase.join(' AND ')})`)
  return { where: where.join(' AND '), paraphrase: paraphrase.join(' AND ') || '1', params }
}

// ---- reading -----------------------------------------------------------------------------------------------

interface ParaphraseRow {
  id: number
  record: number
  text: string
  origin: ParaphraseOrigin
  status: ParaphraseStatus
  checks: string
  updatedAt: string
}

const PARAPHRASE_COLUMNS = 'id, record_id AS record, text, origin, status, checks, updated_at AS updatedAt'

function toParaphrase(row: ParaphraseRow): Paraphrase {
  const checks = parseObject(row.checks)
  const findings = findingsOf(checks)
  const failed = FINDING_CHECKS.filter((name) => findings.some((f) => f.check === name))
  return {
    id: row.id,
    text: row.text,
    origin: row.origin,
    status: row.status,
    failed,
    findings,
    checks,
    updatedAt: row.updatedAt,
  }
}

export function getParaphrase(db: Db, id: number): (Paraphrase & { record: number }) | undefined {
  const row = db.prepare(`SELECT ${PARAPHRASE_COLUMNS} FROM paraphrases WHERE id = ?`).get(id) as ParaphraseRow | undefined
  return row && { ...toParaphrase(row), record: row.record }
}

/** The record ids matching a filter, in dataset order. */
export function matchingRecordIds(db: Db, datasetId: number, filter: RecordFilter): number[] {
  const sql = recordFilterSql(datasetId, filter)
  return db.prepare(`SELECT r.id FROM records r WHERE ${sql.where} ORDER BY r.position`).pluck().all(sql.params) as number[]
}

/**
 * One page of the records matching a filter, in dataset order, each with all its paraphrases; and how many match
 * (`knownTotal` when the caller knows it still holds: counting is most of a filtered page's time).
 */
export function recordPage(
  db: Db,
  datasetId: number,
  filter: RecordFilter,
  offset: number,
  limit: number,
  knownTotal?: number,
): { total: number; rows: DatasetRecordRow[] } {
  const sql = recordFilterSql(datasetId, filter)
  const total = knownTotal ?? (db.prepare(`SELECT COUNT(*) FROM records r WHERE ${sql.where}`).pluck().get(sql.params) as number)
  const records = db
    .prepare(
      `SELECT r.id, r.position, r.question, r.answer, r.split, r.flags FROM records r WHERE ${sql.where}
       ORDER BY r.position LIMIT @limit OFFSET @offset`,
    )
    .all({ ...sql.params, limit, offset }) as (Omit<DatasetRecordRow, 'flags' | 'paraphrases'> & { flags: string })[]
  const paraphrases = db
    .prepare(
      `SELECT ${PARAPHRASE_COLUMNS} FROM paraphrases WHERE record_id IN (SELECT value FROM json_each(?)) ORDER BY record_id, id`,
    )
    .all(JSON.stringify(records.map((r) => r.id))) as ParaphraseRow[]
  const byRecord = new Map<number, Paraphrase[]>()
  for (const row of paraphrases) {
    const list = byRecord.get(row.record) ?? []
    list.push(toParaphrase(row))
    byRecord.set(row.record, list)
  }
  return {
    total,
    rows: records.map((r) => ({ ...r, flags: JSON.parse(r.flags) as string[], paraphrases: byRecord.get(r.id) ?? [] })),
  }
}

export interface RecordText {
  id: number
  datasetId: number
  /** 0-based place in its dataset; the Datasets view shows it 1-based ("Record 1"). */
  position: number
  question: string
  answer: string | null
  source: Record<string, unknown>
}

/**
 * A record as messages name it: by its number in its dataset, as the Datasets view shows it, then by its stored id
 * (ids keep counting across datasets, so id 2501 may be record 1).
 */
export function recordName(record: { id: number; position: number }, dataset: string): string {
  return `record ${record.position + 1} of dataset "${dataset}" (id ${record.id})`
}

export function getRecord(db: Db, id: number): RecordText | undefined {
  const row = db
    .prepare('SELECT id, dataset_id AS datasetId, position, question, answer, source FROM records WHERE id = ?')
    .get(id) as (Omit<RecordText, 'source'> & { source: string }) | undefined
  return row && { ...row, source: parseObject(row.source) }
}

/** The records of a dataset that have a paraphrase of this origin already. */
export function recordsWithParaphraseOf(db: Db, datasetId: number, origin: ParaphraseOrigin): number[] {
  return db
    .prepare(
      `SELECT DISTINCT p.record_id FROM paraphrases p JOIN records r ON r.id = p.record_id WHERE r.dataset_id = ? AND p.origin = ?`,
    )
    .pluck()
    .all(datasetId, origin) as number[]
}

/** The texts of a record's paraphrases. */
export function paraphraseTexts(db: Db, recordId: number): string[] {
  return prepared(db, 'SELECT text FROM paraphrases WHERE record_id = ?', { pluck: true }).all(recordId) as string[]
}

// ---- writing, with the edit history ----------------------------------------------------------------------

interface EditEntry {
  entityId: number
  field: 'text' | 'status' | 'created'
  before: string | null
  after: string | null
}

/** Writes one undo step's edits (call inside the transaction that made the changes). */
function recordStep(db: Db, datasetId: number, entries: readonly EditEntry[]): void {
  if (entries.length === 0) return
  const step =
    (db.prepare('SELECT COALESCE(MAX(undo_step), 0) + 1 FROM edits WHERE dataset_id = ?').pluck().get(datasetId) as number) ?? 1
  const insert = db.prepare(
    `INSERT INTO edits (entity, entity_id, field, before, after, dataset_id, undo_step) VALUES ('paraphrase', ?, ?, ?, ?, ?, ?)`,
  )
  for (const e of entries) insert.run(e.entityId, e.field, e.before, e.after, datasetId, step)
}

/**
 * Stores a new paraphrase of a record with its checks (computed by the caller). `edit` records it for undo (a
 * user's add); generated paraphrases are not user steps and are not.
 */
export function insertParaphrase(
  db: Db,
  record: Pick<RecordText, 'id' | 'datasetId'>,
  input: { text: string; origin: ParaphraseOrigin; status: ParaphraseStatus; checks: object },
  options: { edit?: boolean } = {},
): Paraphrase {
  return writeTransaction(db, (): Paraphrase => {
    const checks = checkColumns(input.checks)
    const id = Number(
      db
        .prepare('INSERT INTO paraphrases (record_id, text, origin, status, checks, failed_checks) VALUES (?, ?, ?, ?, ?, ?)')
        .run(record.id, input.text, input.origin, input.status, checks.json, checks.mask).lastInsertRowid,
    )
    if (options.edit) recordStep(db, record.datasetId, [{ entityId: id, field: 'created', before: null, after: input.text }])
    return getParaphrase(db, id)!
  })
}

/**
 * Changes a paraphrase's text (with the new text's checks, computed by the caller) and/or status as one undo step;
 * undefined when there is no such paraphrase.
 */
export function updateParaphrase(
  db: Db,
  id: number,
  change: { text?: string; checks?: object; status?: ParaphraseStatus },
): (Paraphrase & { record: number }) | undefined {
  return writeTransaction(db, () => {
    const current = getParaphrase(db, id)
    if (!current) return undefined
    const entries: EditEntry[] = []
    if (change.text !== undefined && change.text !== current.text) {
      const checks = checkColumns(change.checks)
      db.prepare(`UPDATE paraphrases SET text = ?, checks = ?, failed_checks = ?, updated_at = ${NOW} WHERE id = ?`).run(
        change.text,
        checks.json,
        checks.mask,
        id,
      )
      entries.push({ entityId: id, field: 'text', before: current.text, after: change.text })
    }
    if (change.status !== undefined && change.status !== current.status) {
      db.prepare(`UPDATE paraphrases SET status = ?, updated_at = ${NOW} WHERE id = ?`).run(change.status, id)
      entries.push({ entityId: id, field: 'status', before: current.status, after: change.status })
    }
    recordStep(db, getRecord(db, current.record)!.datasetId, entries)
    return getParaphrase(db, id)
  })
}

/** How many paraphrases a bulk status change changed (or would), by the status each had before. */
export type StatusCounts = Record<ParaphraseStatus, number>

/**
 * Sets the status of the paraphrases of the records matching a filter (those that meet the filter's own
 * paraphrase conditions; only pending ones when onlyPending), in one transaction and one undo step. Says how many
 * changed, by the status each had; a dry run only counts them.
 */
export function bulkStatus(
  db: Db,
  datasetId: number,
  filter: RecordFilter,
  status: ParaphraseStatus,
  options: { onlyPending: boolean; dryRun?: boolean },
): { changed: number; from: StatusCounts } {
  const sql = recordFilterSql(datasetId, filter)
  const write = db.transaction((): { changed: number; from: StatusCounts } => {
    const rows = db
      .prepare(
        `SELECT p.id, p.status FROM paraphrases p JOIN records r ON r.id = p.record_id
         WHERE ${sql.where} AND ${sql.paraphrase} AND p.status <> @target ${options.onlyPending ? `AND p.status = 'pending'` : ''}`,
      )
      .all({ ...sql.params, target: status }) as { id: number; status: ParaphraseStatus }[]
    const from: StatusCounts = { pending: 0, accepted: 0, rejected: 0 }
    for (const row of rows) from[row.status]++
    if (options.dryRun) return { changed: rows.length, from }
    const update = db.prepare(`UPDATE paraphrases SET status = ?, updated_at = ${NOW} WHERE id = ?`)
    for (const row of rows) update.run(status, row.id)
    recordStep(
      db,
      datasetId,
      rows.map((row) => ({ entityId: row.id, field: 'status', before: row.status, after: status })),
    )
    return { changed: rows.length, from }
  })
  return options.dryRun ? write.deferred() : write.immediate()
}

/**
 * Where a record (by its 0-based place in the dataset) is in the list a filter makes: its index there, or null
 * when the filter hides it; record is null when the dataset has no such record.
 */
export function locateRecord(
  db: Db,
  datasetId: number,
  filter: RecordFilter,
  position: number,
): { record: { id: number; position: number } | null; index: number | null } {
  const find = db.prepare('SELECT id, position FROM records WHERE dataset_id = ? AND position = ?')
  const record = find.get(datasetId, position) as { id: number; position: number } | undefined
  if (!record) return { record: null, index: null }
  const sql = recordFilterSql(datasetId, filter)
  const shown = db
    .prepare(`SELECT 1 FROM records r WHERE ${sql.where} AND r.id = @record`)
    .get({ ...sql.params, record: record.id })
  if (!shown) return { record, index: null }
  const index = db
    .prepare(`SELECT COUNT(*) FROM records r WHERE ${sql.where} AND r.position < @position`)
    .pluck()
    .get({ ...sql.params, position }) as number
  return { record, index }
}

interface EditRow {
  id: number
  entity: string
  entityId: number
  field: string
  before: string | null
  after: string | null
  createdAt: string
  step: number
  record: number | null
  /** The record's 0-based place in its dataset (its number in the list, less one); null with record. */
  recordPosition: number | null
}

/** What an undo step reverted, in words, and the records it touched (by id and 0-based place), in dataset order. */
export interface Undone {
  undone: string | null
  records: { id: number; position: number }[]
}

/** Records named by their numbers in the list: "record 3", "records 3 and 7", "records 3, 7, 9 and 2 more". */
function recordNumbers(records: readonly { position: number }[]): string {
  const numbers = records.map((r) => String(r.position + 1))
  if (numbers.length === 1) return `record ${numbers[0]}`
  if (numbers.length <= 4) return `records ${numbers.slice(0, -1).join(', ')} and ${numbers.at(-1)}`
  return `records ${numbers.slice(0, 3).join(', ')} and ${numbers.length - 3} more`
}

/**
 * Reverts the dataset's last undo step exactly (text, status, or the paraphrase added) and forgets it; says what it
 * undid and which records it touched. A restored text is left unchecked (see uncheckedParaphrases) for the caller
 * to check again.
 */
export function undoLastStep(db: Db, datasetId: number): Undone {
  return writeTransaction(db, (): Undone => {
    const step = db.prepare('SELECT MAX(undo_step) FROM edits WHERE dataset_id = ?').pluck().get(datasetId) as number | null
    if (step === null) return { undone: null, records: [] }
    const edits = db
      .prepare(
        'SELECT id, entity_id AS entityId, field, before FROM edits WHERE dataset_id = ? AND undo_step = ? ORDER BY id DESC',
      )
      .all(datasetId, step) as Pick<EditRow, 'id' | 'entityId' | 'field' | 'before'>[]
    // The records, read before an added paraphrase goes with its record id.
    const records = db
      .prepare(
        `SELECT DISTINCT r.id, r.position FROM edits e JOIN paraphrases p ON p.id = e.entity_id JOIN records r ON r.id = p.record_id
         WHERE e.dataset_id = ? AND e.undo_step = ? AND e.entity = 'paraphrase' ORDER BY r.position`,
      )
      .all(datasetId, step) as { id: number; position: number }[]
    const setStatus = db.prepare(`UPDATE paraphrases SET status = ?, updated_at = ${NOW} WHERE id = ?`)
    const touched = new Set<number>()
    for (const edit of edits) {
      if (edit.field === 'status') setStatus.run(edit.before, edit.entityId)
      else if (edit.field === 'created') db.prepare('DELETE FROM paraphrases WHERE id = ?').run(edit.entityId)
      else if (edit.field === 'text') {
        const current = getParaphrase(db, edit.entityId)
        if (current && edit.before !== null) {
          db.prepare(`UPDATE paraphrases SET text = ?, failed_checks = NULL, updated_at = ${NOW} WHERE id = ?`).run(
            edit.before,
            edit.entityId,
          )
        }
      }
      touched.add(edit.entityId)
    }
    db.prepare('DELETE FROM edits WHERE dataset_id = ? AND undo_step = ?').run(datasetId, step)
    const fields = new Set(edits.map((e) => e.field))
    const where = records.length ? ` of ${recordNumbers(records)}` : ''
    if (touched.size > 1) return { undone: `the status change of ${touched.size} paraphrases${where}`, records }
    if (fields.has('created'))
      return { undone: `the paraphrase added to ${records.length ? recordNumbers(records) : 'a record'}`, records }
    return { undone: `the ${[...fields].reverse().join(' and ')} edit of a paraphrase${where}`, records }
  })
}

/** The dataset's edit history, newest first. */
export function listEdits(db: Db, datasetId: number, limit: number): EditRow[] {
  return db
    .prepare(
      `SELECT e.id, e.entity, e.entity_id AS entityId, e.field, e.before, e.after, e.created_at AS createdAt,
              e.undo_step AS step, p.record_id AS record, r.position AS recordPosition
       FROM edits e LEFT JOIN paraphrases p ON e.entity = 'paraphrase' AND p.id = e.entity_id
       LEFT JOIN records r ON r.id = p.record_id
       WHERE e.dataset_id = ? ORDER BY e.id DESC LIMIT ?`,
    )
    .all(datasetId, limit) as EditRow[]
}

/** The accepted paraphrases of a dataset's records, by record id, in the order they were added: a run's second views. */
export function acceptedParaphrases(db: Db, datasetId: number): Map<number, string[]> {
  const rows = prepared(
    db,
    `SELECT p.record_id AS record, p.text FROM paraphrases p JOIN records r ON r.id = p.record_id
     WHERE r.dataset_id = ? AND p.status = 'accepted' ORDER BY p.id`,
  ).all(datasetId) as { record: number; text: string }[]
  const paraphrases = new Map<number, string[]>()
  for (const row of rows) paraphrases.set(row.record, [...(paraphrases.get(row.record) ?? []), row.text])
  return paraphrases
}

/** A record's paraphrases that are not rejected, accepted first, then in the order they were added. */
export function unrejectedParaphrases(db: Db, recordId: number): { id: number; text: string }[] {
  return prepared(
    db,
    `SELECT id, text FROM paraphrases WHERE record_id = ? AND status <> 'rejected' ORDER BY status = 'accepted' DESC, id`,
  ).all(recordId) as { id: number; text: string }[]
}

/** Sets `flag` on the records mapped to true and clears it on those mapped to false, in one transaction. */
export function setRecordFlag(db: Db, flag: string, flagged: ReadonlyMap<number, boolean>): void {
  const read = prepared(db, 'SELECT flags FROM records WHERE id = ?', { pluck: true })
  const write = prepared(db, 'UPDATE records SET flags = ? WHERE id = ?')
  writeTransaction(db, () => {
    for (const [record, on] of flagged) {
      const flags = new Set(JSON.parse(read.get(record) as string) as string[])
      if (on) flags.add(flag)
      else flags.delete(flag)
      write.run(JSON.stringify([...flags]), record)
    }
  })
}
