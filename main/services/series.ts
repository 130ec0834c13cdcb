// Chart math for the Compare view, pure and independent of the store: TensorBoard's smoothing, seeds grouped into
// a mean with a min-max band, and downsampling that keeps every peak and gap a reader would look for.

/** One run's points of one metric, steps ascending; x is the step, tokens or wall seconds; null: NaN or ±Infinity. */
export interface RunPoints {
  steps: number[]
  xs: number[]
  values: (number | null)[]
}

/** A line ready to draw: raw and smoothed values at each x; groups add the members' smoothed min and max. */
export interface Line {
  steps: number[]
  xs: number[]
  raw: (number | null)[]
  smoothed: (number | null)[]
  band?: { min: number[]; max: number[] }
}

/**
 * TensorBoard's debiased exponential moving average: last = w * last + (1 - w) * y, divided by 1 - w^n so the
 * first points are not pulled towards 0. Null points stay null and are skipped; a constant series stays as is.
 */
export function smoothEma(values: readonly (number | null)[], weight: number): (number | null)[] {
  const first = values.find((v) => v !== null)
  if (weight === 0 || values.every((v) => v === null || v === first)) return [...values]
  let last = 0
  let accumulated = 0
  return values.map((value) => {
    if (value === null) return null
    last = last * weight + (1 - weight) * value
    accumulated++
    return last / (1 - weight ** accumulated)
  })
}

// Held-out accuracy and other validation metrics are logged only every N steps: an average over them lags by N steps.
const VALIDATION_KEY = /^val(-core)?\//

/**
 * Whether a run's series is too sparse to smooth: a validation key, or points on fewer than half of `runSteps`, the
 * number of steps its run logged its densest charted key at. Sparse series are drawn raw, with a marker at each point.
 */
export function isSparse(key: string, points: number, runSteps: number): boolean {
  return VALIDATION_KEY.test(key) || points * 2 < runSteps
}

/** A run's line: its raw values and their smoothing. */
export function runLine(points: RunPoints, weight: number): Line {
  return { steps: points.steps, xs: points.xs, raw: points.values, smoothed: smoothEma(points.values, weight) }
}

/**
 * Runs of one group aligned by step: at each step, the mean of the members' raw and smoothed values, the band
 * [min, max] of their smoothed values, and x as the members' mean x (tokens and wall time differ between seeds).
 * Only members with a value at a step count there; a step where none has one is left out, as a band cannot
 * show a gap.
 */
export function groupLine(members: readonly Line[]): Line {
  const out: Line = { steps: [], xs: [], raw: [], smoothed: [], band: { min: [], max: [] } }
  const cursor = members.map(() => 0)
  for (;;) {
    let step = Infinity
    members.forEach((m, i) => {
      if (cursor[i]! < m.steps.length) step = Math.min(step, m.steps[cursor[i]!]!)
    })
    if (step === Infinity) return out
    let n = 0
    let xSum = 0
    let rawSum = 0
    let smoothedSum = 0
    let min = Infinity
    let max = -Infinity
    members.forEach((m, i) => {
      const at = cursor[i]!
      if (m.steps[at] !== step) return
      cursor[i] = at + 1
      const raw = m.raw[at]!
      const smoothed = m.smoothed[at]!
      if (raw === null || smoothed === null) return
      n++
      xSum += m.xs[at]!
      rawSum += raw
      smoothedSum += smoothed
      min = Math.min(min, smoothed)
      max = Math.max(max, smoothed)
    })
    if (n === 0) continue
    out.steps.push(step)
    out.xs.push(xSum / n)
    out.raw.push(rawSum / n)
    out.smoothed.push(smoothedSum / n)
    out.band!.min.push(min)
    out.band!.max.push(max)
  }
}

/**
 * The indices to draw when a line has more than `maxPoints` points: the first and the last, and in each of
 * equal buckets of indices the minimum and maximum of every array in `keep` plus the first null (so gaps stay).
 * Ascending; at most `maxPoints`; all indices when the line is short enough.
 */
export function downsampleIndices(keep: readonly (readonly (number | null)[])[], maxPoints: number): number[] {
  const n = keep[0]?.length ?? 0
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i)
  const perBucket = 2 * keep.length + 1
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / perBucket))
  const chosen = new Uint8Array(n)
  chosen[0] = 1
  chosen[n - 1] = 1
  const inner = n - 2
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets)
    const end = 1 + Math.floor(((b + 1) * inner) / buckets)
    let firstNull = -1
    for (const values of keep) {
      let lowest = -1
      let highest = -1
      for (let i = start; i < end; i++) {
        const value = values[i]!
        if (value === null) {
          if (firstNull < 0) firstNull = i
          continue
        }
        if (lowest < 0 || value < values[lowest]!) lowest = i
        if (highest < 0 || value > values[highest]!) highest = i
      }
      if (lowest >= 0) chosen[lowest] = 1
      if (highest >= 0) chosen[highest] = 1
    }
    if (firstNull >= 0) chosen[firstNull] = 1
  }
  const indices: number[] = []
  for (let i = 0; i < n; i++) if (chosen[i]) indices.push(i)
  return indices
}

/** The contract's chart arrays of a line, downsampled to at most `maxPoints` with the same indices for all. */
export function drawLine(
  line: Line,
  maxPoints: number,
  smoothing: boolean,
): {
  raw: [number, number | null][]
  steps: number[]
  smoothed: [number, number | null][]
  band?: [number, number, number][]
  total: number
} {
  const indices = downsampleIndices(smoothing ? [line.raw, line.smoothed] : [line.raw], maxPoints)
  const { steps, xs, raw, smoothed, band } = line
  return {
    raw: indices.map((i) => [xs[i]!, raw[i]!]),
    steps: indices.map((i) => steps[i]!),
    smoothed: indices.map((i) => [xs[i]!, smoothed[i]!]),
    ...(band ? { band: indices.map((i): [number, number, number] => [xs[i]!, band.min[i]!, band.max[i]!]) } : {}),
    total: xs.length,
  }
}
