// The answer-preservation checks on hand-made pairs, each failing for one reason.
import { describe, expect, it } from 'vitest'
import { canonicalNumber, checkPair, expressionsIn, numbersIn } from '../../main/data/paraphrase/checks'

describe('number and expression extraction', () => {
  it('reads numbers the way a reader does', () => {
    expect(numbersIn('She paid 1,000 dollars, then 2.50 more, and ate 3/4 of a pie and .5 of a cake.')).toEqual([
      '1000',
      '2.5',
      '3/4',
      '0.5',
    ])
    expect(numbersIn('Compute $\\frac{3}{4} + \\dfrac{1}{2}$ for 2 people.')).toEqual(['3/4', '1/2', '2'])
    expect(canonicalNumber('007')).toBe('7')
    expect(canonicalNumber('12.000')).toBe('12')
  })

  it('finds inline and display math, whitespace aside', () => {
    expect(expressionsIn('Let $x + 1 = 3$ and \\[y^2 = 4\\]; also $$ z $$ and \\(w\\).')).toEqual(['x+1=3', 'y^2=4', 'z', 'w'])
  })
})

describe('checkPair', () => {
  const original = 'A shop sells 12 apples at $3$ dollars each and 1,500 pears. How much money is made from apples?'

  it('passes a faithful rewrite with a new scenario', () => {
    const result = checkPair(
      original,
      'A bakery bakes 12 pies for $3$ dollars apiece and 1500 rolls. What do the pies earn?',
      '36',
    )
    expect(result.failed).toEqual([])
    expect(result.numbers.missing).toEqual([])
  })

  it('flags a changed number', () => {
    const result = checkPair(
      original,
      'A bakery bakes 13 pies for $3$ dollars apiece and 1500 rolls. What do the pies earn?',
      '36',
    )
    expect(result.failed).toEqual(['numbers'])
    expect(result.numbers.missing).toEqual(['12'])
  })

  it('flags a dropped expression', () => {
    const result = checkPair(original, 'A bakery bakes 12 pies for 3 dollars apiece and 1500 rolls. What do the pies earn?', '36')
    expect(result.failed).toEqual(['expressions'])
    expect(result.expressions.missing).toEqual(['3'])
  })

  it('flags the answer leaking into the paraphrase, but not an answer the original already shows', () => {
    const leak = checkPair(
      original,
      'A bakery bakes 12 pies for $3$ dollars apiece (36 in all) and 1500 rolls. What do pies earn?',
      '36',
    )
    expect(leak.failed).toEqual(['answer_leak'])
    expect(leak.answer_leak.leaked).toBe('36')
    // 3 is in the original, so its presence in the paraphrase is no leak; 360 does not contain the token 36.
    expect(checkPair('Add 1 and 2.', 'Sum 1 with 2, then 360 minus nothing.', '3').answer_leak.leaked).toBeNull()
    expect(checkPair('Add 1 and 2 to get 3.', 'Sum 1 and 2 to get 3.', '3').answer_leak.leaked).toBeNull()
  })

  it('flags a near copy and a paraphrase of very different length', () => {
    const copy = checkPair(original, original.replace('How much', 'how much'), '36')
    expect(copy.failed).toEqual(['too_similar'])
    expect(copy.too_similar.distance).toBe(0)
    const short = checkPair(original, '12 at $3$ and 1500?', '36')
    expect(short.failed).toEqual(['length_ratio'])
    expect(short.length_ratio.ratio).toBeLessThan(0.5)
  })
})
