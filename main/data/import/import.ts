// Importing a dataset from one file (or an aligned verl original + rewrite pair) into the store: read, recognise
// the format (main/data/formats/; or apply a column map), turn rows into records, flag duplicates and rows without
// an answer, and store everything in one transaction. Nothing is dropped or merged silently, and any error (which
// names the file, the row and the field) leaves the store as it was.
import { basename, extname } from 'node:path'
import type { CreatedDataset, NewRecord, ParaphraseStatus } from '../../store/datasets'
import { diskFullReason, isDiskFull } from '../../disk-full'
import type { Db } from '../../store/database'
import { createDataset, precheck } from '../datasets'
import { rowFormatOf } from '../formats'
import type { ImportFormat, Schema } from '../formats'
import { readRow } from '../formats/format'
import { readMappedRow } from '../formats/mapped'
import type { ColumnMap } from '../formats/mapped'
import { alignRewrites } from '../formats/verl-pair'
import { containerOf, readTable } from './read-table'
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
  /** Progress over the whole import: reading the file(s), checking the paraphrases, then storing. */
  onStage?: (stage: 'reading' | 'checking' | 'storing', fraction: number) => void
}

export interface ImportResult extends CreatedDataset {
  name: string
  schema: Schema | 'mapped'
  flagged: { duplicate: number; noAnswer: number }
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
  const tables: Table[] = []
  for (const [i, file] of files.entries()) {
    tables.push(
      await readTable(file, containerFor(file, format), {
        signal: options.signal,
        onProgress: (fraction) => options.onStage?.('reading', (i + fraction) / files.length),
      }),
    )
  }
  const original = tables[0]!
  let schema: Schema | 'mapped'
  let records: NewRecord[]
  const context = { file: original.file, paraphraseStatus }
  if (options.map) {
    schema = 'mapped'
    records = original.rows.map((row) => readMappedRow(options.map!, row, context))
  } else {
    const rowFormat = rowFormatOf(original, format)
    schema = rowFormat.name
    if (tables[1] && schema !== 'verl') {
      throw new Error(
        `${tables[1].file}: a second file is the rewrite of a verl pair, but ${original.file} is in the ${schema} format.`,
      )
    }
    records = original.rows.map((row) => readRow(rowFormat, row, context))
  }
  if (tables[1]) {
    if (!options.map) rowFormatOf(tables[1], 'verl')
    alignRewrites(records, original, tables[1], paraphraseStatus)
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
  return { ...created, name, schema, flagged }
}
