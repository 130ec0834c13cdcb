// The answer-preservation checks on hand-made pairs: what a faithful rewrite may do (rename, restate in words, say
// "dollars"), and what breaks a pair (a changed or dropped number, the answer given away, a condition turned around),
// each with the severity it gets.
import { describe, expect, it } from 'vitest'
import {
  canonicalNumber,
  checkPair,
  expressionsIn,
  matchExpressions,
  negationChanges,
  numbersIn,
  shapeOf,
} from '../../main/data/paraphrase/checks'
import type { PairChecks } from '../../main/data/paraphrase/checks'
import { CHECK_NAMES } from '../../preload/constants'

/** The checks with an error, and those with a warning. */
const errors = (checks: PairChecks): string[] => checks.findings.filter((f) => f.severity === 'error').map((f) => f.check)
const warnings = (checks: PairChecks): string[] => checks.findings.filter((f) => f.severity === 'warning').map((f) => f.check)

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

  it('reads numbers written in words, currency and LaTeX spellings', () => {
    expect(numbersIn('twenty-five apples, three hundred and two pears, one-half of a cake and two thirds of a pie')).toEqual([
      '25',
      '302',
      '1/2',
      '2/3',
    ])
    expect(numbersIn('It costs $\\$$60, or \\$60, or 60 dollars.')).toEqual(['60'])
    expect(numbersIn('$\\log_464$ and $\\dfrac34$ and $10\\,000$ and $1{,}000$')).toEqual(['4', '64', '3/4', '10000', '1000'])
  })

  it('finds inline and display math, whitespace aside, and takes no dollar amount for math', () => {
    expect(expressionsIn('Let $x + 1 = 3$ and \\[y^2 = 4\\]; also $$ z $$ and \\(w\\).')).toEqual(['x+1=3', 'y^2=4', 'z', 'w'])
    expect(expressionsIn('A hoodie costs $\\$32.75$ and a cap \\$5.')).toEqual(['32.75'])
  })

  it('reads expressions modulo a consistent renaming of their variables', () => {
    expect(shapeOf('x + y = x')).toBe(shapeOf('w+v=w'))
    expect(shapeOf('x+y=x')).not.toBe(shapeOf('x+y=y'))
    expect(matchExpressions('Solve $3x+2=11$.', 'Find $w$ with $3w + 2 = 11$.')).toEqual({ missing: [], changed: [] })
    // Same frame, other numbers: a changed expression, even where every number is still somewhere in the text.
    expect(matchExpressions('Factor $x^2+3x+2$.', 'Factor $w^2+2w+3$.')).toEqual({ missing: [], changed: ['x^2+3x+2'] })
    // Restated in words: no match, and no change either.
    expect(matchExpressions('If $s$ is $t-2$, find $t$.', 'If s is two less than t, find t.').missing).toEqual(['t-2'])
  })
})

describe('checkPair: what a faithful rewrite may do', () => {
  it('renames variables (x becomes w) without an error or a missing expression', () => {
    const result = checkPair(
      'Let $f(x) = 2x - 5$. Find $x$ if $f(x) = 7$.',
      'Suppose $g(w) = 2w - 5$. Determine $w$ given that $g(w) = 7$.',
      '6',
    )
    expect(result.findings).toEqual([])
    expect(result.failed).toEqual([])
  })

  it('restates numbers in words: "three times", "two less than", "one-half", "twice", "a dozen"', () => {
    const result = checkPair(
      'The number $a$ is $3$ times $b$, and $b$ is $2$ less than $c$. Half of $c$ is $\\frac{1}{2}c = 12$; twice $a$ is 2a.',
      'Suppose a is three times b, and b is two less than c. One-half of c equals a dozen, and double a is considered too.',
      null,
    )
    expect(errors(result)).toEqual([])
    expect(result.numbers.missing).toEqual([])
  })

  it('counts "9 dollars", `$\\$$9` and `\\$9` as the same 9', () => {
    expect(
      checkPair('A shirt costs $\\$$9 and a tie \\$5.', 'Shirts sell for 9 dollars each and ties for 5 dollars.', null).findings,
    ).toEqual([])
    expect(errors(checkPair('A shirt costs 9 dollars.', 'Each shirt is priced at $\\$9$.', null))).toEqual([])
  })

  it('counts "one-half" as the original’s \\frac{1}{2}', () => {
    const result = checkPair('Eat $\\frac{1}{2}$ of the 12 apples.', 'Someone eats one-half of a box of 12 apples.', null)
    expect(result.numbers.missing).toEqual([])
    expect(errors(result)).toEqual([])
  })

  it('finds no leak where the answer is in the original, inside its math (record 306)', () => {
    const result = checkPair(
      'If $9s+5t=108$ and $s$ is two less than $t$, what is $t$?',
      'A store sells shirts for $9 each and ties for $5 each. The total revenue from selling some shirts and ties is $108. If the number of shirts sold is two fewer than the number of ties sold, how many ties were sold?',
      '9',
    )
    expect(result.answer_leak.leaked).toBeNull()
    expect(errors(result)).toEqual([])
    // Its equation is restated in words: a note for the reviewer, not an error.
    expect(result.findings.find((f) => f.check === 'expressions')?.severity).toBe('note')
  })

  it('spells out a negation the original carries in a word ("composite" is "not prime")', () => {
    expect(
      errors(
        checkPair(
          'Find the smallest two-digit prime such that reversing its digits gives a composite number.',
          'Determine the least two-digit prime where swapping its digits results in a number that is not prime.',
          '19',
        ),
      ),
    ).toEqual([])
    expect(negationChanges('the greatest integer less than or equal to $x$', 'the largest integer not greater than x')).toEqual(
      [],
    )
    // A negative word the paraphrase keeps allows no extra "not": this one is added.
    expect(
      negationChanges(
        'Three marbles are drawn without replacement. What is the probability they are all red?',
        'Three marbles are taken without replacement. What is the chance they are not all red?',
      ),
    ).toEqual([{ change: 'negation added (not)', severity: 'error' }])
  })
})

describe('checkPair: what breaks a pair', () => {
  const original = 'A shop sells 12 apples at $3$ dollars each and 1,500 pears. How much money is made from apples?'
  const faithful = 'A bakery bakes 12 pies for $3$ dollars apiece and 1500 rolls. What do the pies earn?'

  it('passes the faithful rewrite with a new scenario', () => {
    expect(errors(checkPair(original, faithful, '36'))).toEqual([])
  })

  it('flags a changed number as an error, saying which', () => {
    const result = checkPair(original, faithful.replace('12 pies', '13 pies'), '36')
    expect(errors(result)).toEqual(['numbers', 'new_numbers'])
    expect(result.numbers.missing).toEqual(['12'])
    expect(result.new_numbers.added).toEqual(['13'])
    expect(result.findings[0]!.message).toContain('“12”')
  })

  it('flags a changed number that the original has elsewhere: one fewer 12, one new 20', () => {
    const result = checkPair('Add 12 and 12 and 5.', 'Add 12 and 20 and 5.', null)
    expect(result.numbers.fewer).toEqual(['12'])
    expect(errors(result)).toEqual(['new_numbers'])
  })

  it('flags a new number in the math as a changed given, and one in the story only as a warning', () => {
    const question = 'Solve $x^2 - 5x + 6 = 0$ for the larger root.'
    const inMath = checkPair(question, 'Find the larger root of $y^2 - 5y + 6 = 0$ with $y < 7$.', '3')
    expect(errors(inMath)).toEqual(['new_numbers'])
    expect(inMath.new_numbers.added).toEqual(['7'])
    const inStory = checkPair(question, 'A ball lands 7 metres away when $y^2 - 5y + 6 = 0$; find the larger root.', '3')
    expect(errors(inStory)).toEqual([])
    expect(warnings(inStory)).toEqual(['new_numbers'])
  })

  it('flags an exponent changed to a longer number (x^12 for x^2) as a changed expression', () => {
    const result = checkPair('Expand $(x^2+12)(x-1)$.', 'Multiply out $(x^12+12)(x-1)$.', null)
    expect(result.expressions.changed).toEqual(['(x^2+12)(x-1)'])
    expect(errors(result)).toContain('expressions')
  })

  it('flags a dropped clause with its number as an error', () => {
    const result = checkPair(original, 'A bakery bakes 12 pies for $3$ dollars apiece. What do the pies earn?', '36')
    expect(errors(result)).toEqual(['numbers'])
    expect(result.numbers.missing).toEqual(['1500'])
  })

  it('flags an answer the paraphrase gives away, numbers and expressions alike', () => {
    const leak = checkPair(original, faithful.replace('rolls.', 'rolls (36 in all).'), '36')
    expect(errors(leak)).toContain('answer_leak')
    expect(leak.answer_leak.leaked).toBe('36')
    const root = checkPair(
      'Find $\\sin 45^\\circ$.',
      'Compute the sine of 45 degrees. It works out to $\\frac{\\sqrt{2}}{2}$.',
      '\\frac{\\sqrt{2}}{2}',
    )
    expect(root.answer_leak.leaked).toBe('\\frac{\\sqrt{2}}{2}')
    // 3 is in the original, so its presence in the paraphrase is no leak; 360 does not contain the token 36.
    expect(checkPair('Add 1 and 2.', 'Sum 1 with 2, then 360 minus nothing.', '3').answer_leak.leaked).toBeNull()
    expect(checkPair('Add 1 and 2 to get 3.', 'Sum 1 and 2 to get 3.', '3').answer_leak.leaked).toBeNull()
    // An answer the original shows, written once more: a rewriter who solved it first.
    const again = checkPair('Add 1 and 2 to get $x$; $x - 3 = 0$.', 'Sum 1 and 2 to get $x$, which is 3; $x - 3 = 0$.', '3')
    expect(again.findings).toContainEqual(expect.objectContaining({ check: 'answer_leak', severity: 'error' }))
  })

  it('flags a condition turned around: a negation added, a direction swapped, a relation flipped', () => {
    const base = 'How many integers $n$ with $n > 2$ are divisible by 3 and at least 10?'
    const faithfulToo = 'Count the integers $m$ with $m > 2$ that are divisible by 3 and at least 10.'
    expect(errors(checkPair(base, faithfulToo, null))).toEqual([])
    expect(errors(checkPair(base, faithfulToo.replace('are divisible', 'are not divisible'), null))).toEqual(['negation'])
    expect(errors(checkPair(base, faithfulToo.replace('at least', 'at most'), null))).toEqual(['negation'])
    expect(errors(checkPair(base, faithfulToo.replace('$m > 2$', '$m < 2$'), null))).toEqual(['negation'])
    const swapped = checkPair('Find the largest prime factor of 91.', 'Find the smallest prime factor of 91.', '13')
    expect(swapped.negation.changes).toEqual(['largest / smallest swapped'])
    expect(swapped.findings[0]).toMatchObject({ check: 'negation', severity: 'error' })
  })

  it('notes a near copy and warns of a much shorter paraphrase', () => {
    const copy = checkPair(original, original.replace('How much', 'how much'), '36')
    expect(copy.findings).toEqual([expect.objectContaining({ check: 'too_similar', severity: 'note' })])
    expect(copy.too_similar.distance).toBe(0)
    const short = checkPair(original, '12 at $3$ and 1500?', '36')
    expect(warnings(short)).toEqual(['length_ratio'])
    expect(short.length_ratio.ratio).toBeLessThan(0.5)
  })

  it('lists findings errors first, each with a sentence to act on', () => {
    const result = checkPair(original, 'A bakery bakes 13 pies. What do the pies earn?', '36')
    const rank = { error: 0, warning: 1, note: 2 }
    const ranks = result.findings.map((f) => rank[f.severity])
    expect(ranks.length).toBeGreaterThan(2)
    expect(ranks).toEqual([...ranks].sort())
    for (const finding of result.findings) expect(finding.message).toMatch(/^\S.{20,}\.$/)
    expect(result.failed).toEqual(CHECK_NAMES.filter((name) => result.findings.some((f) => f.check === name)))
  })
})
