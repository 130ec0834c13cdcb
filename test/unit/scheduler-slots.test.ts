// How many runs a workbench trains at a time: --max-runs, else CWB_MAX_RUNS, else one per core but one.
import { describe, expect, it } from 'vitest'
import { runSlots } from '../../main/services/scheduler'

describe('run slots', () => {
  it('takes the option over CWB_MAX_RUNS over the cores', () => {
    expect(runSlots(3, { CWB_MAX_RUNS: '5' }, 16)).toBe(3)
    expect(runSlots(undefined, { CWB_MAX_RUNS: '5' }, 16)).toBe(5)
    expect(runSlots(undefined, {}, 16)).toBe(15)
  })

  it('keeps one core free but never goes below one run', () => {
    expect(runSlots(undefined, {}, 2)).toBe(1)
    expect(runSlots(undefined, {}, 1)).toBe(1)
    expect(runSlots(undefined, { CWB_MAX_RUNS: ' ' }, 4)).toBe(3)
  })

  it('refuses a CWB_MAX_RUNS or an option that is not a whole number of at least 1, naming it', () => {
    expect(() => runSlots(undefined, { CWB_MAX_RUNS: 'two' }, 4)).toThrow(
      /^CWB_MAX_RUNS=two: expected a whole number of at least 1/,
    )
    expect(() => runSlots(undefined, { CWB_MAX_RUNS: '0' }, 4)).toThrow(/CWB_MAX_RUNS=0/)
    expect(() => runSlots(0, {}, 4)).toThrow(/maxRuns must be a whole number of at least 1, got 0/)
  })
})
