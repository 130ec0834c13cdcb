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
  swappedInMath,
  variablesIn,
} from '../../main/data/paraphrase/checks'
import type { PairChecks } from '../../main/data/paraphrase/checks'
import { CHECK_NAMES } from '../../preload/constants'

/** A faithful rewrite, checked to have no error, and the checks of it with `from` changed into `to`. */
function changedRewrite(original: string, rewrite: string, [from, to]: [string, string], answer: string): PairChecks {
  expect(errors(checkPair(original, rewrite, answer))).toEqual([])
  return checkPair(original, rewrite.replace(from, to), answer)
}

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

describe('checkPair: currency and numbers in words, worked by hand', () => {
  it('reads `$\\$60$`, `\\$60`, "60 dollars" and "sixty dollars" as the one number 60, "twenty" as 20', () => {
    // The original states 60, 30, 20 and 660; the rewrite says each once, in words or with a dollar sign.
    const result = checkPair(
      'Sam works for 20 days. He earns $\\$60$ a day and pays \\$30 for each day off. He got $\\$$660. How many days off?',
      'For twenty days, Sam is paid sixty dollars per day worked and fined 30 dollars per day off. He ended with $660. Days off?',
      '6',
    )
    expect(result.numbers).toEqual({ missing: [], fewer: [] })
    expect(result.new_numbers.added).toEqual([])
    expect(errors(result)).toEqual([])
    // "sixty" changed to "seventy": 70 is new and 60 is gone, in words as in digits.
    const changed = checkPair('He earns $\\$60$ a day.', 'He is paid seventy dollars a day.', null)
    expect(changed.numbers.missing).toEqual(['60'])
    expect(changed.new_numbers.added).toEqual(['70'])
    expect(errors(changed)).toEqual(['numbers', 'new_numbers'])
  })

  it('reads "half" as 50%, "twice" as 200% and "one-fifth" as 1/5', () => {
    // 50% of y = y/2 = "half of y"; 200% of x = "twice x"; 1/5 = "one-fifth".
    const result = checkPair(
      'If $200\\%$ of $x$ equals $50\\%$ of $y$ and $x = 12$, find $y$ times $\\frac{1}{5}$.',
      // Its variables in math: a shorter paraphrase with fewer numbers and no variables reads as a dropped statement.
      'Twice $x$ equals half of $y$, and $x$ is 12. What is one-fifth of $y$?',
      '9.6',
    )
    expect(result.numbers.missing).toEqual([])
    expect(errors(result)).toEqual([])
  })

  it('takes "to the nearest tenth" for a way to round, not the number 10', () => {
    const result = checkPair(
      'She walks a mile in 24 minutes. How far does she walk in 10 minutes? Round to the nearest tenth.',
      'She walks a mile in 24 minutes. Round your answer to the nearest tenth.',
      '0.4',
    )
    expect(result.numbers.missing).toEqual(['10'])
    expect(errors(result)).toContain('numbers')
  })

  it('reads a power as its value, a list with an ellipsis as its range, "two-digit" as 10 to 99', () => {
    // 5^2 = 25 and 12^2 = 144: the rewrite works the powers out.
    expect(
      errors(
        checkPair('Graph $\\frac{x^2}{5^2} - \\frac{y^2}{12^2} = 1$.', 'Graph $\\frac{x^2}{25} - \\frac{y^2}{144} = 1$.', null),
      ),
    ).toEqual([])
    // `\\sqrt3` is `\\sqrt{3}`; seven days are a week (records 6237, 5578).
    expect(
      errors(
        checkPair('Find $\\left(\\sqrt{(\\sqrt3)^3}\\right)^4$.', 'Calculate $\\left(\\sqrt{(\\sqrt{3})^3}\\right)^4$.', null),
      ),
    ).toEqual([])
    expect(
      errors(
        checkPair(
          'The noon temperatures for seven consecutive days were $80^{\\circ}$ and $79^{\\circ}$ on the first two. Find the mean.',
          'Over a week, the midday temperatures included $80^{\\circ}$ and $79^{\\circ}$ on the first two days. Find the average.',
          null,
        ),
      ),
    ).toEqual([])
    // And the other way round: 125 written as 5^3, 100 as 10^2 (records 94 and 1181); a root is a power of 1/2 or 1/3.
    expect(
      errors(checkPair('Solve for $x$: $$5^{x + 4} = 125^x.$$', 'Find $x$ such that $$5^{x + 4} = (5^3)^x.$$', null)),
    ).toEqual([])
    expect(errors(checkPair('Solve for $x$: $100^3 = 10^x$', 'Find the $x$ that makes $10^x = (10^2)^3$ true.', null))).toEqual(
      [],
    )
    expect(
      errors(
        checkPair(
          'Evaluate $$64^{1/2}\\cdot27^{-1/3}\\cdot16^{1/4}.$$',
          'Multiply the square root of 64, the reciprocal of the cube root of 27, and the fourth root of 16.',
          null,
        ),
      ),
    ).toEqual([])
    // 1·2·3···n is the product from 1 to n; 2, 5, 8, ... goes up by 3.
    expect(
      errors(
        checkPair(
          'Here $n!$ stands for $1\\cdot 2\\cdot 3\\cdot \\cdots \\cdot n$. Find the 25th term of $2, 5, 8, \\ldots$.',
          'Here $n!$ is the product of the integers from 1 to $n$. A list starts at 2 and goes up by 3: find its 25th term.',
          null,
        ),
      ),
    ).toEqual([])
    expect(
      errors(
        checkPair('How many two-digit numbers are multiples of 9?', 'How many numbers from 10 to 99 are divisible by 9?', null),
      ),
    ).toEqual([])
  })

  it('takes the numbers of a figure for the figure’s: a rewrite may state them in words', () => {
    const figure = '[asy] draw((0,0)--(8,0)); label("$136^\\circ$",(0,0),SW); [/asy]'
    const result = checkPair(
      `In the diagram, find $x$. ${figure}`,
      `An angle of $136^\\circ$ is marked. Find $x$. ${figure}`,
      null,
    )
    expect(result.new_numbers.added).toEqual([])
    expect(errors(result)).toEqual([])
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

  it('flags a number changed inside a range the text names: "four-digit" or "1 to 1000" restate no given', () => {
    const changed = changedRewrite(
      'How many ways are there to arrange the digits of 1150 to get a four-digit multiple of 5?',
      'How many four-digit numbers divisible by 5 can be formed from all the digits of 1150?',
      ['1150', '1151'],
      '5',
    )
    expect(changed.numbers.missing).toEqual(['1150'])
    expect(changed.new_numbers.added).toEqual(['1151'])
    expect(errors(changed)).toEqual(['numbers', 'new_numbers'])
    const divides = 'Josef picks an integer between 1 and 1000 and divides 1000 by it. How many integers give an integer?'
    const game = 'Mia picks a whole number from 1 to 1000 and Alex divides 1000 by it. How many picks give a whole number?'
    expect(errors(checkPair(divides, game, '16'))).toEqual([])
    expect(errors(checkPair(divides, game.replace('divides 1000', 'divides 999'), '16'))).toEqual(['new_numbers'])
    // A range still stands for the numbers of a list, and for its ends: "1, 2, 3, 4, 5 or 6" is "1 to 6".
    expect(
      errors(
        checkPair('A die shows 1, 2, 3, 4, 5 or 6. Find the mean.', 'A die shows a number from 1 to 6. Find the mean.', null),
      ),
    ).toEqual([])
    expect(
      errors(
        checkPair(
          'What is the ones digit of $1^{2009} + 2^{2009} + 3^{2009} + \\cdots + 2009^{2009}$?',
          'If you add up $n^{2009}$ for all integers $n$ from 1 to 2009, what digit is in the units place of the total?',
          null,
        ),
      ),
    ).toEqual([])
  })

  it('flags a changed number that the original has elsewhere: one fewer 12, one new 20', () => {
    const result = checkPair('Add 12 and 12 and 5.', 'Add 12 and 20 and 5.', null)
    expect(result.numbers.fewer).toEqual(['12'])
    expect(errors(result)).toEqual(['new_numbers'])
  })

  it('flags a number changed into another the original has: one written more often, one less', () => {
    // 4 is written twice in the original and once here; 8 once there and twice here: neither missing nor new.
    const result = checkPair(
      'If $T = 4$, $W = 4$ and $H = 8$, find $L = 25TW/H$.',
      'Given $T = 4$, $W = 8$ and $H = 8$, what is $L = 25TW/H$?',
      null,
    )
    expect(result.numbers.missing).toEqual([])
    expect(result.new_numbers.added).toEqual([])
    // The math writes as many numbers, one 8 more and one 4 less: the expressions check says so too.
    expect(errors(result)).toEqual(['numbers', 'expressions'])
    // A 1 turned into a 2 the original writes too, in digits: a changed coordinate, which the expressions check sees
    // as $A(1,2)$ with other numbers.
    expect(errors(checkPair('Points $A(1,2)$ and $B(1,8)$.', 'Points $X(2,2)$ and $Y(1,8)$.', null))).toEqual([
      'numbers',
      'expressions',
    ])
  })

  it('flags a dropped statement whose number the paraphrase still states elsewhere', () => {
    // 20 written twice in the original, once in the shorter paraphrase: "at the end of the 20 days" is gone.
    const original = 'Sam is hired for 20 days. He earns 60 dollars a day he works. At the end of the 20 days he has 660 dollars.'
    const kept = 'Sam takes a 20-day job paying 60 dollars per day worked. When the 20 days are over, he holds 660 dollars.'
    expect(errors(checkPair(original, kept, null))).toEqual([])
    const dropped = checkPair(original, 'Sam takes a 20-day job paying 60 dollars per day worked. He holds 660 dollars.', null)
    expect(dropped.numbers.fewer).toEqual(['20'])
    expect(errors(dropped)).toEqual(['numbers'])
  })

  it('flags a dropped given of 1 or 2 written in digits, and not a 2 a rewrite leaves to "a pair"', () => {
    expect(errors(checkPair('Liam had 2 tokens on Monday and 6 on Tuesday.', 'On Tuesday, Liam had 6 tokens.', null))).toEqual([
      'numbers',
    ])
    expect(
      errors(
        checkPair('Two dice are rolled; what is the chance of a 12?', 'A pair of dice is rolled; find the chance of 12.', null),
      ),
    ).toEqual([])
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

  it('reads an unbraced exponent of digits whole: x^12 is a new 12 in the math, 2^23^3 still 2^2 times 3^3', () => {
    // Record 531: the expression is reordered by the rewrite, so only the numbers can tell.
    const range = 'What is the range of the function $f(x) = \\frac{1}{x^2}$?'
    const outputs = 'Determine all possible output values for the function $g(x) = \\frac{1}{x^2}$.'
    const changed = changedRewrite(range, outputs, ['x^2', 'x^12'], '(0,\\infty)')
    expect(changed.new_numbers.added).toEqual(['12'])
    expect(errors(changed)).toContain('new_numbers')
    expect(numbersIn('$x^12 + 1$')).toEqual(['12', '1'])
    expect(numbersIn('$2^23^34^4$')).toEqual(['2', '3', '4'])
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

  it('reads a negation per sentence: a "not" where the like sentence of the original states plainly', () => {
    const original =
      'For each day that he does not work, 30 dollars is subtracted. At the end of the 20 days, he received 660 dollars.'
    // The original's "does not work" restated as "missed": no negation left; a "not" added about the 660 turns it around.
    const restated = 'Each missed day costs him 30 dollars. After the 20 days, his earnings are 660 dollars.'
    expect(errors(checkPair(original, restated, null))).toEqual([])
    const turned = checkPair(original, restated.replace('are 660', 'are not 660'), null)
    expect(errors(turned)).toEqual(['negation'])
    expect(turned.negation.changes[0]).toMatch(/^negation added where the original negates nothing alike/)
    // The same "not" in the sentence that carries the original's: a restatement.
    expect(
      errors(
        checkPair(
          original,
          'For each day he does not show up, 30 dollars is taken off. After the 20 days he has 660 dollars.',
          null,
        ),
      ),
    ).toEqual([])
    // "None greater than 100" is at most 100; "doubles" and "drops" are an increase and a decrease (records 6595, 5713).
    expect(
      negationChanges(
        'For a list of five positive integers, none greater than 100, the mean is 1.5 times the mode.',
        'Five whole numbers, each less than or equal to 100, have a mean 1.5 times their mode.',
      ),
    ).toEqual([])
    expect(
      negationChanges(
        'The price starts at $\\$100$ and increases $100\\%$. In the second year it goes down $25\\%$.',
        'The price begins at $\\$100$ and doubles. In Year 2 it drops by $25\\%$.',
      ),
    ).toEqual([])
    // "Whether or not" asks a question and negates nothing (record 5368).
    const game =
      'Josef picks an integer and Timothy states whether or not 1000 divided by it is an integer. How many can he pick?'
    const rewrite = 'Mia picks a whole number and Alex checks if 1000 divided by it is whole. How many numbers can Mia pick?'
    expect(errors(checkPair(game, rewrite, '16'))).toEqual([])
    expect(errors(checkPair(game, rewrite.replace('Alex checks', 'Alex does not check'), '16'))).toEqual(['negation'])
  })

  it('reads a relation from its unknown: "$10 < x$" is "x greater than 10", "$k < 0$" is "k negative"', () => {
    expect(negationChanges('How many $x$ satisfy $10 < -x + 13$?', 'How many $x$ satisfy $-x + 13 > 10$?')).toEqual([])
    expect(
      negationChanges('Count $n$ with $200 < n^2 < 900$.', 'Count n whose square is greater than 200 and less than 900.'),
    ).toEqual([])
    expect(negationChanges('Let $f(x) = x^k$ where $k < 0$.', 'Let $g(x) = x^m$ with $m$ a negative number.')).toEqual([])
    expect(negationChanges('Let $f(x) = x^k$ where $k < 0$.', 'Let $g(x) = x^m$ with $m$ a positive number.')).toEqual([
      { change: 'positive / negative swapped', severity: 'error' },
    ])
    // The floor is the greatest integer at most x: "at least x" turns it into the ceiling.
    expect(negationChanges('Evaluate $\\lfloor 3.7 \\rfloor$.', 'Find the greatest integer less than or equal to 3.7.')).toEqual(
      [],
    )
    expect(negationChanges('Evaluate $\\lfloor 3.7 \\rfloor$.', 'Find the greatest integer more than or equal to 3.7.')).toEqual([
      { change: 'at least / at most swapped', severity: 'error' },
    ])
    expect(negationChanges('What is the lesser of the two fractions?', 'Which of the two fractions is larger?')).toEqual([
      { change: 'greater / less swapped', severity: 'error' },
    ])
  })

  it('reads more directions: "farthest" and "closest", "a maximum of two", "$x > 0.$", a common divisor turned around', () => {
    // [original, a restatement, the same turned around, the change found]
    const cases: [string, string, string, string][] = [
      [
        'Which of the points $(0,5)$, $(1,2)$ and $(3,-4)$ is farthest from the origin?',
        // "To the nearest tenth" says how to round.
        'Which of $(0,5)$, $(1,2)$ and $(3,-4)$ lies at the greatest distance from $(0,0)$, to the nearest tenth?',
        'Of $(0,5)$, $(1,2)$ and $(3,-4)$, which is closest to $(0,0)$?',
        'largest / smallest swapped',
      ],
      [
        'Find all $p$ so that $x^4 + 2px^3 + 1 = 0$ has at least two distinct negative real roots.',
        'For which $p$ does $x^4 + 2px^3 + 1 = 0$ have a minimum of two different negative roots?',
        'For which $p$ does $x^4 + 2px^3 + 1 = 0$ have a maximum of two different negative roots?',
        'at least / at most swapped',
      ],
      // A sentence's full stop after the 0 is no decimal point: "$x > 0.$" says x is positive.
      [
        'Find the minimum value of $x^2 + \\frac{64}{x^3}$ for $x > 0.$',
        'Find the least value of $x^2 + \\frac{64}{x^3}$ where $x$ is a positive number.',
        'Find the least value of $x^2 + \\frac{64}{x^3}$ where $x$ is a negative number.',
        'positive / negative swapped',
      ],
      // "Acute" is less than 90°, a "natural number" a positive integer (records 6904, 5532).
      [
        'Let $a$ and $b$ be acute angles such that $3 \\sin^2 a + 2 \\sin^2 b = 1$. Find $a + 2b$.',
        'Two angles $x$ and $y$, both less than $90^\\circ$, satisfy $3 \\sin^2 x + 2 \\sin^2 y = 1$.',
        'Two angles $x$ and $y$, both more than $90^\\circ$, satisfy $3 \\sin^2 x + 2 \\sin^2 y = 1$.',
        'greater / less swapped',
      ],
      [
        'Three different natural numbers $x$, $y$ and $z$ each have exactly three factors.',
        'Three distinct positive integers $a$, $b$ and $c$ each have precisely three divisors.',
        'Three distinct negative integers $a$, $b$ and $c$ each have precisely three divisors.',
        'positive / negative swapped',
      ],
      // Record 5403: a rewrite writes the gcd out; "least common divisor" names nothing a rewrite would.
      [
        'If $\\gcd(a,b) = 168$ and $\\gcd(a,c) = 693$, what is the smallest possible value of $\\gcd(b,c)$?',
        'The greatest common divisor of $x$ and $y$ is 168 and that of $x$ and $z$ is 693. What is the smallest possible value of that of $y$ and $z$?',
        'The least common divisor of $x$ and $y$ is 168 and the greatest common divisor of $x$ and $z$ is 693. What is the smallest possible value of that of $y$ and $z$?',
        'least common divisor named',
      ],
    ]
    for (const [original, restated, turned, change] of cases) {
      expect(negationChanges(original, restated), restated).toEqual([])
      expect(negationChanges(original, turned), turned).toEqual([{ change, severity: 'error' }])
    }
  })

  it('flags a list answer written into the question', () => {
    const result = checkPair(
      'Find all $x$ with $(x-8)(x-12) = 0$.',
      'Solve $(x-8)(x-12)=0$ for $x$. (The answer is 8,12.)',
      '8,12',
    )
    expect(errors(result)).toContain('answer_leak')
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

describe('checkPair: a dropped statement, a changed number in the math, the answer again, worked by hand', () => {
  it('flags a shorter paraphrase with fewer numbers and fewer variables: a statement dropped with its variable', () => {
    const original = 'Given that $f(x) = x^k$ where $k > 0$, what is the range of $f(x)$ on the interval $[1, \\infty)$?'
    expect([...variablesIn(original)]).toEqual(['f', 'x', 'k'])
    // Renamed (f, x, k as g, t, m): three variables still, no error.
    const renamed = 'Let $g(t) = t^m$ with $m > 0$. Find the range of $g(t)$ for $t$ in $[1, \\infty)$.'
    expect(errors(checkPair(original, renamed, '[1,\\infty)'))).toEqual([])
    // "$k > 0$" dropped with the definition: 2 numbers of the original (0, 1) become 1, 3 variables 2, and the text is
    // shorter. The 0 alone would be a warning (a rewrite often leaves a 0 implicit).
    const dropped = checkPair(original, 'What is the range of $f(x)$ on the interval $[1, \\infty)$?', '[1,\\infty)')
    expect(dropped.findings).toContainEqual(
      expect.objectContaining({
        check: 'numbers',
        severity: 'error',
        message: expect.stringMatching(/writes fewer numbers \(1, the original 2\) and names 1 fewer variable/),
      }),
    )
  })

  it('flags math that writes as many numbers with one more often and another less: a number changed in it', () => {
    const original = 'Find the coefficient of $x^2$ in $(ax^3 + 3x^2 - 2x)(bx^2 - 7x - 4)$.'
    const split = 'Find the coefficient of the $x^2$ term when $(ax^3 + 3x^2 - 2x)$ is multiplied by $(bx^2 - 7x - 4)$.'
    expect(errors(checkPair(original, split, '-2'))).toEqual([])
    // bx^2 becomes bx^4: every number is still there (a 4 too), the product is split so no expression matches.
    // Original's math: 2, 3, 3, 2, 2, 2, 7, 4; the paraphrase's: 2, 3, 3, 2, 2, 4, 7, 4 (one 2 fewer, one 4 more).
    const changed = split.replace('bx^2', 'bx^4')
    expect(swappedInMath(original, changed)).toEqual({ more: ['4'], less: ['2'] })
    expect(errors(checkPair(original, changed, '-2'))).toEqual(['expressions'])
    // The same value written otherwise is no change (0.50 is 0.5), and a fraction is set aside (1/2 for 0.5).
    expect(swappedInMath('Let $y = 0.50x + 2$.', 'Let $y = 2 + 0.5x$.')).toBeNull()
    expect(swappedInMath('Let $y = 0.5x$.', 'Let $y = \\frac{1}{2}x$.')).toBeNull()
    // A set or a list before an ellipsis is its numbers, not one number with thousands separators (AMC record 40); the
    // origin is (0, 0) (AMC record 18).
    expect(numbersIn('$\\{991,992,993,\\ldots,1000\\}$ and $1,000$')).toEqual(['991', '992', '993', '1000'])
    expect(
      errors(
        checkPair(
          'For how many points $P$ with integer coordinates is the taxicab distance between $P$ and the origin at most $20$?',
          'How many intersections $(x, y)$ with integer coordinates lie at a total distance of $20$ or less from $(0, 0)$?',
          '841',
        ),
      ),
    ).toEqual([])
    // A number moved from the math into words, another from words into the math (AMC record 61): no number changed.
    const dice = 'Janet rolls a standard $6$-sided die $4$ times. What is the probability that her running total equals $3$?'
    const rewrite = 'Liam picks a number from $1$ to $6$ four times. What is the probability that his running score reaches $3$?'
    expect(swappedInMath(dice, rewrite)).toEqual({ more: ['1'], less: ['4'] })
    expect(errors(checkPair(dice, rewrite, '\\frac{49}{216}'))).toEqual([])
  })

  it('flags an answer the original shows, written again: as text, or as a given where the original has an exponent', () => {
    const original = 'If $g$ is an odd function, is $f(x) = |g(x^3)|$ odd, even, or neither?'
    const faithful = 'Given that $g$ is odd, decide whether $f(x) = |g(x^3)|$ is odd, even, or neither.'
    expect(errors(checkPair(original, faithful, '\\text{even}'))).toEqual([])
    // "even" written twice where the original writes it once.
    expect(errors(checkPair(original, `${faithful} Note that it is $\\text{even}$.`, '\\text{even}'))).toEqual(['answer_leak'])
    const point = 'Which point is farthest from the origin: $(0,5)$, $(1,2)$, $(3,-4)$, $(6,0)$?'
    expect(errors(checkPair(point, `${point} It is (6, 0).`, '(6,0)'))).toEqual(['answer_leak'])
    // The original writes 2 only as an exponent; the paraphrase says "square" and then a 2 of its own.
    const floors = 'What is $\\lfloor 12.1^2 \\rfloor - \\lfloor 12.1 \\rfloor^2$?'
    const inWords = 'Subtract the square of the floor of 12.1 from the floor of the square of 12.1.'
    expect(errors(checkPair(floors, inWords, '2'))).toEqual([])
    expect(errors(checkPair(floors, `${inWords} The result is 2.`, '2'))).toEqual(['answer_leak'])
  })

  it('flags a paraphrase that announces the answer, a letter or a number the original states as often', () => {
    const choice = 'Which graph shows $y = f(x - 1)$? Enter the letter of the correct graph.'
    const rewrite = 'Pick the graph of $y = f(x - 1)$ and give its letter.'
    expect(errors(checkPair(choice, rewrite, '\\text{B}'))).toEqual([])
    expect(errors(checkPair(choice, `${rewrite} Hint: the answer is $\\text{B}$.`, '\\text{B}'))).toEqual(['answer_leak'])
    // Record 1244: the original writes 12 once and the rewrite says "twelve"; a 12 announced is the answer given away.
    const sum = 'What is the sum of all values of $z$ such that $z^2=12z-7$?'
    const story = 'A number squared equals twelve times the number minus seven. What is the total of all such numbers?'
    expect(errors(checkPair(sum, story, '12'))).toEqual([])
    expect(errors(checkPair(sum, `${story} (It works out to 12.)`, '12'))).toEqual(['answer_leak'])
    // Record 6712: a given the question states ("equals 12") announces nothing.
    expect(
      errors(
        checkPair(
          'If 20$\\%$ of 10$\\%$ of a number is 12, what is 10$\\%$ of 20$\\%$ of the same number?',
          'Twenty percent of ten percent of a value equals 12. What is ten percent of twenty percent of that value?',
          '12',
        ),
      ),
    ).toEqual([])
  })

  it('reads "at least" with "more than" and "at most" with "less than": "not less than 11" turns "less than 11" around', () => {
    const original = 'Two fair dice are rolled. What is the probability that the sum is less than 11?'
    expect(negationChanges(original, 'Two fair dice are rolled. What is the chance that the total is smaller than 11?')).toEqual(
      [],
    )
    // "not less than" reads "at least": neither "at least / at most" (no "at most" lost) nor "greater / less" (no
    // "greater" gained) alone says so; the sides do.
    expect(negationChanges(original, 'Two fair dice are rolled. What is the chance that the total is not less than 11?')).toEqual(
      [{ change: 'at least or more / at most or less swapped', severity: 'error' }],
    )
    expect(
      negationChanges('What is the probability that $x > 7y$?', 'What is the chance that x is at most seven times y?'),
    ).toEqual([{ change: 'at least or more / at most or less swapped', severity: 'error' }])
  })

  it('finds a "not" added to a statement of an inequality: "inequality" is a term, not a negation a "not" restates', () => {
    const original = 'How many integers $x$ satisfy the inequality $|x - 3| \\le 5$?'
    const restated = 'Count the integers $x$ whose distance from 3 is at most 5.'
    expect(errors(checkPair(original, restated, '11'))).toEqual([])
    const turned = checkPair(original, 'Count the integers $x$ whose distance from 3 is not at most 5.', '11')
    expect(errors(turned)).toEqual(['negation'])
    expect(turned.negation.changes).toEqual(['negation added (not)'])
  })

  it('reads "half of whom" of a stated number, "obtuse" and a list’s spelled-out terms as the original’s', () => {
    const club = 'The club has 20 members: 10 boys and 10 girls. In how many ways can a boy and a girl be chosen?'
    const half = 'A group has 20 people, half of whom are men and half women. How many ways are there to pick one of each?'
    expect(errors(checkPair(club, half, '100'))).toEqual([])
    expect(
      errors(
        checkPair(
          'Angle $B$ is obtuse and $\\cos B = -0.6$. Find $\\sin B$.',
          'Angle $Y$ exceeds $90^\\circ$ and $\\cos Y = -0.6$. Find $\\sin Y$.',
          '0.8',
        ),
      ),
    ).toEqual([])
    // "-35" is a term of the list both continue with an ellipsis, not a new number.
    const sum = checkPair(
      'Find the sum: $(-39) + (-37) + \\cdots + (-1)$.',
      'Add up the terms $-39, -37, -35, \\ldots, -1$.',
      '-400',
    )
    expect(sum.new_numbers.added).toEqual([])
    expect(errors(sum)).toEqual([])
  })
})
