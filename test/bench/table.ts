export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export interface BenchRow {
  work: string
  tokens: number
  seconds: number
  /** The same work in the reference implementation, in seconds (same run). */
  reference?: number
}

/** Prints tokens/s for each row, the reference's tokens/s, and their ratio (ours / reference). */
export function printTable(title: string, rows: BenchRow[]): void {
  const lines = [
    ['work', 'tokens', 'ours s', 'ours tok/s', 'PyTorch tok/s', 'ratio'],
    ...rows.map((row) => [
      row.work,
      String(row.tokens),
      row.seconds.toFixed(3),
      (row.tokens / row.seconds).toFixed(0),
      row.reference ? (row.tokens / row.reference).toFixed(0) : 'n/a',
      row.reference ? `${(row.reference / row.seconds).toFixed(2)}x` : 'n/a',
    ]),
  ]
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)))
  console.log(`\n${title}\n${lines.map((l) => l.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n')}\n`)
}
