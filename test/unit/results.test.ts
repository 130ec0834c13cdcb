import { describe, expect, it } from 'vitest'
import { accuracyResult, heldOutAccuracy, resultRow, spread, type RunResult } from '../../main/services/results'

describe('held-out accuracy of a run', () => {
  const series = {
    'val-core/math/reward/mean@1': [
      [0, 0.2],
      [10, 0.4],
      [20, 0.3],
    ],
    'val-core/gsm8k/reward/mean@1': [
      [0, 0.4],
      [10, null],
      [20, 0.5],
    ],
    'val-core/math/reward/std@1': [[0, 0.9]],
    'critic/score/mean': [[5, 0.99]],
  } as const

  it('is the mean over benchmarks of the values logged at each validated step (NaN skipped)', () => {
    const points = heldOutAccuracy(series)
    expect(points.map(([step]) => step)).toEqual([0, 10, 20])
    expect(points.map(([, v]) => v)).toEqual([expect.closeTo(0.3, 12), 0.4, expect.closeTo(0.4, 12)])
  })

  it('gives before at step 0, the first best with its step, and the last validation as final', () => {
    expect(accuracyResult(heldOutAccuracy(series))).toEqual({
      before: expect.closeTo(0.3, 12),
      best: 0.4,
      bestStep: 10,
      final: expect.closeTo(0.4, 12),
    })
  })

  it('has no before without a step-0 validation, and nothing at all without validations', () => {
    expect(accuracyResult([[5, 0.5]]).before).toBeNull()
    expect(accuracyResult([])).toEqual({ before: null, best: null, bestStep: null, final: null })
  })
})

describe('a row of the results table', () => {
  const run = (
    id: number,
    before: number,
    best: number,
    bestStep: number,
    final: number,
    collapse: RunResult['collapse'] = null,
  ) => ({
    run: id,
    label: `run ${id}`,
    mode: 'co_rewarding_i',
    accuracy: { before, best, bestStep, final },
    collapse,
  })

  it('for one run, copies its numbers with no ranges', () => {
    expect(resultRow('run 1', [run(1, 0.2, 0.5, 30, 0.4, { step: 40, rule: 'length_collapse' })])).toEqual({
      label: 'run 1',
      mode: 'co_rewarding_i',
      runs: [1],
      before: 0.2,
      best: 0.5,
      bestStep: 30,
      final: 0.4,
      bestRange: null,
      finalRange: null,
      collapseStep: 40,
      collapseRule: 'length_collapse',
    })
  })

  it('for seeds, averages them, spans best and final, takes the median best step and the earliest collapse', () => {
    const row = resultRow('mode=co_rewarding_i', [
      run(1, 0.25, 0.5, 10, 0.25, { step: 50, rule: 'pseudo_label_drop' }),
      run(2, 0.75, 1, 30, 0.5, { step: 20, rule: 'length_pinned' }),
      run(3, 0.5, 0.75, 20, 0.75),
    ])
    expect(row).toEqual({
      label: 'mode=co_rewarding_i',
      mode: 'co_rewarding_i',
      runs: [1, 2, 3],
      before: 0.5,
      best: 0.75,
      bestStep: 20,
      final: 0.5,
      bestRange: [0.5, 1],
      finalRange: [0.25, 0.75],
      collapseStep: 20,
      collapseRule: 'length_pinned',
    })
  })

  it('spread skips missing values', () => {
    expect(spread([0.5, null, 1])).toEqual({ mean: 0.75, min: 0.5, max: 1 })
    expect(spread([null])).toBeNull()
  })
})
