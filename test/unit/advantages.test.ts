import { describe, expect, it } from 'vitest'
import { groupAdvantages } from '../../main/engine/grpo/advantages'

describe('GRPO group advantages', () => {
  it('standardise by the unbiased std plus 1e-6: [1,0,0,0] has mean 0.25 and std 0.5', () => {
    // (1 - 0.25) / 0.500001 and (0 - 0.25) / 0.500001
    expect(groupAdvantages([1, 0, 0, 0])).toEqual([1.499997000006, -0.499999000002, -0.499999000002, -0.499999000002])
  })

  it('use N-1 in the std: [2,4,6] has std 2, not 1.63', () => {
    const [low, middle, high] = groupAdvantages([2, 4, 6])
    expect(low).toBeCloseTo(-2 / 2.000001, 15)
    expect(middle).toBe(0)
    expect(high).toBeCloseTo(2 / 2.000001, 15)
  })

  it('are all 0 when every reward is equal (no gradient)', () => {
    expect(groupAdvantages([1, 1, 1])).toEqual([0, 0, 0])
    expect(groupAdvantages([0, 0])).toEqual([0, 0])
  })

  it('treat a group of one as mean 0, std 1', () => {
    expect(groupAdvantages([1])).toEqual([1 / 1.000001])
    expect(groupAdvantages([0.25])).toEqual([0.25 / 1.000001])
  })

  it('work on continuous rewards too', () => {
    // mean -1, unbiased std sqrt(((-0.5)^2 + 0.5^2) / 1) = sqrt(0.5)
    const [a, b] = groupAdvantages([-1.5, -0.5])
    expect(a).toBeCloseTo(-0.5 / (Math.SQRT1_2 + 1e-6), 15)
    expect(b).toBeCloseTo(0.5 / (Math.SQRT1_2 + 1e-6), 15)
  })
})
