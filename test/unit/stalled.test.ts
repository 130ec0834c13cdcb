// When a running run counts as stalled: hand-worked cases of the rule (4 x the median step time, at least 15 s;
// 120 s before the run has a median).
import { describe, expect, it } from 'vitest'
import { isStalled, median } from '../../main/store/stall'

const now = Date.parse('2025-06-01T12:00:00.000Z')
const ago = (seconds: number): string => new Date(now - seconds * 1000).toISOString()

describe('a stalled run', () => {
  it('is a running run silent for more than 4 median steps', () => {
    // median 10 s: the limit is 40 s
    expect(isStalled({ status: 'running', activityAt: ago(39), medianStepSeconds: 10 }, now)).toBe(false)
    expect(isStalled({ status: 'running', activityAt: ago(41), medianStepSeconds: 10 }, now)).toBe(true)
  })

  it('waits at least 15 s however fast its steps are', () => {
    // median 0.5 s: 4 x 0.5 = 2 s, raised to the 15 s floor
    expect(isStalled({ status: 'running', activityAt: ago(14), medianStepSeconds: 0.5 }, now)).toBe(false)
    expect(isStalled({ status: 'running', activityAt: ago(16), medianStepSeconds: 0.5 }, now)).toBe(true)
  })

  it('waits 120 s while the run has no median yet (start-up, the step-0 validation)', () => {
    expect(isStalled({ status: 'running', activityAt: ago(119), medianStepSeconds: null }, now)).toBe(false)
    expect(isStalled({ status: 'running', activityAt: ago(121), medianStepSeconds: null }, now)).toBe(true)
  })

  it('is never a run that is not running, or one with no activity recorded', () => {
    for (const status of ['queued', 'stopping', 'finished', 'stopped', 'failed', 'interrupted'] as const) {
      expect(isStalled({ status, activityAt: ago(3600), medianStepSeconds: 1 }, now), status).toBe(false)
    }
    expect(isStalled({ status: 'running', activityAt: null, medianStepSeconds: 1 }, now)).toBe(false)
  })

  it('takes the median of the step times, so one slow validation step does not hide a stall', () => {
    expect(median([1, 1, 30, 1, 2])).toBe(1)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBeNull()
  })
})
