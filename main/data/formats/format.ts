// What every dataset format module provides, and what their readers share: a row of a recognised format becomes a
// record (question, GT answer, split, paraphrases, and the other fields kept in `source` so an export can write
// them back), checked the same way whatever the format; a writer turns a dataset's records into files.
import type { ExportableRecord, NewParaphrase, NewRecord, ParaphraseStatus } from '../../store/datasets'
import { rowRef } from '../import/read-table'
import type { Table, TableRow } from '../import/read-table'

export interface RowContext {
  file: string
  paraphraseStatus: ParaphraseStatus
  /** A verl pair's rewrite row may be empty (the record then has no paraphrase). */
  allowEmptyQuestion?: boolean
}

/** A format whose rows become records: verl, pairs, GSM8K, plain question/answer. */
export interface RowFormat<Name extends string = string> {
  name: Name
  /** How the message for an unknown schema names it. */
  label: string
  /** The column a row's question comes from. */
  questionField: string
  /** The columns a file in this format must have. */
  needs: string[]
  /** Whether a table is in this format, for `--format auto`. */
  detect(table: Table): boolean
  /** One row as a record, before the checks every format shares (see readRow). */
  read(row: TableRow, context: RowContext): NewRecord
}

export interface ExportTarget {
  /** The folder the files go into. */
  out: string
  /** What the files' names start with. */
  base: string
  /** verl's data_source where a record names none. */
  datasetName: string
}

export interface Written {
  files: string[]
  /** Rows written (records; for the pair formats, records with a paraphrase). */
  rows: number
  /** Records left out of a pair format for want of an exportable paraphrase. */
  withoutParaphrase: number
}

/** Writes a dataset's records (in their stored order, with their exportable paraphrases, accepted first). */
export type DatasetWriter = (records: ExportableRecord[], target: ExportTarget) => Written

/** Where a row's problem is, as messages say it: `FILE: data row N (file line M): field "F"`. */
export const where = (file: string, row: TableRow, field: string): string => `${file}: ${rowRef(row)}: field "${field}"`

/** A row that cannot become a record: the file, the row and the field it names, and the problem in words. */
export class RowError extends Error {
  constructor(
    readonly file: string,
    readonly row: TableRow,
    readonly field: string,
    /** What is wrong and what to do, said after the field ("is empty; every row needs a question."). */
    readonly problem: string,
  ) {
    super(`${where(file, row, field)} ${problem}`)
  }
}

/** The longest question, answer or paraphrase imported (2 Mi characters): far beyond any math problem, short of a dump. */
export const MAX_TEXT_CHARS = 2 * 1024 * 1024
/** How deep a row's values may nest (JSON from a broken exporter can nest without end; storing it would overflow). */
export const MAX_NESTING = 64

function limited(file: string, row: TableRow, field: string, value: string): string {
  if (value.length > MAX_TEXT_CHARS) {
    throw new RowError(
      file,
      row,
      field,
      `is ${value.length} characters long; the limit is ${MAX_TEXT_CHARS} (is it the right column?).`,
    )
  }
  return value
}

/** A required text field: strings as they are; numbers (GT answers often are) as decimal text. */
export function text(file: string, row: TableRow, field: string, value: unknown, required: boolean): string | null {
  if (value === undefined || value === null) {
    if (required) throw new RowError(file, row, field, `is missing; every row needs it (or map another column).`)
    return null
  }
  if (typeof value === 'string') return limited(file, row, field, value)
  if (typeof value === 'number' && !Number.isFinite(value))
    throw new RowError(file, row, field, `is not a finite number (${value}; NaN, or too large to hold); fix the value.`)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  throw new RowError(file, row, field, `should be text, got ${Array.isArray(value) ? 'a list' : typeof value}.`)
}

/** A chat message as verl and the released pairs store them. */
export type Message = { role?: unknown; content?: unknown }

export function withoutKeys(values: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([key]) => !keys.includes(key)))
}

export const imported = (textValue: string, status: ParaphraseStatus): NewParaphrase => ({
  text: textValue,
  origin: 'imported',
  status,
})

/** The first column nested deeper than MAX_NESTING, if any (walked without recursion, so depth cannot overflow it). */
function tooDeep(values: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(values)) {
    const stack: [unknown, number][] = [[value, 1]]
    while (stack.length > 0) {
      const [current, depth] = stack.pop()!
      if (current === null || typeof current !== 'object') continue
      if (depth > MAX_NESTING) return key
      for (const child of Object.values(current)) stack.push([child, depth + 1])
    }
  }
  return undefined
}

/** Checks what every record needs whatever its format: a question, and values that can be stored. */
export function checked(record: NewRecord, row: TableRow, file: string, questionField: string, allowEmpty = false): NewRecord {
  if (!allowEmpty && record.question.trim() === '')
    throw new RowError(file, row, questionField, `is empty; every row needs a question.`)
  limited(file, row, questionField, record.question)
  for (const [i, paraphrase] of (record.paraphrases ?? []).entries()) limited(file, row, `paraphrases[${i}]`, paraphrase.text)
  const deep = tooDeep(row.values)
  if (deep !== undefined)
    throw new RowError(file, row, deep, `is nested more than ${MAX_NESTING} levels deep; flatten it or leave the column out.`)
  return record
}

/** One row of a recognised format as a record (flags are added later, over the whole import). */
export function readRow(format: RowFormat, row: TableRow, context: RowContext): NewRecord {
  return checked(format.read(row, context), row, context.file, format.questionField, context.allowEmptyQuestion)
}

/** The records a pair format writes (those with a paraphrase), and how many it leaves out. */
export function paired(records: ExportableRecord[]): { rows: ExportableRecord[]; withoutParaphrase: number } {
  const rows = records.filter((r) => r.paraphrases.length > 0)
  return { rows, withoutParaphrase: records.length - rows.length }
}
