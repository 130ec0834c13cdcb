// Reading a data file as a table of rows: JSONL, CSV or Parquet. Text files stream through a strict UTF-8
// decoder (bad bytes are an error, never silently replaced); Parquet is read in row-group-sized chunks. Both
// report progress and stop between chunks when the signal aborts. Every row keeps the number a user would
// look for in the file: its data row (1-based, after a CSV header, blank lines not counted) and, in a text file, the
// physical line it starts on (which differs from the data row where blank lines or quoted fields span lines).
import { createReadStream, statSync } from 'node:fs'
import type { Stats } from 'node:fs'
import { extname } from 'node:path'
import { parse as parseCsv } from 'csv-parse'
import type { CsvError } from 'csv-parse'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import type { IMPORT_CONTAINERS } from '../../../preload/contract'
import { fileErrorWords } from '../../fs-errors'

export type Container = (typeof IMPORT_CONTAINERS)[number]

export interface TableRow {
  /** The data row, 1-based: the record's number in the file (after a CSV header; blank lines not counted). */
  row: number
  /** The physical line the row starts on in a text file (JSONL, CSV), 1-based; none for Parquet. */
  line?: number
  values: Record<string, unknown>
  /** Why a row that cannot be read is unreadable (kept only when ReadOptions.keepUnreadable asks; values are {}). */
  unreadable?: string
}

/** The error for a file none of whose rows can be read (kept with keepUnreadable), naming the first. */
export function noRowReadable(table: Table): Error {
  const first = table.rows.find((row) => row.unreadable !== undefined)
  return new Error(
    `${table.file}: no row can be read; the first, ${first ? `${rowRef(first)}: ${first.unreadable}` : 'none'} Is it the right file and format?`,
  )
}

/** How messages name a row: "data row N (file line M)", or "data row N" where the file has no lines (Parquet). */
export const rowRef = (row: Pick<TableRow, 'row' | 'line'>): string =>
  `data row ${row.row}${row.line === undefined ? '' : ` (file line ${row.line})`}`

export interface Table {
  file: string
  container: Container
  /** Column names: the union over the rows (JSONL), the header (CSV), the schema (Parquet). */
  columns: string[]
  rows: TableRow[]
}

export interface ReadOptions {
  signal?: AbortSignal
  /** Called now and then with the share of the file read (0 to 1). */
  onProgress?: (fraction: number) => void
  /**
   * Keep rows that cannot be read (a JSONL line that is not a JSON object, a CSV record with the wrong number of
   * fields) as rows with `unreadable` set, instead of failing the whole file: an import that skips bad rows, a preview.
   */
  keepUnreadable?: boolean
}

export class ImportCancelled extends Error {
  constructor() {
    super('Import cancelled; nothing was stored.')
  }
}

const PARQUET_CHUNK_ROWS = 5000

/** The container a path's extension names, or undefined. */
export function containerOf(path: string): Container | undefined {
  const ext = extname(path).toLowerCase()
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl'
  if (ext === '.csv' || ext === '.tsv') return 'csv'
  if (ext === '.parquet' || ext === '.pq') return 'parquet'
  return undefined
}

export async function readTable(file: string, container: Container, options: ReadOptions = {}): Promise<Table> {
  let stat: Stats
  try {
    stat = statSync(file)
  } catch (error) {
    throw new Error(`${file}: cannot read it: ${fileErrorWords(error)}; check the path.`, { cause: error })
  }
  if (stat.isDirectory()) throw new Error(`${file}: a folder, not a data file; choose a .jsonl, .csv or .parquet file.`)
  const size = stat.size
  if (size === 0) throw new Error(`${file}: the file is empty; export the data again or choose another file.`)
  if (container === 'parquet') return readParquet(file, options)
  return container === 'jsonl' ? readJsonl(file, size, options) : readCsv(file, size, options)
}

function checkCancel(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ImportCancelled()
}

/** Parquet's 64-bit integers arrive as BigInt: keep them as numbers where exact, else as decimal strings. */
export function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (Array.isArray(value)) return value.map(plainValue)
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return new TextDecoder().decode(value)
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, plainValue(v)]))
  return value
}

async function readParquet(file: string, { signal, onProgress }: ReadOptions): Promise<Table> {
  const buffer = await asyncBufferFromFile(file)
  let metadata
  try {
    metadata = await parquetMetadataAsync(buffer)
  } catch (error) {
    throw new Error(
      `${file}: not a readable Parquet file (${(error as Error).message}); it may be truncated or another format.`,
      {
        cause: error,
      },
    )
  }
  const total = Number(metadata.num_rows)
  const rows: TableRow[] = []
  for (let start = 0; start < total; start += PARQUET_CHUNK_ROWS) {
    checkCancel(signal)
    const end = Math.min(total, start + PARQUET_CHUNK_ROWS)
    let chunk: Record<string, unknown>[]
    try {
      chunk = (await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end })) as Record<string, unknown>[]
    } catch (error) {
      throw new Error(
        `${file}: rows ${start + 1}-${end} cannot be read (${(error as Error).message}); the file may be truncated or corrupt.`,
        { cause: error },
      )
    }
    for (const [i, values] of chunk.entries())
      rows.push({ row: start + i + 1, values: plainValue(values) as Record<string, unknown> })
    onProgress?.(end / Math.max(1, total))
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { file, container: 'parquet', columns: topLevelNames(metadata.schema), rows }
}

/** The names of the schema's top-level fields (children of the root, skipping nested elements). */
function topLevelNames(schema: { name: string; num_children?: number }[]): string[] {
  const names: string[] = []
  let i = 1
  const skip = (index: number): number => {
    let next = index + 1
    for (let c = 0; c < (schema[index]?.num_children ?? 0); c++) next = skip(next)
    return next
  }
  while (i < schema.length) {
    names.push(schema[i]!.name)
    i = skip(i)
  }
  return names
}

/** Decodes a file's bytes as UTF-8, failing on the first invalid byte with where it is. */
async function* utf8Chunks(file: string, size: number, { signal, onProgress }: ReadOptions): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
  let read = 0
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    checkCancel(signal)
    const bytes = chunk as Buffer
    try {
      yield decoder.decode(bytes, { stream: true })
    } catch (error) {
      throw new Error(
        `${file}: not UTF-8 text (an invalid byte between bytes ${read} and ${read + bytes.length}); convert it, e.g. \`iconv -f latin1 -t utf-8\`.`,
        { cause: error },
      )
    }
    read += bytes.length
    onProgress?.(read / size)
  }
  try {
    const rest = decoder.decode()
    if (rest) yield rest
  } catch (error) {
    throw new Error(`${file}: not UTF-8 text (it ends inside a character); convert it to UTF-8.`, { cause: error })
  }
}

async function readJsonl(file: string, size: number, options: ReadOptions): Promise<Table> {
  const rows: TableRow[] = []
  const columns = new Set<string>()
  let pending = ''
  let line = 0
  const take = (text: string): void => {
    line++
    const trimmed = text.trim()
    if (trimmed === '') return
    const at = { row: rows.length + 1, line }
    const bad = (problem: string, cause?: unknown): void => {
      if (!options.keepUnreadable) throw new Error(`${file}: ${rowRef(at)}: ${problem} Fix or remove the line.`, { cause })
      rows.push({ ...at, values: {}, unreadable: problem })
    }
    let value: unknown
    try {
      value = JSON.parse(trimmed)
    } catch (error) {
      return bad(`not valid JSON (${(error as Error).message}).`, error)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return bad(
        `expected one JSON object per line, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}; ` +
          'each row is one {"question": ..., "answer": ...} object on a line of its own.',
      )
    }
    for (const key of Object.keys(value)) columns.add(key)
    rows.push({ ...at, values: value as Record<string, unknown> })
  }
  for await (const text of utf8Chunks(file, size, options)) {
    pending += text
    let newline = pending.indexOf('\n')
    let start = 0
    while (newline !== -1) {
      take(pending.slice(start, newline))
      start = newline + 1
      newline = pending.indexOf('\n', start)
    }
    pending = pending.slice(start)
  }
  if (pending.trim() !== '') take(pending)
  if (rows.length === 0) throw new Error(`${file}: no rows (only blank lines); export the data again or choose another file.`)
  return { file, container: 'jsonl', columns: [...columns], rows }
}

/** What csv-parse reports with a record or a skipped one: the lines read so far (to the record's last line). */
interface CsvInfo {
  lines: number
  empty_lines: number
}

async function readCsv(file: string, size: number, options: ReadOptions): Promise<Table> {
  const rows: TableRow[] = []
  let columns: string[] = []
  // A record starts on the line after the previous one ended, past the blank lines skipped between them (csv-parse
  // counts both); the header is taken to be one line.
  let ended = 1
  let empty = 0
  const place = (info: CsvInfo): { row: number; line: number } => {
    const line = ended + 1 + (info.empty_lines - empty)
    ended = info.lines
    empty = info.empty_lines
    return { row: rows.length + 1, line }
  }
  const parser = parseCsv({
    columns: (header: string[]) => (columns = header.map((name) => name.trim())),
    bom: true,
    info: true,
    skip_empty_lines: true,
    delimiter: extname(file).toLowerCase() === '.tsv' ? '\t' : ',',
    ...(options.keepUnreadable
      ? {
          skip_records_with_error: true,
          on_skip: (error: CsvError | undefined): undefined => {
            const info = (error ?? {}) as Partial<CsvInfo>
            const at = place({ lines: info.lines ?? ended + 1, empty_lines: info.empty_lines ?? empty })
            const why = error?.message ?? 'a record that cannot be parsed'
            rows.push({ ...at, values: {}, unreadable: `not valid CSV (${why}).` })
          },
        }
      : {}),
  })
  const feeding = (async () => {
    try {
      for await (const text of utf8Chunks(file, size, options)) {
        if (!parser.write(text)) await new Promise((resolve) => parser.once('drain', resolve))
      }
      parser.end()
    } catch (error) {
      parser.destroy(error as Error)
    }
  })()
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: CsvInfo }>) {
      rows.push({ ...place(item.info), values: item.record })
    }
  } catch (error) {
    const err = error as Error & Partial<CsvInfo> & { code?: string }
    if (err instanceof ImportCancelled || err.message.startsWith(file)) throw err
    const where = err.lines ? `${rowRef(place({ lines: err.lines, empty_lines: err.empty_lines ?? empty }))}: ` : ''
    throw new Error(`${file}: ${where}not valid CSV (${err.message}); fix the row or export the file again.`, {
      cause: error,
    })
  }
  await feeding
  if (rows.length === 0) throw new Error(`${file}: no rows under the header; export the data again or choose another file.`)
  return { file, container: 'csv', columns, rows }
}
