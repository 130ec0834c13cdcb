import { describe, expect, it } from 'vitest'
import { downsampleIndices, drawLine, groupLine, isSparse, runLine, smoothEma, type Line } from '../../main/services/series'

describe('smoothing (TensorBoard debiased EMA)', () => {
  it('weights earlier points by powers of w and divides out the bias towards 0, skipping nulls', () => {
    // w = 0.5: (1) = 1; (1*0.5 + 3) / 1.5 = 2.333; null stays null; (1*0.25 + 3*0.5 + 5) / 1.75 = 3.857
    const smoothed = smoothEma([1, 3, null, 5], 0.5)
    expect(smoothed[0]).toBeCloseTo(1, 12)
    expect(smoothed[1]).toBeCloseTo(7 / 3, 12)
    expect(smoothed[2]).toBeNull()
    expect(smoothed[3]).toBeCloseTo(6.75 / 1.75, 12)
  })

  it('leaves values as they are at weight 0 and a constant series exactly constant', () => {
    expect(smoothEma([0.1, 0.7, null, 0.3], 0)).toEqual([0.1, 0.7, null, 0.3])
    expect(smoothEma([0.3, null, 0.3, 0.3], 0.9)).toEqual([0.3, null, 0.3, 0.3])
  })
})

describe('telling sparse series, drawn unsmoothed, from dense ones', () => {
  it('calls validation metrics sparse however often they were logged', () => {
    expect(isSparse('val-core/math/reward/mean@1', 100, 100)).toBe(true)
    expect(isSparse('val/accuracy', 100, 100)).toBe(true)
  })

  it('calls a series sparse when it has points on fewer than half of its run’s steps', () => {
    expect(isSparse('critic/score/mean', 100, 100)).toBe(false)
    expect(isSparse('critic/score/mean', 50, 100)).toBe(false)
    expect(isSparse('critic/score/mean', 49, 100)).toBe(true)
    expect(isSparse('critic/score/mean', 1, 1)).toBe(false)
  })
})

describe('grouping runs into a mean with a min-max band', () => {
  const member = (steps: number[], xs: number[], values: (number | null)[]): Line => runLine({ steps, xs, values }, 0)

  it('aligns members by step, averages those with a value there, and leaves out steps where none has one', () => {
    const a = member([0, 1, 2, 3], [0, 10, 20, 30], [1, 2, 3, 4])
    const b = member([0, 2, 3], [0, 24, 34], [3, null, 6])
    const c = member([4], [40], [null])
    expect(groupLine([a, b, c])).toEqual({
      steps: [0, 1, 2, 3],
      xs: [0, 10, 20, 32],
      raw: [2, 2, 3, 5],
      smoothed: [2, 2, 3, 5],
      band: { min: [1, 2, 3, 4], max: [3, 2, 3, 6] },
    })
  })

  it('bands the members smoothed values while raw stays the mean of the raw values', () => {
    const a = runLine({ steps: [0, 1], xs: [0, 1], values: [0, 1] }, 0.5)
    const b = runLine({ steps: [0, 1], xs: [0, 1], values: [1, 1] }, 0.5)
    const group = groupLine([a, b])
    // a smoothed: 0, (0*0.5 + 1) / 1.5 = 0.667; b is constant.
    expect(group.raw).toEqual([0.5, 1])
    expect(group.smoothed[1]).toBeCloseTo((2 / 3 + 1) / 2, 12)
    expect(group.band!.min[1]).toBeCloseTo(2 / 3, 12)
    expect(group.band!.max[1]).toBe(1)
  })
})

describe('downsampling', () => {
  const n = 10_000
  // A slow wave with one spike up, one dip down and a NaN gap, all inside buckets, not at the ends.
  const values: (number | null)[] = Array.from({ length: n }, (_, i) => Math.sin(i / 500))
  values[3_217] = 5
  values[6_001] = -5
  values[8_500] = null

  it('keeps short lines whole', () => {
    expect(downsampleIndices([[1, 2, null, 4]], 10)).toEqual([0, 1, 2, 3])
  })

  it('keeps the first and last points, the maximum, the minimum and the gap, within the budget, ascending', () => {
    const indices = downsampleIndices([values], 100)
    expect(indices.length).toBeLessThanOrEqual(100)
    expect(indices.length).toBeGreaterThan(50)
    expect(indices).toEqual([...indices].sort((a, b) => a - b))
    expect(new Set(indices).size).toBe(indices.length)
    for (const kept of [0, 3_217, 6_001, 8_500, n - 1]) expect(indices).toContain(kept)
  })

  it('keeps the extremes of the smoothed line too, and draws raw, smoothed and band at the same points', () => {
    const steps = values.map((_, i) => i)
    const members = [runLine({ steps, xs: steps, values }, 0.9), runLine({ steps, xs: steps, values: steps.map(() => 0) }, 0.9)]
    const group = groupLine(members)
    const smoothedPeak = group.smoothed.indexOf(Math.max(...group.smoothed.filter((v): v is number => v !== null)))
    const drawn = drawLine(group, 200, true)
    expect(drawn.total).toBe(n)
    expect(drawn.raw.length).toBeLessThanOrEqual(200)
    expect(drawn.smoothed.length).toBe(drawn.raw.length)
    expect(drawn.band!.length).toBe(drawn.raw.length)
    expect(drawn.raw.map(([x]) => x)).toEqual(drawn.smoothed.map(([x]) => x))
    expect(drawn.band!.map(([x]) => x)).toEqual(drawn.raw.map(([x]) => x))
    expect(drawn.smoothed.map(([x]) => x)).toContain(group.xs[smoothedPeak])
    expect(Math.max(...drawn.raw.map(([, y]) => y ?? -Infinity))).toBe(2.5)
  })
})
