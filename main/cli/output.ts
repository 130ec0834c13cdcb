// The CLI's output rules: results on stdout (with --json, one JSON object as the last stdout line),
// progress and errors on stderr, errors as one line.

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

export function progress(message: string): void {
  process.stderr.write(`${message}\n`)
}

/** A long job's onProgress: `done/total UNIT (P%)` on stderr each time P, in tenths, moves on. */
export function progressInTenths(unit: string): (done: number, total: number) => void {
  let shown = -1
  return (done, total) => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 10) * 10
    if (percent === shown) return
    shown = percent
    progress(`${done}/${total} ${unit} (${percent}%)`)
  }
}

/** Left-aligned columns for human-readable tables. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
