// Answer-preservation checks for a question and its paraphrase. The reference checked nothing (co-rewarding.md
// section 11): a paraphrase that changes a number, drops a condition, flips one or leaks the answer makes a bad
// Co-rewarding-I pair. Each check reports findings, each with a severity and a sentence saying what to look at:
// an error likely changes the answer, a warning may, a note is about the rewrite's form.
//
// The checks read meaning over surface, since a good rewrite restates: numbers are compared as quantities (1,000 =
// 1000; 0.50 = 0.5; \frac{3}{4} = 3/4 = three-quarters; `\$60` = 60 dollars = sixty dollars; "twice" = 2; half =
// 50%; $5^2$ = 25 and 125 = $5^3$; "the square root of 64" = $64^{1/2}$; "1, 2, 3, \dots, n" = "from 1 to n"; a
// range such as "two-digit" (10 to 99) for its ends and for numbers of a list, not for a given; a figure's labels),
// and how many times each is written, expressions modulo a consistent renaming of their variables, negations sentence
// by sentence, and the answer only where the original does not show it.
//
// - numbers: a number of the original is nowhere in the paraphrase, in digits, words or math: an error (a warning
//   when all that is missing is a 0, 1 or 2 that the original does not write in digits as a given of its own, which
//   faithful rewrites often leave implicit). Also an error: a given written fewer times in a shorter paraphrase with
//   fewer givens in all (a statement dropped whose number is still stated elsewhere), and a number written fewer times
//   while another of the original's is written more often (one changed into the other), and a shorter paraphrase
//   that writes fewer numbers in all and names fewer distinct variables in its math (a statement dropped with its
//   variable: a renaming keeps the count).
// - new_numbers: a number of the paraphrase is nowhere in the original: a warning (a rewrite may add a scenario's
//   numbers), an error when it looks like a changed number (one of the original is missing, or written fewer times,
//   or the new number is in the paraphrase's math rather than its story).
// - expressions: a math expression of the original has no match in the paraphrase's math, variables renamed
//   consistently aside: a note (usually restated in words, which the numbers check reads); an error when the
//   paraphrase's math has the same expression with other numbers (not the same terms reordered), or writes as many
//   numbers in all as the original's math, one more often and another less (by value, fractions aside).
// - answer_leak: the answer occurs in the paraphrase although the original does not show it anywhere (its math
//   included): an error; an answer the paraphrase writes more often than the original (a number in digits or as a
//   given of its own, each number of a list, any other answer as text): an error too (a restatement rarely writes the
//   answer once more; a rewriter who solved the problem first does); and an answer the paraphrase announces ("the
//   answer is B", "the result is 12", "it works out to 8") more often than the original: an error, letters included.
// - negation: the paraphrase negates what the original did not ("not", "never", "≠": an error; "no", "without",
//   "except": a warning), counted over the text or in a sentence whose likest sentences in the original (most content
//   words and numbers in common) negate and exclude nothing; or turns a direction around ("at least" / "at most",
//   "more than" / "less than" ("obtuse" / "acute"), "<" / ">", "largest" / "smallest" ("farthest" / "closest"), "even"
//   / "odd", "positive" / "negative" ("natural numbers" are positive), a "greatest common divisor" turned into a "least
//   common" one: an error;
//   "sum" / "difference": a warning), "at least" also counted with "more than" and "at most" with "less than" (so
//   that "less than 11" turned into "not less than 11", at least 11, is a swap). A relation that starts from a number
//   reads from its other side ("$10 < x$" is "x greater than 10"), "$k < 0$" is "k negative", the floor the greatest
//   integer at most x.
// - too_similar (note): the paraphrase is within SIMILARITY_LIMIT normalised edit distance of the original (a copy,
//   not a rewrite): Levenshtein distance over characters after lower-casing and collapsing whitespace, divided by
//   the longer length.
// - length_ratio: the paraphrase is less than LENGTH_RATIO_RANGE[0] (a warning: something may be dropped) or more
//   than [1] (a note) times the original's length.
//
// Measured on the released MATH pairs and broken copies of them: test/integration/paraphrase-checks-released.test.ts.
import { distance } from 'fastest-levenshtein'
import { CHECK_NAMES } from '../../../preload/constants'
import type { SEVERITIES } from '../../../preload/constants'

export type CheckName = (typeof CHECK_NAMES)[number]
export type Severity = (typeof SEVERITIES)[number]

export interface Finding {
  check: CheckName
  severity: Severity
  /** One sentence saying what to look at. */
  message: string
}

export const SIMILARITY_LIMIT = 0.1
export const LENGTH_RATIO_RANGE: readonly [number, number] = [0.5, 3]

export interface PairChecks {
  /** The checks with at least one finding, in CHECK_NAMES order. */
  failed: CheckName[]
  /** What the checks found, errors first. */
  findings: Finding[]
  /** Numbers of the original not in the paraphrase; numbers the paraphrase states fewer times. */
  numbers: { missing: string[]; fewer: string[] }
  new_numbers: { added: string[] }
  expressions: { missing: string[]; changed: string[] }
  answer_leak: { leaked: string | null }
  negation: { changes: string[] }
  too_similar: { distance: number }
  length_ratio: { ratio: number }
}

// ---- numbers ---------------------------------------------------------------------------------------------------

/** A number's canonical text: thousands separators dropped, trailing decimal zeros trimmed, fractions as a/b. */
export function canonicalNumber(text: string): string {
  const fraction = text.match(/^\\[dt]?frac\{\s*(-?[\d.,]+)\s*\}\{\s*(-?[\d.,]+)\s*\}$/)
  if (fraction) return `${canonicalNumber(fraction[1]!)}/${canonicalNumber(fraction[2]!)}`
  if (text.includes('/')) {
    const [a, b] = text.split('/')
    return `${canonicalNumber(a!)}/${canonicalNumber(b!)}`
  }
  let plain = text.replace(/,(?=\d{3}(\D|$))/g, '')
  if (plain.includes('.')) plain = plain.replace(/0+$/, '').replace(/\.$/, '')
  return plain.replace(/^(-?)0+(?=\d)/, '$1')
}

/**
 * The text with LaTeX's spellings of numbers made plain: `\$60` is 60, `1{,}000` and `10\,000` are numbers,
 * `\dfrac34` and `x^2y` have their one-character arguments braced (`\log_464` is log base 4 of 64), and an exponent of
 * digits that no power follows is read whole, as its writer meant it (`x^12` is x to the 12th; `2^23^3` is 2^2 3^3).
 */
function plainMath(text: string): string {
  return (
    text
      .replace(/\[asy\][\s\S]*?(\[\/asy\]|$)/g, ' ')
      .replace(/\\[hv]space\*?\{[^}]*\}/g, ' ')
      .replace(/\\\$/g, ' ')
      .replace(/\\%/g, '%')
      // "\\{991,992,993,\\ldots\\}" is a list, not the number 991,992,993: commas in a set or before an ellipsis part.
      .replace(
        /(\\\{\s*)?(\d{1,3}(?:,\d{3})+)(\s*,\s*(?:\\[lc]?dots|\.\.\.))?/g,
        (whole, open?: string, run?: string, dots?: string) =>
          open || dots ? `${open ?? ''}${run!.replace(/,/g, ', ')}${dots ?? ''}` : whole,
      )
      .replace(/(\d)\{,\}(?=\d)/g, '$1,')
      .replace(/(\d),\\!(?=\d)/g, '$1,')
      .replace(/(\d)\\[,;: ](?=\d{3})/g, '$1')
      .replace(/\\[dt]frac/g, '\\frac')
      .replace(/\\sqrt\s*(\d)/g, '\\sqrt{$1}')
      .replace(/\\frac\s*(\d)\s*(\d)/g, '\\frac{$1}{$2}')
      .replace(/\\frac\s*(\{[^{}]*\})\s*(\d)/g, '\\frac$1{$2}')
      .replace(/\\frac\s*(\d)\s*\{/g, '\\frac{$1}{')
      .replace(/\^\s*(\d{2,})(?![\d^])/g, '^{$1}')
      .replace(/([_^])\s*(\d)/g, '$1{$2}')
  )
}

const NUMBER = /\\frac\{\s*[\d.,]+\s*\}\{\s*[\d.,]+\s*\}|\d+(?:,\d{3})*(?:\.\d+)?(?:\/\d+(?:\.\d+)?)?|\.\d+/g

const UNITS = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
  'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen', 'twenty',
] // prettier-ignore
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety']
const SCALES: Record<string, number> = { hundred: 100, thousand: 1000, million: 1e6, billion: 1e9 }
const ORDINALS = [
  '', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh',
  'twelfth', 'thirteenth', 'fourteenth', 'fifteenth', 'sixteenth', 'seventeenth', 'eighteenth', 'nineteenth', 'twentieth',
] // prettier-ignore
/** Words that stand for a number without being one: what a rewrite may say instead of the digit. */
const MULTIPLES: Record<string, number[]> = {
  twice: [2], double: [2], doubled: [2], doubles: [2], doubling: [2], halving: [2], halved: [2], pair: [2], pairs: [2],
  both: [2], binary: [2], quadratic: [2], squared: [2], square: [2, 4], squares: [2, 4], triple: [3], tripled: [3],
  triples: [3], thrice: [3], cube: [3, 6], cubed: [3], cubes: [3], cubic: [3], triangle: [3], triangular: [3],
  ternary: [3], quadruple: [4], quadrilateral: [4], rectangle: [4], pentagon: [5], hexagon: [6], octagon: [8],
  octal: [8], decimal: [10], common: [10], dozen: [12], dozens: [12], hexadecimal: [16], right: [90],
  perpendicular: [90], obtuse: [90], acute: [90], straight: [180], percent: [100], hundredth: [100],
  hundredths: [100], thousandth: [1000], inverse: [1], reciprocal: [1], single: [1], unit: [1], coprime: [1],
  week: [7], weeks: [7], origin: [0],
} // prettier-ignore

const cardinal = (word: string): number | undefined => {
  const unit = UNITS.indexOf(word)
  if (unit >= 0) return unit
  const ten = TENS.indexOf(word)
  return ten >= 2 ? ten * 10 : undefined
}

/** 'third' → 3, 'thirds' → 3, 'halves' → 2, 'quarter' → 4 (the denominator a fraction word names). */
const denominator = (word: string): number | undefined => {
  if (/^hal(f|ves)$/.test(word)) return 2
  if (/^quarters?$/.test(word)) return 4
  const ordinal = ORDINALS.indexOf(word.replace(/s$/, ''))
  return ordinal >= 3 ? ordinal : undefined
}

interface Quantities {
  /** Canonical numbers the text states (digits, and number words from two on), with how often. */
  stated: Map<string, number>
  /** "zero" and "one" where the text says them: too common as words to require of a paraphrase. */
  said: Set<string>
  /** How often the text writes each number in digits, subscripts (indices such as a_3) aside. */
  digits: Map<string, number>
  /** Numbers the text writes in a list of three or more, which a range may stand for. */
  listed: Set<string>
  /**
   * Numbers written in digits as a value of their own: not an exponent or index, not inside a fraction, not a label
   * such as "(1)". A 1 or 2 written so is a given of the problem ("had 2 paperclips", "$y=1$").
   */
  givens: Map<string, number>
  /** Every value the text may mean: the stated ones, one, ordinals, "twice", fraction parts, percents. */
  meant: Set<string>
  /** Ranges of integers the text names ("1 through 5"), ends included. */
  ranges: [number, number][]
  /** Numbers inside a list that an ellipsis continues ("1, 2, 3, \\dots, n"): a rewrite may say "from 1 to n". */
  elided: Set<string>
  /** Numbers the text writes as a percent ("50%", "12 percent"). */
  percents: Set<string>
  /** Powers the text writes in numbers, as [base, exponent, value]: "$5^2$" is ['5', '2', '25']. */
  powers: [string, string, string][]
}

const add = (map: Map<string, number>, key: string): void => {
  map.set(key, (map.get(key) ?? 0) + 1)
}

const valueOf = (canonical: string): number => {
  const [a, b] = canonical.split('/')
  return b === undefined ? Number(a) : Number(a) / Number(b)
}

const formatValue = (value: number): string => canonicalNumber(String(Math.round(value * 1e9) / 1e9))

/** The numbers a text states in digits, LaTeX and words, and every value it may mean. */
export function quantitiesIn(text: string): Quantities {
  const stated = new Map<string, number>()
  const meant = new Set<string>()
  const plain = plainMath(text)
  const digits = new Map<string, number>()
  const givens = new Map<string, number>()
  const scripts = groupSpans(plain, /[_^]\{|\\frac\{/g)
  for (const m of plain.matchAll(NUMBER)) {
    const number = canonicalNumber(m[0].startsWith('.') ? `0${m[0]}` : m[0])
    add(stated, number)
    const before = plain.slice(0, m.index)
    if (!before.endsWith('_{')) add(digits, number)
    const label = /(^|[^\w)])\($/.test(before) && plain[m.index + m[0].length] === ')'
    if (!label && !m[0].startsWith('\\') && !scripts.some(([from, to]) => m.index >= from && m.index < to)) add(givens, number)
  }
  // Number words: "twenty-five", "three hundred and two", "one-half", "two thirds", "a quarter".
  const words = plain.toLowerCase().match(/[a-z]+/g) ?? []
  let total = 0
  let current: number | undefined
  const said = new Set<string>()
  const flush = (): void => {
    if (current === undefined) return
    const value = total + current
    if (value >= 2) add(stated, String(value))
    else said.add(String(value))
    total = 0
    current = undefined
  }
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    const n = cardinal(word)
    if (n !== undefined) {
      // "twenty five", "twenty-five" and "three hundred (and) two" join; "five six" does not.
      const joins =
        current !== undefined &&
        ((current >= 100 && current % 100 === 0) || (current % 100 >= 20 && current % 10 === 0 && n < 10))
      if (current !== undefined && !joins) flush()
      current = (current ?? 0) + n
      continue
    }
    if (word in SCALES && (current !== undefined || words[i - 1] === 'a')) {
      const scale = SCALES[word]!
      if (scale === 100) current = (current ?? 1) * 100
      else {
        total += (current ?? 1) * scale
        current = 0
      }
      continue
    }
    if (word === 'and' && current !== undefined && current >= 100) continue
    const d = denominator(word)
    // "To the nearest tenth" says how to round, not a quantity of the problem.
    if (d !== undefined && words[i - 1] === 'nearest' && current === undefined) {
      flush()
      continue
    }
    if (d !== undefined) {
      // "two thirds" is 2/3; "one-half", "a half", "half" are 1/2; "third" alone may be an ordinal.
      if (current !== undefined && current > 0 && current < d) {
        const numerator = current
        current = undefined
        flush()
        add(stated, `${numerator}/${d}`)
      } else {
        flush()
        meant.add(`1/${d}`)
      }
      meant.add(String(d))
      continue
    }
    flush()
    const ordinal = ORDINALS.indexOf(word)
    if (ordinal > 0) meant.add(String(ordinal))
    else if (word in MULTIPLES) for (const n of MULTIPLES[word]!) meant.add(String(n))
    else if (/^(\d+)(st|nd|rd|th)$/.test(word)) meant.add(word.replace(/\D+$/, ''))
  }
  flush()
  // A range ("1 through 5", "between 1 and 9", "1, 2, \\dots, 20") means the integers in it, as a list of them does.
  const ranges: [number, number][] = []
  const powers: [string, string, string][] = []
  for (const m of plain.matchAll(/\b(\d+)\s*(?:through|to|and|-|–|,\s*\\l?dots\s*,)\s*(\d+)\b/g)) {
    const [from, to] = [Number(m[1]), Number(m[2])]
    if (to > from) ranges.push([from, to])
  }
  // A power of numbers means its value too ("$5^2$" is 25), and "two-digit" the integers from 10 to 99.
  for (const m of plain.matchAll(/(?<![\d.])(\d{1,3})\^\{(\d)\}/g)) {
    const value = Number(m[1]) ** Number(m[2])
    if (value < 1e7) {
      meant.add(String(value))
      powers.push([canonicalNumber(m[1]!), canonicalNumber(m[2]!), String(value)])
    }
  }
  for (const m of plain.toLowerCase().matchAll(/\b(two|three|four|five|\d)-digit\b/g)) {
    const n = cardinal(m[1]!) ?? Number(m[1])
    ranges.push([10 ** (n - 1), 10 ** n - 1])
  }
  // "20 members, half of whom are boys" says 10 boys: half of a whole number the text states means its value too.
  if (/\bhalf of (?:them|whom|these|those|the)\b/.test(plain.toLowerCase()))
    for (const key of stated.keys()) if (/^\d+$/.test(key) && Number(key) % 2 === 0) meant.add(String(Number(key) / 2))
  // "Relatively prime" and "no common factor" say that a greatest common divisor is 1.
  if (/\brelatively prime\b|\bno common (?:factor|divisor)/.test(plain.toLowerCase())) meant.add('1')
  // A number written may be meant as a percent (0.12 = 12%), and so may a fraction or multiple said in words (half
  // is 50%, twice 200%); a word such as "square" or "tenth" means its own value only.
  const written = new Set([...stated.keys(), ...said])
  for (const key of [...written, ...meant]) {
    meant.add(key)
    const value = valueOf(key)
    if (Number.isFinite(value)) {
      meant.add(formatValue(value))
      if (written.has(key) || value < 1 || value === 2 || value === 3) meant.add(formatValue(value * 100))
      if (written.has(key)) meant.add(formatValue(value / 100))
    }
    if (key.includes('/')) for (const part of key.split('/')) meant.add(part)
  }
  // A root is a power too (its exponent alone, not its parts): "the square root of 64" is $64^{1/2}$, "the cube
  // root" (or `\sqrt[3]`) $^{1/3}$.
  if (/\bsquare roots?\b|\\sqrt(?!\s*\[)/.test(plain)) meant.add('1/2')
  if (/\bcube roots?\b|\\sqrt\s*\[\s*3\s*\]/.test(plain)) meant.add('1/3')
  const { elided, steps } = elidedNumbers(plain)
  // A list of four or more consecutive integers ("1, 2, 3, 4, 5, or 6") is the range from its first to its last.
  for (const m of plain.matchAll(/\d+(?:\s*,\s*(?:(?:and|or)\s+)?\d+){3,}/g)) {
    const list = m[0].match(/\d+/g)!.map(Number)
    if (list.every((n, i) => i === 0 || n === list[i - 1]! + 1)) {
      ranges.push([list[0]!, list[list.length - 1]!])
      for (const n of list.slice(1, -1)) elided.add(String(n))
    }
  }
  for (const n of steps) meant.add(n)
  // Numbers in a list of three or more ("1, 2, 3", "2, 4, or 6", a table's row): members of a set a range may name.
  const listed = new Set<string>(elided)
  for (const m of plain.matchAll(/\d+(?:\.\d+)?(?:\s*(?:,|&|\\\\)\s*(?:(?:and|or)\s+)?\$?\s*-?\d+(?:\.\d+)?\$?){2,}/g))
    for (const n of m[0].match(/\d+(?:\.\d+)?/g)!) listed.add(canonicalNumber(n))
  // and the terms of a sum or list that an ellipsis continues ("$1^{2009} + 2^{2009} + \\cdots$").
  for (const m of plain.matchAll(/(?:\$\$|\$|\\\[)([^$]*?(?:\\[lc]?dots|\.\.\.)[^$]*?)(?:\$\$|\$|\\\])/g))
    for (const n of m[1]!.match(/\d+(?:\.\d+)?/g) ?? []) listed.add(canonicalNumber(n))
  // A figure's numbers (its labels, lengths and coordinates) are the figure's to state: a rewrite may say them in words.
  for (const figure of text.match(/\[asy\][\s\S]*?(?:\[\/asy\]|$)/g) ?? [])
    for (const m of figure.matchAll(/\d+(?:\.\d+)?/g)) meant.add(canonicalNumber(m[0]))
  const percents = new Set([...plain.matchAll(/(\d+(?:\.\d+)?)\s*(?:%|percent)/g)].map((m) => canonicalNumber(m[1]!)))
  return { stated, said, digits, givens, meant, ranges, elided, powers, percents, listed }
}

/** The spans of the brace groups that each match of `opening` (ending in `{`) opens, nested braces included. */
function groupSpans(text: string, opening: RegExp): [number, number][] {
  const spans: [number, number][] = []
  for (const m of text.matchAll(opening)) {
    let depth = 0
    let at = m.index + m[0].length - 1
    for (; at < text.length; at++) {
      if (text[at] === '{') depth += 1
      else if (text[at] === '}' && --depth === 0) break
    }
    // A fraction's group is its numerator; its denominator follows at once.
    if (m[0].startsWith('\\frac') && text[at + 1] === '{') {
      for (at += 1, depth = 0; at < text.length; at++) {
        if (text[at] === '{') depth += 1
        else if (text[at] === '}' && --depth === 0) break
      }
    }
    spans.push([m.index, at + 1])
  }
  return spans
}

const ELLIPSIS = /\\(?:[lc]?dots[bmco]?|ldots)\b|\.\.\.|…/g
const LIST_BEFORE = /(?:\d+(?:\.\d+)?(?:\s|[,+\-{}()]|\\(?:cdot|times|[,;!]))*)+$/
const LIST_AFTER = /^(?:(?:\s|[,+\-{}()]|\\(?:cdot|times|[,;!]))*\d+(?:\.\d+)?)+/

/**
 * The numbers inside a list that an ellipsis continues, its first and last terms aside: "1, 2, 3, \\dots, 20" is
 * 1 to 20 whatever terms it spells out, "1\\cdot 2\\cdot 3\\cdots n" is the product from 1 to n.
 */
function elidedNumbers(plain: string): { elided: Set<string>; steps: Set<string> } {
  const elided = new Set<string>()
  const steps = new Set<string>()
  const terms = (run: string): string[] => [...run.matchAll(/-?\d+(?:\.\d+)?/g)].map((m) => m[0])
  const step = (list: string[]): void => {
    // "2, 5, 8, \\dots" goes up by 3: a rewrite may say so.
    for (let i = 1; i < list.length; i++) steps.add(canonicalNumber(String(Math.abs(Number(list[i]) - Number(list[i - 1])))))
  }
  for (const m of plain.matchAll(ELLIPSIS)) {
    const before = plain.slice(Math.max(0, m.index - 80), m.index).match(LIST_BEFORE)
    if (before) {
      const list = terms(before[0])
      for (const n of list.slice(1)) elided.add(canonicalNumber(n.replace(/^-/, '')))
      if (/^[\d\s,-]*$/.test(before[0])) step(list)
    }
    const after = plain.slice(m.index + m[0].length, m.index + m[0].length + 80).match(LIST_AFTER)
    if (after) for (const n of terms(after[0]).slice(0, -1)) elided.add(canonicalNumber(n.replace(/^-/, '')))
  }
  return { elided, steps }
}

/**
 * Whether a canonical number is among what a text may mean (a fraction also when both its parts are). A range the
 * text names ("1 to 1000", "four-digit") means its ends, and its other integers only for a number that the text it
 * comes `from` lists or says in words: "the digits of 1150" is not restated by "four-digit", nor "1000 divided by it"
 * changed into "999 divided by it" kept by "from 1 to 1000". Without `from`, a range means every integer in it.
 */
function means(quantities: Quantities, number: string, from?: Quantities): boolean {
  if (quantities.meant.has(number)) return true
  const listed = from === undefined || from.listed.has(number) || !from.digits.has(number)
  const value = valueOf(number)
  if (Number.isFinite(value) && quantities.meant.has(formatValue(value))) return true
  if (
    Number.isInteger(value) &&
    quantities.ranges.some(([from, to]) => value === from || value === to || (listed && value >= from && value <= to))
  )
    return true
  // 3/4 as "3 out of 4": both parts stated (an ordinal's "seventh" is no numerator).
  const parts = number.split('/')
  return parts.length === 2 && parts.every((part) => quantities.stated.has(part))
}

/** The distinct numbers a text states, canonical, digits and words. */
export function numbersIn(text: string): string[] {
  return [...quantitiesIn(text).stated.keys()]
}

// ---- expressions -----------------------------------------------------------------------------------------------

const EXPRESSION = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$([^$]+?)\$/g
const squash = (text: string): string => text.replace(/\s+/g, '')

/** The distinct math expressions of a text (their inside, whitespace removed); a dollar sign `\$` is no math. */
export function expressionsIn(text: string): string[] {
  return [
    ...new Set(
      [...text.replace(/\\\$/g, ' ').matchAll(EXPRESSION)].map((m) => squash(m[1] ?? m[2] ?? m[3] ?? m[4] ?? '')).filter(Boolean),
    ),
  ]
}

/** An expression without spacing, sizing and \text{...} words, LaTeX's spellings of numbers made plain. */
const bare = (expression: string): string =>
  plainMath(expression)
    .replace(/\\(?:text|mathrm|textbf|mbox|operatorname)\s*\{[^{}]*\}/g, '\\text')
    .replace(/\\(left|right|displaystyle|[,;:! ])/g, '')
    .replace(/\s+/g, '')
    .replace(/[.,;:]+$/, '')

const VARIABLE = /\\[a-zA-Z]+|[a-zA-Z]/g

/**
 * An expression with its variables (single letters outside command names) numbered in order of first appearance
 * and spacing commands dropped: `x+y=x` and `w + v = w` read the same, `x+y=y` does not.
 */
export function shapeOf(expression: string): string {
  const names = new Map<string, string>()
  return bare(expression).replace(VARIABLE, (token) => {
    if (token.startsWith('\\')) return token
    if (!names.has(token)) names.set(token, `‹${names.size}›`)
    return names.get(token)!
  })
}

/** An expression with every variable one symbol, to find it inside a longer one whatever its letters. */
const skeletonOf = (expression: string): string =>
  bare(expression).replace(VARIABLE, (token) => (token.startsWith('\\') ? token : 'v'))

/**
 * A skeleton with every number one symbol: the same frame with other numbers is a changed expression. Digits that
 * follow one another (`x^{1}2`, LaTeX's reading of `x^12`) are one number too.
 */
const frameOf = (skeleton: string): string => skeleton.replace(/\{?\d+(?:\.\d+)?\}?/g, '#').replace(/#+/g, '#')

/** Whether `needle` occurs in `text` not as part of a longer number (x+1 is not in x+12). */
function containsPart(text: string, needle: string): boolean {
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const before = text[at - 1] ?? ''
    const after = text[at + needle.length] ?? ''
    if (!(/\d/.test(needle[0]!) && /[\d.]/.test(before)) && !(/\d/.test(needle.at(-1)!) && /[\d.]/.test(after))) return true
  }
  return false
}

/** Whether `needle` occurs in `text` as whole terms: not continued by a factor, power, index or argument. */
function containsTerm(text: string, needle: string): boolean {
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const before = text[at - 1] ?? ''
    const after = text[at + needle.length] ?? ''
    if (!/[\w#^_}\\]/.test(before) && !/[\w#^_{(]/.test(after)) return true
  }
  return false
}

interface ExpressionMatch {
  /** Expressions of the original with no match in the paraphrase's math (restated in words, or dropped). */
  missing: string[]
  /** Expressions of the original that the paraphrase's math has with other numbers. */
  changed: string[]
}

/**
 * An expression's terms that have a number in them, variables as one symbol, sorted: two expressions with the same
 * list have the same terms in some order (`22a+60b` and `60y+22x`, not `x^2+3x+2` and `w^2+2w+3`).
 */
const numberList = (expression: string): string =>
  skeletonOf(expression)
    .split(/[+\-()=,]/)
    .filter((term) => /\d/.test(term))
    .sort()
    .join(' ')

/** The original's expressions matched against the paraphrase's math, modulo a renaming of variables. */
export function matchExpressions(original: string, paraphrase: string): ExpressionMatch {
  const theirs = expressionsIn(paraphrase)
  const shapes = new Set(theirs.map(shapeOf))
  const skeletons = theirs.map(skeletonOf)
  const frames = skeletons.map(frameOf)
  const missing: string[] = []
  const changed: string[] = []
  const numberLists = theirs.map(numberList)
  for (const expression of expressionsIn(original)) {
    const skeleton = skeletonOf(expression)
    // A number alone ($12$, $\$10$) is the numbers check's to read; a variable alone ($x$) says nothing.
    if (/^[\d.,{}]*$/.test(skeleton) || skeleton === 'v') continue
    if (shapes.has(shapeOf(expression)) || skeletons.some((s) => containsPart(s, skeleton))) continue
    const frame = frameOf(skeleton)
    // The same frame with other numbers is a change, unless an expression of the paraphrase has the very numbers
    // (terms reordered: "(22a+60b)+(10a+29b)" as "(10x+29y)+(22x+60y)").
    if (
      frame !== skeleton &&
      frame.length >= 4 &&
      frames.some((f) => containsTerm(f, frame)) &&
      !numberLists.includes(numberList(expression))
    )
      changed.push(expression)
    else missing.push(expression)
  }
  return { missing, changed }
}

/** The distinct variables (single letters outside command names and \\text{...}) of a text's math. */
export function variablesIn(text: string): Set<string> {
  const names = new Set<string>()
  for (const expression of expressionsIn(text)) {
    const symbols = expression
      .replace(/\\(?:text|mathrm|textbf|mbox|operatorname|begin|end)\s*\{[^{}]*\}/g, ' ')
      .replace(/\\[a-zA-Z]+/g, ' ')
    for (const m of symbols.matchAll(/[a-zA-Z]/g)) names.add(m[0])
  }
  return names
}

/** How often a text's math writes each number, by value (0.50 is 0.5); fractions aside, which rewrites respell. */
function numbersInMath(text: string): Map<string, number> {
  const counts = new Map<string, number>()
  const math = expressionsIn(text)
    .map((expression) => `$${expression}$`)
    .join(' ')
  for (const [number, times] of quantitiesIn(math).stated)
    if (!number.includes('/')) counts.set(formatValue(valueOf(number)), (counts.get(formatValue(valueOf(number))) ?? 0) + times)
  return counts
}

/**
 * Numbers the paraphrase's math writes more often and others it writes less often than the original's, where both
 * write as many numbers in all: the math kept as it was but for a number changed ("$x^2$" become "$x^4$" where the
 * paraphrase has an $x^4$ too), which neither the numbers check (each number still there) nor the expressions check
 * (the expression split or reordered) sees. Null when the math writes the same numbers, or not as many.
 */
export function swappedInMath(original: string, paraphrase: string): { more: string[]; less: string[] } | null {
  const theirs = numbersInMath(original)
  const ours = numbersInMath(paraphrase)
  const sum = (counts: Map<string, number>): number => [...counts.values()].reduce((x, y) => x + y, 0)
  if (sum(theirs) !== sum(ours)) return null
  const more = [...ours.entries()].filter(([n, times]) => times > (theirs.get(n) ?? 0)).map(([n]) => n)
  const less = [...theirs.entries()].filter(([n, times]) => times > (ours.get(n) ?? 0)).map(([n]) => n)
  return more.length > 0 && less.length > 0 ? { more, less } : null
}

// ---- negation and direction ------------------------------------------------------------------------------------

/** Words that negate what follows: one added likely asks the opposite. */
const NEGATORS = /\b(?:not|never|cannot)\b|n't\b|\\neq?\b|\\not\b|≠/g
/** Words that often restate rather than negate ("has no remainder", "without repetition", "except one"). */
const WEAK_NEGATORS = /\b(?:no|none|nor|neither|without|except)\b/g
/** Words that carry a negation in them, which a rewrite may spell out with "not". */
const NEGATIVE_WORDS =
  /\b(?:non-?[a-z]+|un[a-z]+(?:ed|able|al|ly)|in(?:distinguishable|dependent|finite|valid|correct)|irrational|impossible|refuses?|missing|composite|excluding|exclusive|fails?|lacks?|cannot)\b/g
/** Negative words that restate: "no matter", "without a remainder", "no other", "leaves none". */
const IDIOMS =
  /\b(?:does|do|did|will|would|should) not matter\b|\bnot (?:important|relevant|considering|distinguishable)\b|\bno (?:matter|other|more than|less than|fewer than|greater than|items?|one|remainder|common)\b|\bwithout (?:leaving |a |any )*remainders?\b|\bleav\w* (?:no|none)\b|\b(?:whether|if) or not\b|\bor not\b(?=[?.,])/g

/** Ways to say "at least" and "at most" that would otherwise read as a negation or a direction. */
const AT_LEAST =
  /\b(?:not|no|none) (?:less|fewer|smaller) than\b|\b(?:greater|more|larger) than or equal to\b|\bor (?:more|greater|larger)\b|\ba minimum (?:\w+ )?of(?= \$?\d| (?:one|two|three|four|five|six|seven|eight|nine|ten)\b)/g
const AT_MOST =
  /\b(?:not|no|none) (?:more|greater|larger) than\b|\bdoes not exceed\b|\bnot exceeding\b|\b(?:less|smaller) than or equal to\b|\bor (?:fewer|less|smaller)\b|\ba maximum (?:\w+ )?of(?= \$?\d| (?:one|two|three|four|five|six|seven|eight|nine|ten)\b)/g

/** Where a figure is ("shown below", "the diagram above"): no direction of the problem. */
const FIGURE_PLACES =
  /\b(?:shown|figure|diagram|graph|picture|pictured|drawn|illustrated|displayed|table|chart|grid|given|provided|sketched)\s+(?:below|above)\b|\(below\b/g

/** Opposite directions, and whether swapping one for the other is an error (else a warning: rewrites reword them). */
const OPPOSITES: readonly [string, RegExp, RegExp, Severity][] = [
  // The ceiling of x is the least integer at least x, the floor the greatest at most x.
  ['at least / at most', /\bat least\b|\bno (?:less|fewer) than\b|\\geq?\b|≥|\\lceil\b/g, /\bat most\b|\bno (?:more|greater) than\b|\\leq?\b|≤|\\lfloor\b/g, 'error'],
  ['greater / less', /\b(?:more than|greater|larger|bigger|higher|longer|older|above|exceeds?|obtuse)\b|(?<![\\<-])>(?!=)|\\gt\b/g, /\b(?:less than|fewer than|smaller|lesser|lower|shorter|younger|below|under|acute)\b|(?<![\\>-])<(?!=)|\\lt\b/g, 'error'],
  // The floor is the greatest integer below, the ceiling the least above: a rewrite in words says which.
  ['largest / smallest', /\b(?:largest|greatest|biggest|highest|maximum|maximal|maximize|max|(?<!at )most|longest|oldest|farthest|furthest)\b|\\lfloor\b/g, /\b(?:smallest|(?<!at )least|lowest|minimum|minimal|minimize|min|fewest|shortest|youngest|closest|(?<!to the )nearest)\b|\\lceil\b/g, 'error'],
  // A non-decreasing sequence is an increasing one, in the loose sense a rewrite may use.
  ['increase / decrease', /\b(?:increase[sd]?|increasing|gains?|rises?|grows?|doubles|doubled|triples|tripled|go(?:es)? up|went up)\b|\bnon-?decreasing\b/g, /\b(?<!non-?)(?:decrease[sd]?|decreasing|loses?|loss|falls?|drops?|shrinks?|halves|halved|go(?:es)? down|went down)\b|\bnon-?increasing\b/g, 'error'],
  ['positive / negative', /\bpositive\b|\bnatural(?=[ -]numbers?\b)/g, /\bnegative\b/g, 'error'],
  ['even / odd', /\beven\b/g, /\bodd\b/g, 'error'],
  ['inside / outside', /\binside\b/g, /\boutside\b/g, 'error'],
  ['rational / irrational', /\b(?<!ir)rational\b/g, /\birrational\b/g, 'error'],
  ['before / after', /\bbefore\b/g, /\bafter\b/g, 'warning'],
  ['sum / difference', /\bsum\b/g, /\bdifference\b/g, 'warning'],
  ['product / quotient', /\bproduct\b/g, /\bquotient\b/g, 'warning'],
] // prettier-ignore
/** The greatest common divisor and least common multiple with their direction turned around. */
const TURNED_NAMES =
  /\b(?:least|lowest|smallest) common (?:divisor|factor)s?\b|\b(?:greatest|largest|highest) common (?:multiple|denominator)s?\b/g
/**
 * "At least" is on the side of "greater", "at most" on that of "less": "less than 11" turned into "not less than 11"
 * (read as "at least 11") or "$x > 7y$" into "at most" swaps sides though neither pair alone shows it.
 */
const SIDES: readonly [string, RegExp, RegExp, Severity] = [
  'at least or more / at most or less',
  new RegExp(`${OPPOSITES[0]![1].source}|${OPPOSITES[1]![1].source}`, 'g'),
  new RegExp(`${OPPOSITES[0]![2].source}|${OPPOSITES[1]![2].source}`, 'g'),
  'error',
]

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0
const distinct = (text: string, pattern: RegExp): string => [...new Set(text.match(pattern))].join(', ')

/** Words too common in problems to tell two statements apart. */
const COMMON_WORDS = new Set(
  'that this these those there their them they what which where when with from into have does each than then also such more less only some other same will would could should must been being find value number numbers integer integers point points total'.split(
    ' ',
  ),
)
/** Words that negate or exclude, near which a rewrite's "not" restates rather than adds. */
const NEGATIVE_ANY = new RegExp(
  `${NEGATORS.source}|${WEAK_NEGATORS.source}|${NEGATIVE_WORDS.source}|\\b(?:distinct|different|differ\\w*|other than|unless|only|fail\\w*|neq?)\\b`,
)
const PROSE_NEGATOR = /\b(?:not|never|cannot)\b|n't\b/

/** A sentence's content words as 5-letter stems, and its numbers: what two sentences about the same thing share. */
const stemsOf = (text: string): Set<string> =>
  new Set([
    ...(text.match(/[a-z]+/g) ?? []).filter((w) => w.length >= 4 && !COMMON_WORDS.has(w)).map((w) => w.slice(0, 5)),
    ...(text.match(/\d+(?:\.\d+)?/g) ?? []).filter((n) => !INCIDENTAL.has(n)),
  ])
const sentencesOf = (text: string): string[] => text.split(/[.?!;](?=\s|$)|\n/).filter((s) => s.trim() !== '')

/**
 * The paraphrase's sentences that say "not", "never" or "cannot" where the original's sentences most like them
 * (most content words in common) negate or exclude nothing: a rewrite restates the original's "non-adjacent" as
 * "not next to each other" in the sentence that says it; a "not" in a sentence the original states plainly turns a
 * condition around.
 */
function unalignedNegations(original: string, paraphrase: string): string[] {
  const theirs = sentencesOf(original).map((sentence) => ({
    stems: stemsOf(sentence),
    negative: NEGATIVE_ANY.test(sentence),
  }))
  const unaligned: string[] = []
  const ours = sentencesOf(paraphrase)
  for (const [index, sentence] of ours.entries()) {
    if (!PROSE_NEGATOR.test(sentence)) continue
    const stems = stemsOf(sentence)
    const overlaps = theirs.map((t) => [...stems].filter((stem) => t.stems.has(stem)).length)
    const best = Math.max(0, ...overlaps)
    if (best === 0) {
      // Nothing in common: the sentences around the same place in the original (the ask with the ask).
      const at = Math.round((index * Math.max(0, theirs.length - 1)) / Math.max(1, ours.length - 1))
      if (!theirs.slice(Math.max(0, at - 1), at + 2).some((t) => t.negative)) unaligned.push(sentence.trim().slice(0, 80))
      continue
    }
    // The sentences as alike as the best, or nearly: rewrites split and merge sentences.
    if (!theirs.some((t, i) => t.negative && overlaps[i]! >= best - 1)) unaligned.push(sentence.trim().slice(0, 80))
  }
  return unaligned
}

export interface NegationChange {
  change: string
  severity: Severity
}

/** What the paraphrase negates or turns around that the original did not. */
export function negationChanges(original: string, paraphrase: string): NegationChange[] {
  const words = (text: string): string =>
    text
      .replace(/\[asy\][\s\S]*?(\[\/asy\]|$)/g, ' ')
      .toLowerCase()
      .replace(AT_LEAST, 'at least')
      .replace(AT_MOST, 'at most')
      .replace(IDIOMS, ' ')
      .replace(FIGURE_PLACES, ' ')
      // "$k < 0$" says k is negative, "$0 < r$" and "$r > 0$" that r is positive.
      .replace(/([a-z)}\]])\s*(?:<(?!=)|\\lt\b)\s*0(?!\d|\.\d)|(?<![\d.])0\s*(?:>(?!=)|\\gt\b)\s*(?=[a-z\\(])/g, '$1 negative ')
      .replace(/([a-z)}\]])\s*(?:>(?!=)|\\gt\b)\s*0(?!\d|\.\d)|(?<![\d.])0\s*(?:<(?!=)|\\lt\b)\s*(?=[a-z\\(])/g, '$1 positive ')
      // "$10 < x$" says x is greater than 10: a relation that starts from a number reads from its other side, as a
      // rewrite may turn it around.
      .replace(
        /((?:^|[$({,]|\\\[)\s*-?\d+(?:\.\d+)?\s*)(<(?!=)|>(?!=)|\\[lg]t\b|\\[lg]eq?\b)/g,
        (_, before: string, relation: string) => {
          const turned = /^(?:<|\\l)/.test(relation) ? relation.replace(/^<|^\\l/, '\\g') : relation.replace(/^>|^\\g/, '\\l')
          return `${before} ${turned.replace(/^\\([lg])$/, '\\$1t')} `
        },
      )
  const a = words(original)
  const b = words(paraphrase)
  const changes: NegationChange[] = []
  // "not prime" restates "composite", "not next to each other" "non-adjacent", "not either" "neither": a negation
  // the original carries in a word that the paraphrase no longer has is no negation added.
  const restated =
    Math.max(0, count(a, WEAK_NEGATORS) - count(b, WEAK_NEGATORS)) +
    Math.max(0, count(a, NEGATIVE_WORDS) - count(b, NEGATIVE_WORDS))
  const unaligned = unalignedNegations(a, b)
  if (count(b, NEGATORS) > count(a, NEGATORS) + restated)
    changes.push({ change: `negation added (${distinct(b, NEGATORS)})`, severity: 'error' })
  else if (unaligned.length > 0)
    changes.push({ change: `negation added where the original negates nothing alike (“${unaligned[0]}”)`, severity: 'error' })
  else if (count(b, WEAK_NEGATORS) > count(a, WEAK_NEGATORS))
    changes.push({ change: `negative word added (${distinct(b, WEAK_NEGATORS)})`, severity: 'warning' })
  for (const [name, first, second, severity] of OPPOSITES) {
    const [a1, a2, b1, b2] = [count(a, first), count(a, second), count(b, first), count(b, second)]
    if ((b1 < a1 && b2 > a2) || (b2 < a2 && b1 > a1)) changes.push({ change: `${name} swapped`, severity })
  }
  // "Least common divisor" and "greatest common multiple" name nothing a rewrite would: the name turned around.
  if (count(b, TURNED_NAMES) > count(a, TURNED_NAMES))
    changes.push({ change: `${distinct(b, TURNED_NAMES)} named`, severity: 'error' })
  // Either side's words swapped as a whole, where nothing else is found (a negation's "not less" reads "at least").
  const [sides, greater, less, severity] = SIDES
  const [a1, a2, b1, b2] = [count(a, greater), count(a, less), count(b, greater), count(b, less)]
  if (changes.length === 0 && ((b1 < a1 && b2 > a2) || (b2 < a2 && b1 > a1)))
    changes.push({ change: `${sides} swapped`, severity })
  return changes
}

// ---- the answer ------------------------------------------------------------------------------------------------

/** An answer's text as it may appear in a question: no `\boxed`, no spacing, no `\left`/`\right`. */
const answerShape = (text: string): string =>
  plainMath(text.replace(/^\\boxed\{([\s\S]*)\}$/, '$1'))
    .replace(/\\(left|right|displaystyle|[,;:! ])/g, '')
    .replace(/\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}/g, '$1')
    .replace(/\^\{?\\circ\}?|\$/g, '')
    .replace(/\s*([^\w\s])\s*/g, '$1')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase()

/** Whether `needle` occurs in `text` as a whole token (not inside a longer number or word). */
function containsToken(text: string, needle: string): boolean {
  const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  // Only an end that is a letter or digit needs a boundary: `\frac{1}{2}` or `(1,-2)` cannot run into a word.
  const start = /^[\w.]/.test(needle) ? '(^|[^\\w.])' : ''
  const end = /\w$/.test(needle) ? '($|[^\\w]|\\.(?!\\d))' : ''
  return new RegExp(`${start}${escaped}${end}`).test(text)
}

/**
 * The answer, where the paraphrase shows it and the original does not, anywhere (its math included); null when it
 * does not leak. A number counts where the paraphrase writes it in digits: "two numbers" rarely gives away a 2.
 */
function leakedAnswer(
  answer: string,
  original: Quantities,
  paraphrase: Quantities,
  originalText: string,
  paraphraseText: string,
): string | null {
  const shape = answerShape(answer)
  if (shape === '') return null
  const number = /^-?[\d.,]+$|^-?\\frac\{[\d.,]+\}\{[\d.,]+\}$|^-?\d+\/\d+$/.test(shape)
    ? canonicalNumber(shape.replace(/^-/, ''))
    : null
  // The original shows the number where it writes it, in digits or words ("one" and "zero" among them), and nowhere
  // else: an ordinal, a percent or a range of the original does not show the answer.
  if (number !== null)
    return paraphrase.digits.has(number) && !original.stated.has(number) && !original.said.has(number) ? answer.trim() : null
  // An answer that is not a number (an expression, an interval, a word) occurs as text, spacing aside.
  if (shape.length < 2) return null
  return containsToken(answerShape(paraphraseText), shape) && !containsToken(answerShape(originalText), shape)
    ? answer.trim()
    : null
}

/** How often `needle` occurs in `text` as a whole token (not inside a longer number or word). */
function countToken(text: string, needle: string): number {
  const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const start = /^[\w.]/.test(needle) ? '(?<![\\w.])' : ''
  const end = /\w$/.test(needle) ? '(?!\\w|\\.\\d)' : ''
  return count(text, new RegExp(`${start}${escaped}${end}`, 'g'))
}

/**
 * Whether an answer the original shows too is written more often in the paraphrase (a leak or a restatement): a
 * number in digits, or as a given of its own where the original has it only as an exponent, index or word ("$x^2$",
 * "twelve" and then "12"); a list of numbers, each of them; any other answer of two characters or more ("(6,0)",
 * "even", "a+b") as text, spacing aside.
 */
function repeatsAnswer(
  answer: string,
  original: Quantities,
  paraphrase: Quantities,
  originalText: string,
  paraphraseText: string,
): boolean {
  const shape = answerShape(answer)
  // A list of numbers ("8, 12", "-3, 1, 5", not "1,000") repeats when each of them is written more often.
  const list = /^(?:-?\d+(?:\.\d+)?,)+-?\d+(?:\.\d+)?$/.test(shape) && !/^-?\d{1,3}(?:,\d{3})+$/.test(shape)
  const items = list ? shape.split(',') : []
  if (items.length === 0 && !/^-?[\d.,]+$/.test(shape))
    return shape.length >= 2 && countToken(answerShape(paraphraseText), shape) > countToken(answerShape(originalText), shape)
  const numbers = (items.length > 0 ? items : [shape]).map((item) => canonicalNumber(item.replace(/^-/, '')))
  if (numbers.every((n) => (paraphrase.digits.get(n) ?? 0) > (original.stated.get(n) ?? 0))) return true
  const [n] = numbers
  return numbers.length === 1 && (paraphrase.givens.get(n!) ?? 0) > (original.givens.get(n!) ?? 0)
}

/** The words that announce an answer: "the answer is", "the result is", "it works out to". */
const ANNOUNCING = /\b(?:(?:answer|result|solution)\s*(?:is|equals|would be|will be|should be|:|=)|(?:works|comes) out to)/i

/**
 * Whether the paraphrase announces the answer more often than the original does: "the answer is 12", "the result is
 * $\\text{B}$", "it works out to 8". Any answer, a letter or word too, for the phrase says what it is.
 */
function announcesAnswer(answer: string, originalText: string, paraphraseText: string): boolean {
  // Most paraphrases announce nothing: passed over before their text is shaped.
  if (!ANNOUNCING.test(paraphraseText)) return false
  const shape = answerShape(answer)
  if (shape === '') return false
  const escaped = shape.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const end = /\w$/.test(shape) ? '(?![\\w]|\\.\\d)' : ''
  const announced = new RegExp(`${ANNOUNCING.source}\\s*\\(?${escaped}${end}`, 'g')
  return count(answerShape(paraphraseText), announced) > count(answerShape(originalText), announced)
}

// ---- the pair ----------------------------------------------------------------------------------------------------

/** The bases and exponents of the powers of `text` whose values the `other` text means (25 for "$5^2$"). */
const partsOfPowersMeant = (text: Quantities, other: Quantities): Set<string> =>
  new Set(text.powers.filter(([, , value]) => means(other, value)).flatMap(([base, exponent]) => [base, exponent]))

/** Numbers a faithful rewrite often leaves implicit. */
const INCIDENTAL = new Set(['0', '1', '2'])

/** Whether the text writes a number as a given of its own: in digits, and not as where a range of integers starts. */
const isGiven = (quantities: Quantities, number: string): boolean =>
  quantities.givens.has(number) && !quantities.ranges.some(([from]) => String(from) === number)

const normalised = (text: string): string => text.toLowerCase().replace(/\s+/g, ' ').trim()
const listed = (items: string[]): string => items.map((item) => `“${item}”`).join(', ')
const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, note: 2 }

export function checkPair(original: string, paraphrase: string, answer: string | null): PairChecks {
  const findings: Finding[] = []
  const found = (check: CheckName, severity: Severity, message: string): void => {
    findings.push({ check, severity, message })
  }
  const a = quantitiesIn(original)
  const b = quantitiesIn(paraphrase)

  const leaked = answer === null ? null : leakedAnswer(answer, a, b, original, paraphrase)
  // A power the paraphrase works out ("25" for "$5^2$") states its base and exponent.
  const worked = partsOfPowersMeant(a, b)
  const missing = [...a.stated.keys()].filter((n) => !means(b, n, a) && !a.elided.has(n) && !worked.has(n))
  // A leaked answer is the leak check's to report, not also a new number.
  const leakedNumber = leaked === null ? null : canonicalNumber(answerShape(leaked).replace(/^-/, ''))
  // A term the paraphrase spells out in a list that both continue with an ellipsis ("-39, -37, -35, \\ldots") is the
  // list's, not a new number.
  // And a power the paraphrase writes for a number of the original ("$(5^3)^x$" for "$125^x$") states it.
  const unworked = partsOfPowersMeant(b, a)
  const added = [...b.stated.keys()].filter(
    (n) => !unworked.has(n) && !means(a, n, b) && n !== leakedNumber && !(b.elided.has(n) && a.elided.size > 0),
  )
  if (missing.length > 0)
    found(
      'numbers',
      // 0, 1 and 2 go without saying more often than other numbers ("a pair", "the origin", "each"): alone, a warning.
      // A 1 or 2 the original writes in digits is a given ("had 2 paperclips", "$y=1$"), not a turn of phrase.
      added.length === 0 && missing.every((n) => INCIDENTAL.has(n) && (n === '0' || !isGiven(a, n))) ? 'warning' : 'error',
      `The original's ${listed(missing)} ${missing.length > 1 ? 'are' : 'is'} not in the paraphrase (in digits, words or math): check whether it was changed or dropped.`,
    )
  const fewer = [...a.stated.entries()].filter(
    ([n, times]) => (b.stated.get(n) ?? 0) < times && !missing.includes(n) && !a.elided.has(n),
  )
  if (added.length > 0) {
    // A number gone and one new: likely changed, unless both are a 0, 1 or 2 (or the new one a fraction), which
    // faithful rewrites shuffle too often to say so.
    // A 0, 1 or 2 counts where written in digits: "two numbers" or "one of them" restate, "2" may be a changed given.
    const whole = added.filter((n) => !n.includes('/') && (!INCIDENTAL.has(n) || b.givens.has(n)))
    // A new number in the math (not the story around it) is a changed given more often than a scenario's detail.
    const inMath = quantitiesIn(
      expressionsIn(paraphrase)
        .map((e) => `$${e}$`)
        .join(' '),
    ).stated
    const changed =
      missing.length > 0 ||
      whole.some((n) => !INCIDENTAL.has(n) && inMath.has(n)) ||
      (fewer.length > 0 && whole.some((n) => !INCIDENTAL.has(n))) ||
      (whole.length > 0 && fewer.some(([n]) => !INCIDENTAL.has(n)))
    found(
      'new_numbers',
      changed ? 'error' : 'warning',
      changed
        ? `The paraphrase has ${listed(added)} where the original has ${listed(missing.length > 0 ? missing : fewer.map(([n]) => n))}: check whether a number was changed.`
        : `The paraphrase adds ${listed(added)}, which the original does not state: check that it does not change the question.`,
    )
  }

  // A given written fewer times, fewer givens in all and a shorter text: likely a statement of the original dropped
  // whose number the paraphrase also states elsewhere ("for 20 days ... after the 20 days" losing the second).
  const total = (counts: Map<string, number>): number => [...counts.values()].reduce((x, y) => x + y, 0)
  const dropped = [...a.givens.entries()]
    .filter(([n, times]) => n !== '0' && n !== '1' && !a.elided.has(n) && (b.givens.get(n) ?? 0) < times)
    // A percent the paraphrase says in words ("50%" as "half") is restated, not dropped.
    .filter(([n]) => (b.stated.get(n) ?? 0) < a.stated.get(n)! && ((b.stated.get(n) ?? 0) > 0 || !a.percents.has(n)))
    .map(([n]) => n)
  if (
    dropped.length > 0 &&
    total(b.givens) < total(a.givens) &&
    paraphrase.trim().length < original.trim().length &&
    !findings.some((f) => f.check === 'numbers' && f.severity === 'error')
  )
    found(
      'numbers',
      'error',
      `The paraphrase is shorter and writes ${listed(dropped)} fewer times than the original: check whether a statement with it was dropped.`,
    )
  // A shorter paraphrase that writes fewer numbers in all and names fewer variables than the original: a statement
  // dropped with its variable ("$m > 0$", "when $x = 4$"). A restatement renames variables, keeping their count; a
  // story that trades the math for words is seldom shorter (one that is gets this error too: 5 of the 7,500 released
  // pairs, against some 5 dropped statements caught per 1,500 broken pairs).
  const lostVariables = variablesIn(original).size - variablesIn(paraphrase).size
  if (
    lostVariables > 0 &&
    total(b.stated) < total(a.stated) &&
    paraphrase.trim().length < original.trim().length &&
    !findings.some((f) => f.check === 'numbers' && f.severity === 'error')
  )
    found(
      'numbers',
      'error',
      `The paraphrase is shorter, writes fewer numbers (${total(b.stated)}, the original ${total(a.stated)}) and names ${lostVariables} fewer variable${lostVariables > 1 ? 's' : ''} than the original: check whether a statement was dropped.`,
    )

  // A number written fewer times and another of the original's more often: one likely changed into the other
  // ("$T = 4$ and $H = 8$" become "$T = 8$ and $H = 8$"), which neither is missing nor new.
  const more = [...b.givens.entries()]
    .filter(([n, times]) => a.givens.has(n) && times > a.givens.get(n)! && b.stated.get(n)! > a.stated.get(n)!)
    .map(([n]) => n)
  // A number the paraphrase writes as a power ("$(10^2)^3$" for "$100^3$") is not written less often.
  const asPowers = new Set(b.powers.map(([, , value]) => value))
  const less = [...a.givens.entries()]
    .filter(([n, times]) => (b.givens.get(n) ?? 0) < times && (b.stated.get(n) ?? 0) < a.stated.get(n)! && !asPowers.has(n))
    .map(([n]) => n)
  if (
    added.length === 0 &&
    !findings.some((f) => f.check === 'numbers' && f.severity === 'error') &&
    more.length > 0 &&
    less.length > 0 &&
    [...more, ...less].some((n) => n !== '0')
  )
    found(
      'numbers',
      'error',
      `The paraphrase writes ${listed(more)} more often and ${listed(less)} less often than the original: check whether one was changed into the other.`,
    )

  const expressions = matchExpressions(original, paraphrase)
  const swappedMath = swappedInMath(original, paraphrase)
  // A number moved between the math and the words ("$4$ times" said "four times") is no swap: it counts in all.
  const swapped =
    swappedMath !== null && !swappedMath.less.some((n) => (b.stated.get(n) ?? 0) < (a.stated.get(n) ?? 0)) ? null : swappedMath
  if (expressions.changed.length > 0)
    found(
      'expressions',
      'error',
      `${listed(expressions.changed.slice(0, 3))} ${expressions.changed.length > 1 ? 'appear' : 'appears'} in the paraphrase's math with other numbers: check whether a number was changed.`,
    )
  else if (swapped !== null)
    found(
      'expressions',
      'error',
      `The paraphrase's math writes as many numbers as the original's, ${listed(swapped.more)} more often and ${listed(swapped.less)} less often: check whether one was changed into the other.`,
    )
  else if (expressions.missing.length > 0)
    found(
      'expressions',
      'note',
      `${listed(expressions.missing.slice(0, 3))}${expressions.missing.length > 3 ? ' and more' : ''} ${expressions.missing.length > 1 ? 'have' : 'has'} no match in the paraphrase's math, variables renamed aside: check that a restatement in words says the same.`,
    )

  if (leaked !== null)
    found(
      'answer_leak',
      'error',
      `The answer ${leaked} appears in the paraphrase but not in the original: the question may give it away.`,
    )
  else if (answer !== null && repeatsAnswer(answer, a, b, original, paraphrase))
    found(
      'answer_leak',
      'error',
      `The answer ${answer.trim()} is written more often in the paraphrase than in the original: check that it is not given away.`,
    )
  else if (answer !== null && announcesAnswer(answer, original, paraphrase))
    found(
      'answer_leak',
      'error',
      `The paraphrase says the answer is ${answer.trim()} (“the answer is”, “works out to”): the question gives it away.`,
    )

  const negation = negationChanges(original, paraphrase)
  if (negation.length > 0)
    found(
      'negation',
      negation.some((c) => c.severity === 'error') ? 'error' : 'warning',
      `${negation.map((c) => c.change).join('; ')}: check that the paraphrase asks the same, not its opposite.`,
    )

  const x = normalised(original)
  const y = normalised(paraphrase)
  const editDistance = Math.max(x.length, y.length) === 0 ? 0 : distance(x, y) / Math.max(x.length, y.length)
  if (editDistance < SIMILARITY_LIMIT)
    found('too_similar', 'note', 'The paraphrase nearly copies the original: it adds little as a rewrite.')
  const ratio = original.trim().length === 0 ? 0 : paraphrase.trim().length / original.trim().length
  if (ratio < LENGTH_RATIO_RANGE[0])
    found(
      'length_ratio',
      'warning',
      `The paraphrase is ${Math.round(ratio * 100)}% of the original's length: check that no condition was dropped.`,
    )
  else if (ratio > LENGTH_RATIO_RANGE[1])
    found(
      'length_ratio',
      'note',
      `The paraphrase is ${Math.round(ratio * 10) / 10} times the original's length: check that it adds no condition.`,
    )

  findings.sort((p, q) => SEVERITY_ORDER[p.severity] - SEVERITY_ORDER[q.severity])
  const failedChecks = new Set(findings.map((f) => f.check))
  return {
    failed: CHECK_NAMES.filter((name) => failedChecks.has(name)),
    findings,
    numbers: { missing, fewer: fewer.map(([n]) => n) },
    new_numbers: { added },
    expressions,
    answer_leak: { leaked },
    negation: { changes: negation.map((c) => c.change) },
    too_similar: { distance: Math.round(editDistance * 1000) / 1000 },
    length_ratio: { ratio: Math.round(ratio * 1000) / 1000 },
  }
}
