// Importing a dataset from one file (or an aligned verl original + rewrite pair) into the store: read, recognise
// the schema (or apply a column map), turn rows into records, flag duplicates and rows without an answer, and
// store everything in one transaction. Nothing is dropped or merged silently, and any error (which names the
// file, the row and the field) leaves the store as it was.
import { basename, extname } from 'node:path'
import { createDataset, type CreatedDataset, type NewRecord, type ParaphraseStatus } from '../../store/datasets'
import { precheck } from '../../store/records'
import { diskFullReason, isDiskFull } from '../../disk-full'
import type { Db } from '../../store/database'
import { containerOf, readTable, type Container, type ReadOptions, type Table } from './read-table'
import { detectSchema, looksLikeGsm8k, mappedRowToRecord, rowToRecord, SCHEMAS, type ColumnMap, type Schema } from './schemas'

export const IMPORT_FORMATS = ['auto', 'jsonl', 'csv', 'parquet', 'verl', 'verl-pair', 'pairs', 'gsm8k'] as const
export type ImportFormat = (typeof IMPORT_FORMATS)[number]

export const FLAG_DUPLICATE = 'duplicate'
export const FLAG_NO_ANSWER = 'no-answer'
export const FLAG_PAIR_ANSWER_MISMATCH = 'pair-answer-mismatch'

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

function schemaFor(table: Table, format: ImportFormat): Schema {
  const named = (SCHEMAS as readonly string[]).includes(format) ? (format as Schema) : format === 'verl-pair' ? 'verl' : undefined
  const detected = detectSchema(table.columns)
  const schema = named ?? (detected === 'plain' && looksLikeGsm8k(table.rows) ? 'gsm8k' : detected)
  if (!schema) {
    throw new Error(
      `${table.file}: the columns (${table.columns.join(', ')}) match no known schema (verl, pairs, gsm8k, question/answer); ` +
        'name them with --map question=COL,answer=COL[,paraphrase=COL][,split=COL].',
    )
  }
  const needs: Record<Schema, string[]> = {
    verl: ['prompt'],
    pairs: ['original_question', 'rephrased_question'],
    gsm8k: ['question', 'answer'],
    plain: ['question'],
  }
  const missing = needs[schema].filter((column) => !table.columns.includes(column))
  if (missing.length > 0) {
    throw new Error(
      `${table.file}: the ${schema} format needs column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, ` +
        `but the file has ${table.columns.join(', ')}; pass the right --format or a --map.`,
    )
  }
  return schema
}

/** Adds the rewrite file's questions as paraphrases, row by row, checking that the two files align. */
function alignRewrites(records: NewRecord[], original: Table, rewrite: Table, status: ParaphraseStatus): void {
  if (rewrite.rows.length !== original.rows.length) {
    throw new Error(
      `${rewrite.file}: ${rewrite.rows.length} rows, but ${original.file} has ${original.rows.length}; ` +
        'the rewrite file must align with the original row by row.',
    )
  }
  for (const [i, record] of records.entries()) {
    const row = rewrite.rows[i]!
    const paired = rowToRecord('verl', row, { file: rewrite.file, paraphraseStatus: status, allowEmptyQuestion: true })
    const index = (original.rows[i]!.values.extra_info as Record<string, unknown> | undefined)?.index
    const rewriteIndex = (row.values.extra_info as Record<string, unknown> | undefined)?.index
    if (index !== undefined && rewriteIndex !== undefined && index !== rewriteIndex) {
      throw new Error(
        `${rewrite.file}: row at ${row.at}: field "extra_info.index" is ${JSON.stringify(rewriteIndex)}, but the original's row has ` +
          `${JSON.stringify(index)}; the files are not aligned (sort both by extra_info.index).`,
      )
    }
    if (paired.question.trim() !== '') record.paraphrases = [{ text: paired.question, origin: 'imported', status }]
    if ((paired.answer ?? '').trim() !== (record.answer ?? '').trim())
      record.flags = [...(record.flags ?? []), FLAG_PAIR_ANSWER_MISMATCH]
  }
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
  if (options.map) {
    schema = 'mapped'
    records = original.rows.map((row) => mappedRowToRecord(options.map!, row, { file: original.file, paraphraseStatus }))
  } else {
    schema = schemaFor(original, format)
    if (tables[1] && schema !== 'verl') {
      throw new Error(
        `${tables[1].file}: a second file is the rewrite of a verl pair, but ${original.file} is in the ${schema} format.`,
      )
    }
    const s = schema
    records = original.rows.map((row) => rowToRecord(s, row, { file: original.file, paraphraseStatus }))
  }
  if (tables[1]) {
    if (!options.map) schemaFor(tables[1], 'verl')
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
