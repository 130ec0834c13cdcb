// Tables as text: CSV for analysis, Markdown for a write-up, and file names for their downloads.

export type Cell = string | number | boolean | null | undefined

function csvCell(cell: Cell): string {
  if (cell === null || cell === undefined) return ''
  const text = String(cell)
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** RFC 4180 CSV: a header line, then one line per row; empty cells for null. */
export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n'
}

function markdownCell(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return ''
  return String(cell).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

/** A GitHub Markdown table; `right` names the columns (by index) to right-align, such as numbers. */
export function toMarkdown(header: readonly string[], rows: readonly (readonly Cell[])[], right: readonly number[] = []): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
  const rule = header.map((_, i) => (right.includes(i) ? '---:' : '---'))
  return [line(header.map(markdownCell)), line(rule), ...rows.map((row) => line(row.map(markdownCell)))].join('\n') + '\n'
}

/** A file name from a label: letters, digits, dots and dashes. */
export function fileName(label: string, extension: string): string {
  const base = label.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'export'
  return `${base}.${extension}`
}
