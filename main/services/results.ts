// The paper-style results table (held-out accuracy before training, at its best and at the end), computed once
// for the Compare view (compare.results) and `cwb demo`.
import type { ResultRow } from '../../preload/contract'
import { heldOutAccuracy as heldOutPoints } from '../engine/collapse'
import type { MetricSeries } from '../engine/collapse'

/** A run's metrics by key: [step, value] with steps ascending; null where NaN was logged. */
export type MetricRows = MetricSeries

export interface RunAccuracy {
  /** At step 0, before any update (null when step 0 was not validated). */
  before: number | null
  /** The highest validation and its step (the first of equal ones). */
  best: number | null
  bestStep: number | null
  /** The last validation. */
  final: number | null
}

export interface RunResult {
  run: number
  label: string
  mode: string
  accuracy: RunAccuracy
  /** The run's first collapse flag. */
  collapse: { step: number; rule: string } | null
}

/** Held-out accuracy per validated step: the mean over benchmarks of the finite values logged at that step. */
export const heldOutAccuracy = (series: MetricRows): [step: number, accuracy: number][] =>
  heldOutPoints(series).map(({ step, value }) => [step, value])

/** Before, best and final of a run's held-out accuracy (steps ascending). */
export function accuracyResult(points: readonly (readonly [step: number, accuracy: number])[]): RunAccuracy {
  let best: readonly [number, number] | undefined
  for (const point of points) if (best === undefined || point[1] > best[1]) best = point
  return {
    before: points.find(([step]) => step === 0)?.[1] ?? null,
    best: best?.[1] ?? null,
    bestStep: best?.[0] ?? null,
    final: points.at(-1)?.[1] ?? null,
  }
}

/** Mean, minimum and maximum of the values given, or null for none. */
export function spread(values: readonly (number | null)[]): { mean: number; min: number; max: number } | null {
  const present = values.filter((v): v is number => v !== null)
  if (present.length === 0) return null
  return {
    mean: present.reduce((a, b) => a + b, 0) / present.length,
    min: Math.min(...present),
    max: Math.max(...present),
  }
}

/** A share as a percentage with one decimal ("61.0%"), or "-" for none. */
export const percentText = (x: number | null | undefined): string =>
  x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`

/** `mean [min, max]` of the values given (the mean alone for one; "-" for none), each written by `format`. */
export function spreadText(values: readonly (number | null)[], format: (x: number) => string = percentText): string {
  const s = spread(values)
  if (!s) return '-'
  return values.filter((v) => v !== null).length > 1 ? `${format(s.mean)} [${format(s.min)}, ${format(s.max)}]` : format(s.mean)
}

/** The lower median: a step one of the runs really reached its best at. */
function medianStep(steps: readonly (number | null)[]): number | null {
  const present = steps.filter((s): s is number => s !== null).sort((a, b) => a - b)
  return present.length === 0 ? null : present[Math.floor((present.length - 1) / 2)]!
}

/**
 * One row of the table for a run or a group of runs: the mean of before, best and final over the runs, best and
 * final's [min, max] when several runs have them, the median of their best steps, and the earliest collapse flag.
 */
export function resultRow(label: string, runs: readonly RunResult[]): ResultRow {
  const best = spread(runs.map((r) => r.accuracy.best))
  const final = spread(runs.map((r) => r.accuracy.final))
  const several = (values: readonly (number | null)[]): boolean => values.filter((v) => v !== null).length > 1
  let collapse: RunResult['collapse'] = null
  for (const run of runs) if (run.collapse && (collapse === null || run.collapse.step < collapse.step)) collapse = run.collapse
  return {
    label,
    mode: [...new Set(runs.map((r) => r.mode))].join(', '),
    runs: runs.map((r) => r.run),
    before: spread(runs.map((r) => r.accuracy.before))?.mean ?? null,
    best: best?.mean ?? null,
    bestStep: medianStep(runs.map((r) => r.accuracy.bestStep)),
    final: final?.mean ?? null,
    bestRange: best && several(runs.map((r) => r.accuracy.best)) ? [best.min, best.max] : null,
    finalRange: final && several(runs.map((r) => r.accuracy.final)) ? [final.min, final.max] : null,
    collapseStep: collapse?.step ?? null,
    collapseRule: collapse?.rule ?? null,
  }
}
