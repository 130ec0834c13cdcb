// Importing a dataset from one file (or an aligned verl original + rewrite pair) into the store: read, recognise
// the format (main/data/formats/; or apply a column map), turn rows into records, flag duplicates and rows without
// an answer, and store everything in one transaction. Nothing is dropped or merged silently, and any error (which
// names the file, the row and the field) leaves the store as it was. With `skipBadRows`, a row that cannot be read or
// become a record is left out instead, and the result lists each one (file, row, line, field, reason).
import { basename, extname } from 'node:path'
import type { CreatedDataset, NewRecord, ParaphraseStatus } from '../../store/datasets'
import { diskFullReason, isDiskFull } from '../../disk-full'
import type { Db } from '../../store/database'
import { createDataset, precheck } from '../datasets'
import { rowFormatOf } from '../formats'
import type { ImportFormat, Schema } from '../formats'
import { readRow, RowError } from '../formats/format'
import { readMappedRow } from '../formats/mapped'
import type { ColumnMap } from '../formats/mapped'
import { alignRewrites } from '../formats/verl-pair'
import type { RowReader, RowRecord } from '../formats/verl-pair'
import { containerOf, noRowReadable, readTable, rowRef } from './read-table'
import type { Container, ReadOptions, Table } from './read-table'

export const FLAG_DUPLICATE = 'duplicate'
export const FLAG_NO_ANSWER = 'no-answer'

export interface ImportOptions extends ReadOptions {
  /** The original file; `rewrite` is the aligned rewrite file of a verl pair. */
  path: string
  rewrite?: string
  name?: string
  format?: ImportFormat
  map?: ColumnMap
  /** Status of imported paraphrases: accepted (default: released pairs train as they are) or pending (review first). */
  paraphraseStatus?: ParaphraseStatus
  /** Leave out rows that cannot be read or become a record (listed in the result) instead of failing the import. */
  skipBadRows?: boolean
  /** Progress over the whole import: reading the file(s), checking the paraphrases, then storing. */
  onStage?: (stage: 'reading' | 'checking' | 'storing', fraction: number) => void
}

/** A row an import left out with skipBadRows: where it is (data row, and the file line in a text file) and why. */
export interface SkippedRow {
  file: string
  row: number
  /** The physical line it starts on (JSONL, CSV); null in Parquet. */
  line: number | null
  /** The field at fault, where one is (not for a line that is not JSON or a CSV record that does not parse). */
  field: string | null
  /** What is wrong and what to do, in the words the import's error would use. */
  reason: string
}

export interface ImportResult extends CreatedDataset {
  name: string
  schema: Schema | 'mapped'
  flagged: { duplicate: number; noAnswer: number }
  /** The rows left out (skipBadRows); empty when none were. */
  skipped: SkippedRow[]
}

const SKIP_HINT =
  'Fix it, or skip bad rows (`cwb import --skip-bad-rows`, or "Skip bad rows" in the import dialog) to import the other rows.'

/**
 * The reader of one row: a row that cannot be read (`unreadable`) or become a record (a RowError) fails the import,
 * naming the file, the row and the field, or with `skip` is noted in `skipped` and left out.
 */
function rowReader(skip: boolean, skipped: SkippedRow[]): RowReader {
  return (file, row, read) => {
    const at = { file, row: row.row, line: row.line ?? null }
    if (row.unreadable !== undefined) {
      if (!skip) throw new Error(`${file}: ${rowRef(row)}: ${row.unreadable} ${SKIP_HINT}`)
      skipped.push({ ...at, field: null, reason: row.unreadable })
      return undefined
    }
    try {
      return read()
    } catch (error) {
      if (!(error instanceof RowError)) throw error
      if (!skip) throw new Error(`${error.message} ${SKIP_HINT}`, { cause: error })
      skipped.push({ ...at, field: error.field, reason: error.problem })
      return undefined
    }
  }
}

/** A skipped row in one line: `data row 4 (file line 5): field "question" is empty; ...`. */
export function skippedText(row: SkippedRow): string {
  return `${rowRef({ row: row.row, line: row.line ?? undefined })}: ${row.field === null ? '' : `field "${row.field}" `}${row.reason}`
}

const normalise = (question: string): string => question.trim().replace(/\s+/g, ' ').toLowerCase()

/** The dataset name an import takes when none is given: the file's name without extension (and `_original`). */
export function defaultDatasetName(path: string): string {
  return basename(path, extname(path)).replace(/[_-]original$/i, '') || 'dataset'
}

export function containerFor(path: string, format: ImportFormat): Container {
  if (format === 'jsonl' || format === 'csv' || format === 'parquet') return format
  const container = containerOf(path)
  if (!container) {
    throw new Error(
      `${path}: cannot tell the file type from its extension; name it .jsonl, .csv or .parquet, or pass --format jsonl|csv|parquet.`,
    )
  }
  return container
}

/** The table without its unreadable rows, for recognising its format by the columns the readable ones have. */
const readable = (table: Table): Table => ({ ...table, rows: table.rows.filter((row) => row.unreadable === undefined) })

/** Flags every record whose question (whitespace and case aside) occurs more than once, and those without an answer. */
export function flagRecords(records: NewRecord[]): { duplicate: number; noAnswer: number } {
  const counts = new Map<string, number>()
  for (const record of records) counts.set(normalise(record.question), (counts.get(normalise(record.question)) ?? 0) + 1)
  let duplicate = 0
  let noAnswer = 0
  for (const record of records) {
    const flags = new Set(record.flags ?? [])
    if ((counts.get(normalise(record.question)) ?? 0) > 1) {
      flags.add(FLAG_DUPLICATE)
      duplicate++
    }
    if ((record.answer ?? '').trim() === '') {
      flags.add(FLAG_NO_ANSWER)
      noAnswer++
    }
    record.flags = [...flags]
  }
  return { duplicate, noAnswer }
}

export async function importDataset(db: Db, options: ImportOptions): Promise<ImportResult> {
  const format = options.format ?? 'auto'
  if (format === 'verl-pair' && !options.rewrite)
    throw new Error('--format verl-pair needs the rewrite file too: cwb import ORIGINAL REWRITE --format verl-pair')
  const paraphraseStatus = options.paraphraseStatus ?? 'accepted'
  const files = [options.path, ...(options.rewrite ? [options.rewrite] : [])]
  const skip = options.skipBadRows ?? false
  const tables: Table[] = []
  for (const [i, file] of files.entries()) {
    tables.push(
      await readTable(file, containerFor(file, format), {
        signal: options.signal,
        onProgress: (fraction) => options.onStage?.('reading', (i + fraction) / files.length),
        keepUnreadable: true,
      }),
    )
  }
  const original = tables[0]!
  const skipped: SkippedRow[] = []
  const readOne = rowReader(skip, skipped)
  // A row that cannot be read fails the import before the columns are recognised (they may be why no format fits).
  for (const table of tables) {
    const first = table.rows.find((row) => row.unreadable !== undefined)
    if (first && (!skip || table.rows.every((row) => row.unreadable !== undefined))) {
      if (!skip) readOne(table.file, first, () => undefined)
      throw noRowReadable(table)
    }
  }
  let schema: Schema | 'mapped'
  let read: RowRecord[]
  const context = { file: original.file, paraphraseStatus }
  const readAll = (toRecord: (row: Table['rows'][number]) => NewRecord): RowRecord[] =>
    original.rows.flatMap((row, index) => {
      const record = readOne(original.file, row, () => toRecord(row))
      return record ? [{ index, record }] : []
    })
  if (options.map) {
    schema = 'mapped'
    read = readAll((row) => readMappedRow(options.map!, row, context))
  } else {
    const rowFormat = rowFormatOf(readable(original), format)
    schema = rowFormat.name
    if (tables[1] && schema !== 'verl') {
      throw new Error(
        `${tables[1].file}: a second file is the rewrite of a verl pair, but ${original.file} is in the ${schema} format.`,
      )
    }
    read = readAll((row) => readRow(rowFormat, row, context))
  }
  if (tables[1]) {
    if (!options.map) rowFormatOf(readable(tables[1]), 'verl')
    read = alignRewrites(read, original, tables[1], paraphraseStatus, readOne)
  }
  const records = read.map((entry) => entry.record)
  if (records.length === 0 && skipped.length > 0) {
    throw new Error(
      `${original.file}: all ${skipped.length} rows are bad, so there is nothing to import; the first: ` +
        `${skippedText(skipped[0]!)} Is it the right file, --format or --map?`,
    )
  }
  const flagged = flagRecords(records)
  await precheck(records, options.signal, (fraction) => options.onStage?.('checking', fraction))
  if (options.signal?.aborted) throw new Error('Import cancelled; nothing was stored.')
  options.onStage?.('storing', 0)
  const name = (options.name ?? defaultDatasetName(options.path)).trim()
  let created: CreatedDataset
  try {
    created = createDataset(db, {
      name,
      description: `Imported from ${files.map((f) => basename(f)).join(' + ')}`,
      source: { files: files.map((f) => basename(f)), format, schema },
      records,
    })
  } catch (error) {
    if (!isDiskFull(error)) throw error
    throw new Error(
      `Cannot import ${files.join(' + ')}: ${diskFullReason(error)}; nothing was stored and the datasets already there are ` +
        'intact. Free space on the disk holding the workspace, then import again.',
      { cause: error },
    )
  }
  options.onStage?.('storing', 1)
  return { ...created, name, schema, flagged, skipped }
}
