// perf/rss_mb is the trainer's peak resident memory during the step: on Linux the high-water mark is reset at the
// step's start, so memory touched during a step shows in its peak, and a reset starts from what is held now.
import { describe, expect, it } from 'vitest'
import { peakRssBytes, resetPeakRss } from '../../main/engine/trainer/peak-memory'

const MB = 2 ** 20

describe.skipIf(process.platform !== 'linux')('the peak RSS of a step (Linux)', () => {
  it('sees memory touched within the step, and starts again after a reset', () => {
    expect(resetPeakRss()).toBe(true)
    const before = peakRssBytes()
    const held = Buffer.alloc(150 * MB, 1) // touched, so resident
    const during = peakRssBytes()
    expect(during - before).toBeGreaterThan(120 * MB)
    expect(held.length).toBe(150 * MB)
    // After a reset the peak starts again from what the process holds now, not from the step's high point.
    expect(resetPeakRss()).toBe(true)
    expect(Math.abs(peakRssBytes() - process.memoryUsage().rss)).toBeLessThan(16 * MB)
  })
})
