// Exporting a dataset for training here or on verl:
// - verl-pair: `<name>_original.parquet` and `<name>_rewrite.parquet`, verl's schema (co-rewarding.md section 11),
//   aligned row by row, ready for the Co-rewarding-I launcher;
// - pairs: `<name>_pairs.parquet` with the released pairs' columns;
// - jsonl: `<name>.jsonl`, one record per line with all its paraphrases (what `cwb import` reads back).
// Rejected paraphrases are never exported; --accepted-only keeps only accepted ones. The pair formats take one
// paraphrase per record (the first accepted, else the first pending) and leave out records without one.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parquetWriteFile, type ColumnSource } from 'hyparquet-writer'
import type { Db } from '../../store/database'
import { findDataset } from '../../store/datasets'

export const EXPORT_FORMATS = ['verl-pair', 'pairs', 'jsonl'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export interface ExportOptions {
  format: ExportFormat
  out: string
  acceptedOnly?: boolean
  /** Only the records of this split. */
  split?: string
  /** File names start with this (default: the dataset's name). */
  prefix?: string
}

export interface ExportResult {
  dataset: number
  files: string[]
  /** Rows written (records; for the pair formats, records with a paraphrase). */
  rows: number
  /** Records left out of a pair format for want of an exportable paraphrase. */
  withoutParaphrase: number
}

interface ExportRecord {
  position: number
  question: string
  answer: string | null
  split: string
  source: Record<string, unknown>
  paraphrases: { text: string; status: string }[]
}

function exportRecords(db: Db, datasetId: number, acceptedOnly: boolean): ExportRecord[] {
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

const messages = (system: unknown, question: string): { content: string; role: string }[] => [
  ...(typeof system === 'string' ? [{ content: system, role: 'system' }] : []),
  { content: question, role: 'user' },
]

const string = (name: string, data: (string | null)[]): ColumnSource => ({ name, data })

/** A list<struct<content, role>> column, as verl's chat prompts are stored. */
function chatColumn(name: string, data: { content: string; role: string }[][]): { column: ColumnSource; schema: object[] } {
  return {
    column: { name, data },
    schema: [
      { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    ],
  }
}

const stringSchema = (name: string): object => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' })

function writeParquet(file: string, parts: { column: ColumnSource; schema: object[] }[]): void {
  parquetWriteFile({
    filename: file,
    columnData: parts.map((p) => p.column),
    schema: [{ name: 'root', num_children: parts.length }, ...parts.flatMap((p) => p.schema)] as never,
  })
}

const plain = (column: ColumnSource): { column: ColumnSource; schema: object[] } => ({
  column,
  schema: [stringSchema(column.name)],
})

function int64(name: string, data: number[]): { column: ColumnSource; schema: object[] } {
  return { column: { name, data: data.map((n) => BigInt(n)) }, schema: [{ name, type: 'INT64', repetition_type: 'OPTIONAL' }] }
}

const sourceText = (value: unknown): string | null =>
  value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value)

/** verl's extra_info for a record: the imported one (its split kept in step with the record's), else {index, split}. */
function extraInfo(r: ExportRecord, i: number): Record<string, unknown> {
  const imported = r.source.extra_info
  if (imported === null || typeof imported !== 'object' || Array.isArray(imported)) return { index: i, split: r.split }
  const info = { ...(imported as Record<string, unknown>) }
  if ('split' in info || r.split !== 'train') info.split = r.split
  return info
}

/** A struct column whose fields are the union of the rows' keys: INT64 where every value is an integer, else text. */
function structColumn(name: string, rows: Record<string, unknown>[]): { column: ColumnSource; schema: object[] } {
  const keys = [...new Set(rows.flatMap((row) => Object.keys(row)))]
  const integer = new Set(keys.filter((key) => rows.every((row) => row[key] === undefined || Number.isSafeInteger(row[key]))))
  const data = rows.map((row) =>
    Object.fromEntries(
      keys.map((key) => [
        key,
        row[key] === undefined ? null : integer.has(key) ? BigInt(row[key] as number) : sourceText(row[key]),
      ]),
    ),
  )
  return {
    column: { name, data },
    schema: [
      { name, repetition_type: 'OPTIONAL', num_children: keys.length },
      ...keys.map((key) => (integer.has(key) ? { name: key, type: 'INT64', repetition_type: 'OPTIONAL' } : stringSchema(key))),
    ],
  }
}

const VERL_COLUMNS = ['data_source', 'prompt', 'ability', 'reward_model', 'extra_info', 'system']

function verlFile(file: string, rows: ExportRecord[], question: (r: ExportRecord) => string, datasetName: string): void {
  const extraKeys = [...new Set(rows.flatMap((r) => Object.keys(r.source)))].filter((k) => !VERL_COLUMNS.includes(k))
  const style = (r: ExportRecord): string =>
    sourceText((r.source.reward_model as { style?: unknown } | undefined)?.style) ?? 'rule'
  writeParquet(file, [
    plain(
      string(
        'data_source',
        rows.map((r) => sourceText(r.source.data_source) ?? datasetName),
      ),
    ),
    chatColumn(
      'prompt',
      rows.map((r) => messages(r.source.system, question(r))),
    ),
    plain(
      string(
        'ability',
        rows.map((r) => sourceText(r.source.ability) ?? 'math'),
      ),
    ),
    {
      column: { name: 'reward_model', data: rows.map((r) => ({ ground_truth: r.answer ?? '', style: style(r) })) },
      schema: [
        { name: 'reward_model', repetition_type: 'OPTIONAL', num_children: 2 },
        stringSchema('ground_truth'),
        stringSchema('style'),
      ],
    },
    structColumn('extra_info', rows.map(extraInfo)),
    ...extraKeys.map((key) =>
      plain(
        string(
          key,
          rows.map((r) => sourceText(r.source[key])),
        ),
      ),
    ),
  ])
}

export function exportDataset(db: Db, datasetSpec: string, options: ExportOptions): ExportResult {
  const dataset = findDataset(db, datasetSpec)
  if (!dataset) throw new Error(`No dataset "${datasetSpec}" in this workspace; \`cwb datasets\` lists them.`)
  const records = exportRecords(db, dataset.id, options.acceptedOnly ?? false).filter(
    (r) => options.split === undefined || r.split === options.split,
  )
  mkdirSync(options.out, { recursive: true })
  const base = (options.prefix ?? dataset.name).replace(/[^\w.-]+/g, '_')
  if (options.format === 'jsonl') {
    const file = join(options.out, `${base}.jsonl`)
    const lines = records.map((r) =>
      JSON.stringify({ question: r.question, answer: r.answer, split: r.split, paraphrases: r.paraphrases, source: r.source }),
    )
    writeFileSync(file, lines.length ? `${lines.join('\n')}\n` : '')
    return { dataset: dataset.id, files: [file], rows: records.length, withoutParaphrase: 0 }
  }
  const paired = records.filter((r) => r.paraphrases.length > 0)
  const withoutParaphrase = records.length - paired.length
  if (options.format === 'verl-pair') {
    const original = join(options.out, `${base}_original.parquet`)
    const rewrite = join(options.out, `${base}_rewrite.parquet`)
    verlFile(original, paired, (r) => r.question, dataset.name)
    verlFile(rewrite, paired, (r) => r.paraphrases[0]!.text, dataset.name)
    return { dataset: dataset.id, files: [original, rewrite], rows: paired.length, withoutParaphrase }
  }
  const file = join(options.out, `${base}_pairs.parquet`)
  const extraKeys = [...new Set(paired.flatMap((r) => Object.keys(r.source)))].filter((k) => k !== 'idx' && k !== 'system')
  writeParquet(file, [
    int64(
      'idx',
      paired.map((r) => (typeof r.source.idx === 'number' ? r.source.idx : r.position)),
    ),
    plain(
      string(
        'original_question',
        paired.map((r) => r.question),
      ),
    ),
    plain(
      string(
        'rephrased_question',
        paired.map((r) => r.paraphrases[0]!.text),
      ),
    ),
    plain(
      string(
        'solution',
        paired.map((r) => r.answer),
      ),
    ),
    ...extraKeys.map((key) =>
      plain(
        string(
          key,
          paired.map((r) => sourceText(r.source[key])),
        ),
      ),
    ),
    chatColumn(
      'original_message',
      paired.map((r) => messages(r.source.system, r.question)),
    ),
    chatColumn(
      'rephrased_message',
      paired.map((r) => messages(r.source.system, r.paraphrases[0]!.text)),
    ),
  ])
  return { dataset: dataset.id, files: [file], rows: paired.length, withoutParaphrase }
}

/** One verl Parquet file of a dataset's records (a split's, labelled only when asked), as verl's data.train_files / val_files read it. */
export function exportVerlFile(
  db: Db,
  datasetSpec: string,
  options: { file: string; split?: string; labelledOnly?: boolean },
): { rows: number } {
  const dataset = findDataset(db, datasetSpec)
  if (!dataset) throw new Error(`No dataset "${datasetSpec}" in this workspace; \`cwb datasets\` lists them.`)
  const rows = exportRecords(db, dataset.id, false).filter(
    (r) =>
      (options.split === undefined || r.split === options.split) && (!options.labelledOnly || (r.answer ?? '').trim() !== ''),
  )
  verlFile(options.file, rows, (r) => r.question, dataset.name)
  return { rows: rows.length }
}
