// The Parquet columns the writers of verl and pairs files share: text, 64-bit integers, chat messages as verl stores
// prompts, and structs; each with the schema hyparquet-writer needs for it.
import { parquetWriteFile } from 'hyparquet-writer'
import type { ColumnSource } from 'hyparquet-writer'

export interface Column {
  column: ColumnSource
  schema: object[]
}

export const messages = (system: unknown, question: string): { content: string; role: string }[] => [
  ...(typeof system === 'string' ? [{ content: system, role: 'system' }] : []),
  { content: question, role: 'user' },
]

const stringSchema = (name: string): object => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' })

/** A text column. */
export const textColumn = (name: string, data: (string | null)[]): Column => ({
  column: { name, data },
  schema: [stringSchema(name)],
})

export function int64Column(name: string, data: number[]): Column {
  return { column: { name, data: data.map((n) => BigInt(n)) }, schema: [{ name, type: 'INT64', repetition_type: 'OPTIONAL' }] }
}

/** A list<struct<content, role>> column, as verl's chat prompts are stored. */
export function chatColumn(name: string, data: { content: string; role: string }[][]): Column {
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

/** A struct column of text fields. */
export function textStructColumn(name: string, fields: string[], data: Record<string, string | null>[]): Column {
  return {
    column: { name, data },
    schema: [{ name, repetition_type: 'OPTIONAL', num_children: fields.length }, ...fields.map(stringSchema)],
  }
}

export const sourceText = (value: unknown): string | null =>
  value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value)

/** A struct column whose fields are the union of the rows' keys: INT64 where every value is an integer, else text. */
export function structColumn(name: string, rows: Record<string, unknown>[]): Column {
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

export function writeParquet(file: string, columns: Column[]): void {
  parquetWriteFile({
    filename: file,
    columnData: columns.map((c) => c.column),
    schema: [{ name: 'root', num_children: columns.length }, ...columns.flatMap((c) => c.schema)] as never,
  })
}
