// What the import dialog shows before anything is stored: the file's columns, the schema an import would
// recognise (or null: the user maps the columns), the row count and the first rows.
import type { ImportPreview } from '../../../preload/contract'
import { recognise } from '../formats'
import type { ImportFormat } from '../formats'
import { containerFor } from './import'
import { noRowReadable, readTable, rowRef } from './read-table'

const SAMPLE_ROWS = 20
/** Longer text values are cut in the sample (a dialog shows a glimpse, not a 1 MB cell). */
const SAMPLE_TEXT_CHARS = 2000

function glimpse(value: unknown): unknown {
  if (typeof value === 'string') return value.length > SAMPLE_TEXT_CHARS ? `${value.slice(0, SAMPLE_TEXT_CHARS)}…` : value
  if (Array.isArray(value)) return value.map(glimpse)
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, glimpse(v)]))
  return value
}

/** Reads a file for the import dialog (the caller adds the suggested dataset name, free in its store). */
export async function previewImport(
  path: string,
  format: ImportFormat,
  signal?: AbortSignal,
): Promise<Omit<ImportPreview, 'suggestedName'>> {
  // Rows that cannot be read are counted, not fatal: the dialog says so, and the import may skip them.
  const all = await readTable(path, containerFor(path, format), { signal, keepUnreadable: true })
  const bad = all.rows.filter((row) => row.unreadable !== undefined)
  if (bad.length === all.rows.length) throw noRowReadable(all)
  const table = bad.length === 0 ? all : { ...all, rows: all.rows.filter((row) => row.unreadable === undefined) }
  return {
    file: path,
    container: table.container,
    columns: table.columns,
    schema: recognise(table, format)?.name ?? null,
    rows: all.rows.length,
    sample: table.rows.slice(0, SAMPLE_ROWS).map((row) => glimpse(row.values) as Record<string, unknown>),
    ...(bad.length > 0 ? { unreadable: { rows: bad.length, first: `${path}: ${rowRef(bad[0]!)}: ${bad[0]!.unreadable}` } } : {}),
  }
}
