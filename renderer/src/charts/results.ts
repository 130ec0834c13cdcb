// The paper-style results table as text: Markdown for a write-up, CSV (fractions, full precision) for analysis.
import type { ResultRow } from '../../../preload/contract'
import { modeLabel } from './modes'
import { toCsv, toMarkdown } from './text'

const pct = (value: number | null): string => (value === null ? '–' : (value * 100).toFixed(1))

/** 43.1 [40.2, 45.0] when the row spans several runs, else 43.1. */
export function withRange(value: number | null, range: readonly [number, number] | null, runs: number): string {
  if (value === null) return '–'
  return range && runs > 1 ? `${pct(value)} [${pct(range[0])}, ${pct(range[1])}]` : pct(value)
}

export const collapseText = (row: ResultRow): string =>
  row.collapseStep === null ? '–' : `step ${row.collapseStep}${row.collapseRule ? ` (${row.collapseRule})` : ''}`

export function resultsMarkdown(rows: readonly ResultRow[], grouped: boolean): string {
  const header = [
    grouped ? 'Group' : 'Run',
    'Reward mode',
    'Runs',
    'Before (%)',
    'Best (%)',
    'Best step',
    'Final (%)',
    'Collapse',
  ]
  return toMarkdown(
    header,
    rows.map((r) => [
      r.label,
      modeLabel(r.mode),
      r.runs.length,
      pct(r.before),
      withRange(r.best, r.bestRange, r.runs.length),
      r.bestStep,
      withRange(r.final, r.finalRange, r.runs.length),
      collapseText(r),
    ]),
    [2, 3, 4, 5, 6],
  )
}

export function resultsCsv(rows: readonly ResultRow[]): string {
  const header = [
    'label',
    'mode',
    'runs',
    'before',
    'best',
    'best_min',
    'best_max',
    'best_step',
    'final',
    'final_min',
    'final_max',
    'collapse_step',
    'collapse_rule',
  ]
  return toCsv(
    header,
    rows.map((r) => [
      r.label,
      r.mode,
      r.runs.join(' '),
      r.before,
      r.best,
      r.bestRange?.[0],
      r.bestRange?.[1],
      r.bestStep,
      r.final,
      r.finalRange?.[0],
      r.finalRange?.[1],
      r.collapseStep,
      r.collapseRule,
    ]),
  )
}
