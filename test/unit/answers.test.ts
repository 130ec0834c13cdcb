import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isEquivalent, normalizeAnswer, NormalisationError, pythonInt } from '../../main/engine/answers/equivalence'
import { extractAnswer, lastBoxedOnlyString, removeBoxed } from '../../main/engine/answers/extract'
import { majorityVote, tallyVote } from '../../main/engine/answers/vote'
import { computeScore } from '../../main/engine/rewards/ground_truth'
import { sharedData } from '../helpers/shared-data'

const scoreExamples = join(sharedData, 'conformance', 'score_examples.jsonl')

interface ScoreExample {
  response: string
  ground_truth: string
  answer: string
  score: number
}

describe('the reference GT reward on the conformance examples', () => {
  it.skipIf(!existsSync(scoreExamples))(
    `extracts and scores every example as the reference did (reads ${scoreExamples}; skipped when absent)`,
    () => {
      const examples = readFileSync(scoreExamples, 'utf8')
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as ScoreExample)
      expect(examples.length).toBeGreaterThanOrEqual(20)
      for (const { response, ground_truth, answer, score } of examples) {
        expect(extractAnswer(response) ?? '', response).toBe(answer)
        expect(computeScore(response, ground_truth), response).toBe(score)
      }
    },
  )
})

describe('boxed answer extraction, quirks included', () => {
  it('takes the last box', () => {
    expect(extractAnswer('First \\boxed{2}, finally \\boxed{3}.')).toBe('3')
  })

  it('stops a box at the brace that closes its first one, so \\boxed{a}{b} gives a', () => {
    expect(lastBoxedOnlyString('so \\boxed{a}{b} end')).toBe('\\boxed{a}')
    expect(extractAnswer('so \\boxed{a}{b} end')).toBe('a')
    expect(extractAnswer('\\boxed{\\frac{1}{2}}')).toBe('\\frac{1}{2}')
  })

  it('gives no answer for a box that never closes (a truncated response)', () => {
    expect(lastBoxedOnlyString('Truncated \\boxed{\\frac{1}{2}')).toBeNull()
    expect(extractAnswer('Truncated \\boxed{\\frac{1}{2}')).toBeNull()
  })

  it('finds \\fbox but cannot unwrap it, so \\fbox{8} gives no answer', () => {
    expect(lastBoxedOnlyString('\\fbox{8}')).toBe('\\fbox{8}')
    expect(removeBoxed('\\fbox{8}')).toBeNull()
    expect(extractAnswer('\\fbox{8}')).toBeNull()
  })

  it('gives no answer without any box', () => {
    expect(extractAnswer('No boxed answer: 7')).toBeNull()
  })

  it('reads the "\\boxed " form up to the next $, or to the end', () => {
    expect(extractAnswer('The answer is \\boxed 12$ indeed')).toBe('12')
    expect(extractAnswer('The answer is \\boxed 12 indeed')).toBe('12 indeed')
  })

  it('prefers the last "\\boxed " form over any braced box, even one written after it', () => {
    expect(extractAnswer('\\boxed 1$ and later \\boxed{2}')).toBe('1')
    expect(extractAnswer('\\boxed 1$ then \\boxed 4$')).toBe('4')
  })

  it('gives the empty answer, not no answer, for an empty box', () => {
    expect(extractAnswer('\\boxed{}')).toBe('')
  })

  it('scores 0 when there is no answer, whatever the ground truth', () => {
    expect(computeScore('I give up.', '')).toBe(0)
    expect(computeScore('\\fbox{8}', '8')).toBe(0)
  })
})

describe('the gsm8k and last-number extractors', () => {
  it('gsm8k reads the number after the last ####, without thousands separators', () => {
    expect(extractAnswer('#### 3\nchecking... #### 1,234', 'gsm8k')).toBe('1234')
    expect(extractAnswer('so #### -12.5 dollars', 'gsm8k')).toBe('-12.5')
    expect(extractAnswer('####$7', 'gsm8k')).toBe('7')
    expect(extractAnswer('the answer is 42', 'gsm8k')).toBeNull()
    expect(extractAnswer('#### none', 'gsm8k')).toBeNull()
  })

  it('last-number reads the last number in the text', () => {
    expect(extractAnswer('3 apples and 1,250 pears, so 1,253.', 'last-number')).toBe('1253')
    expect(extractAnswer('the temperature fell to -4 degrees', 'last-number')).toBe('-4')
    expect(extractAnswer('a share of .75', 'last-number')).toBe('.75')
    expect(extractAnswer('pi is about 3.14.', 'last-number')).toBe('3.14')
    expect(extractAnswer('no digits here', 'last-number')).toBeNull()
  })

  it('reads a minus between numbers as subtraction, not a sign', () => {
    expect(extractAnswer('10-3', 'last-number')).toBe('3')
    expect(extractAnswer('(2)-3', 'last-number')).toBe('3')
    expect(extractAnswer('x = -3', 'last-number')).toBe('-3')
  })

  it('takes commas as thousands separators only in groups of three', () => {
    expect(extractAnswer('the pairs 3,4', 'last-number')).toBe('4')
    expect(extractAnswer('12,345,678', 'last-number')).toBe('12345678')
  })

  it('ignores digits inside words', () => {
    expect(extractAnswer('5 units of x2', 'last-number')).toBe('5')
  })
})

describe('GT normalisation (strip_string), step by step', () => {
  it('drops LaTeX decoration: \\left, \\right, degrees, \\$, \\%, \\!, and reads tfrac/dfrac as frac', () => {
    expect(normalizeAnswer('\\left( 2, 3 \\right)')).toBe('(2,3)')
    expect(normalizeAnswer('90^\\circ')).toBe('90')
    expect(normalizeAnswer('90^{\\circ}')).toBe('90')
    expect(normalizeAnswer('\\$4.50')).toBe('4.50')
    expect(normalizeAnswer('50\\%')).toBe('50')
    expect(normalizeAnswer('1\\!000')).toBe('1000')
    expect(normalizeAnswer('\\tfrac{3}{4}')).toBe('\\frac{3}{4}')
    expect(normalizeAnswer('\\\\frac{3}{4}')).toBe('\\frac{3}{4}')
  })

  it('keeps what precedes "\\text{ " (units), and throws when it occurs twice', () => {
    expect(normalizeAnswer('10\\text{ cm}')).toBe('10')
    expect(normalizeAnswer('10\\text{cm}')).toBe('10\\text{cm}')
    expect(() => normalizeAnswer('5\\text{ m}\\text{ s}')).toThrow(NormalisationError)
  })

  it('adds a 0 before a leading point, after a space and after a brace', () => {
    expect(normalizeAnswer('.25')).toBe('0.25')
    expect(normalizeAnswer('x .25')).toBe('x0.25')
    expect(normalizeAnswer('\\frac{.5}{2}')).toBe('\\frac{0.5}{2}')
  })

  it('keeps the right side of one "=" only when the left has at most 2 characters, before removing spaces', () => {
    expect(normalizeAnswer('x=5')).toBe('5')
    expect(normalizeAnswer('k = 5')).toBe('5')
    expect(normalizeAnswer('ab=5')).toBe('5')
    expect(normalizeAnswer('ab = 5')).toBe('ab=5')
    expect(normalizeAnswer('a=b=5')).toBe('a=b=5')
  })

  it('braces one character after \\sqrt, and throws when \\sqrt ends the answer', () => {
    expect(normalizeAnswer('\\sqrt3')).toBe('\\sqrt{3}')
    expect(normalizeAnswer('2\\sqrt{3}')).toBe('2\\sqrt{3}')
    expect(normalizeAnswer('\\sqrt 3')).toBe('\\sqrt{}3')
    expect(() => normalizeAnswer('2\\sqrt')).toThrow(NormalisationError)
  })

  it('braces \\frac12 and \\frac1{72}, leaves \\frac1 unchanged, and throws when \\frac ends the answer', () => {
    expect(normalizeAnswer('\\frac12')).toBe('\\frac{1}{2}')
    expect(normalizeAnswer('\\frac1{72}')).toBe('\\frac{1}{72}')
    expect(normalizeAnswer('\\frac123')).toBe('\\frac{1}{2}3')
    expect(normalizeAnswer('\\frac1')).toBe('\\frac1')
    expect(normalizeAnswer('\\frac12+\\frac1')).toBe('\\frac12+\\frac1')
    expect(() => normalizeAnswer('1+\\frac')).toThrow(NormalisationError)
  })

  it('reads exactly 0.5 as \\frac{1}{2}', () => {
    expect(normalizeAnswer('0.5')).toBe('\\frac{1}{2}')
    expect(normalizeAnswer('0.50')).toBe('0.50')
  })

  it('turns a/b into \\frac{a}{b} only for integers in canonical form', () => {
    expect(normalizeAnswer('3/4')).toBe('\\frac{3}{4}')
    expect(normalizeAnswer('-1/2')).toBe('\\frac{-1}{2}')
    expect(normalizeAnswer('1/-2')).toBe('\\frac{1}{-2}')
    for (const unchanged of ['+1/2', '01/2', '-0/2', '1_0/2', '\t1/2', '\u0663/3'])
      expect(normalizeAnswer(unchanged), JSON.stringify(unchanged)).toBe(unchanged)
    expect(normalizeAnswer('1/2/3')).toBe('1/2/3')
  })

  it('throws where Python int() rejects a side of the slash', () => {
    for (const rejected of ['x/2', '/2', '1/', '1__0/2', '_1/2', '1.5/2', '\x1c1/2', `${'1'.repeat(4301)}/2`])
      expect(() => normalizeAnswer(rejected), JSON.stringify(rejected.slice(0, 12))).toThrow(NormalisationError)
    expect(normalizeAnswer(`${'1'.repeat(4300)}/2`)).toBe(`\\frac{${'1'.repeat(4300)}}{2}`)
  })

  it('counts characters as Python does, by code point', () => {
    expect(normalizeAnswer('k😀=5')).toBe('5')
    expect(normalizeAnswer('\\sqrt😀')).toBe('\\sqrt{😀}')
    expect(normalizeAnswer('\\frac😀2')).toBe('\\frac{😀}{2}')
  })

  it('stops at an empty string', () => {
    expect(normalizeAnswer('\\left\\right')).toBe('')
  })
})

describe("Python's int(), as fix_a_slash_b calls it", () => {
  it('accepts surrounding whitespace, a sign, underscores between digits, Unicode digits and any size', () => {
    expect(pythonInt(' \t-12\r')).toBe(-12n)
    expect(pythonInt('+7')).toBe(7n)
    expect(pythonInt('1_000')).toBe(1000n)
    expect(pythonInt('\u0663\uff14')).toBe(34n)
    expect(pythonInt('\xa09\u3000')).toBe(9n)
    expect(pythonInt('123456789012345678901234567890')).toBe(123456789012345678901234567890n)
  })

  it('rejects what Python rejects', () => {
    for (const rejected of ['', ' ', '-', '1__0', '_1', '1_', '- 1', '1 2', '0x10', '1e3', '\x1c1'])
      expect(() => pythonInt(rejected), JSON.stringify(rejected)).toThrow(NormalisationError)
  })
})

describe('GT equivalence (is_equiv)', () => {
  it('compares normalised strings', () => {
    expect(isEquivalent('\\dfrac{3}{4}', '\\frac{3}{4}')).toBe(true)
    expect(isEquivalent('0.5', '\\frac12')).toBe(true)
    expect(isEquivalent('x = 9', '9')).toBe(true)
  })

  it('does nothing else: 5.0 is not 5, 1,000 is not 1000, 4.5 is not 4.50', () => {
    expect(isEquivalent('5.0', '5')).toBe(false)
    expect(isEquivalent('1,000', '1000')).toBe(false)
    expect(isEquivalent('4.5', '4.50')).toBe(false)
  })

  it('compares the raw strings when normalisation throws: x/2 equals only x/2', () => {
    expect(() => normalizeAnswer('x/2')).toThrow(NormalisationError)
    expect(isEquivalent('x/2', 'x/2')).toBe(true)
    expect(isEquivalent('x/2', 'x/ 2')).toBe(false)
    expect(isEquivalent('5\\text{ m}\\text{ s}', '5')).toBe(false)
  })

  it('treats a missing answer as equal only to another missing one', () => {
    expect(isEquivalent(null, null)).toBe(true)
    expect(isEquivalent(null, '')).toBe(false)
    expect(isEquivalent('', null)).toBe(false)
  })
})

describe('majority vote', () => {
  it('picks the most frequent non-empty answer, with its count over the whole group', () => {
    expect(majorityVote(['4', '4', '5', null, '4', '', '5'])).toEqual({ label: '4', count: 3, total: 7 })
  })

  it('breaks a tie in favour of the answer seen first', () => {
    expect(majorityVote(['7', '8', '8', '7']).label).toBe('7')
    expect(majorityVote(['8', '7', '7', '8']).label).toBe('8')
  })

  it('gives the empty label when every answer is empty', () => {
    expect(majorityVote([null, '', null])).toEqual({ label: '', count: 0, total: 3 })
  })

  it('matches answers exactly by default, so 0.5 and \\frac{1}{2} split the vote', () => {
    expect(majorityVote(['2', '0.5', '\\frac{1}{2}', '2']).label).toBe('2')
  })

  it('names every answer that reached the winning count, in the order first seen: two or more make a tie', () => {
    expect(tallyVote(['7', '8', '8', '7', null])).toEqual({ vote: { label: '7', count: 2, total: 5 }, leaders: ['7', '8'] })
    expect(tallyVote(['1', '2', '3', '4']).leaders).toEqual(['1', '2', '3', '4'])
    expect(tallyVote(['5', '5', '7', '5']).leaders).toEqual(['5'])
    expect(tallyVote([null, '']).leaders).toEqual([])
    expect(tallyVote(['2', '0.5', '\\frac{1}{2}'], { normalised: true }).leaders).toEqual(['0.5'])
  })

  it('matches by GT equivalence when asked, labelling with the first-seen spelling', () => {
    expect(majorityVote(['2', '0.5', '\\frac{1}{2}', '2', '\\frac12'], { normalised: true })).toEqual({
      label: '0.5',
      count: 3,
      total: 5,
    })
  })
})
