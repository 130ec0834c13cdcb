// Answer-preservation checks for a question and its paraphrase. The reference checked nothing (co-rewarding.md
// section 11): a paraphrase that changes a number, drops a condition, flips one or leaks the answer makes a bad
// Co-rewarding-I pair. Each check reports findings, each with a severity and a sentence saying what to look at:
// an error likely changes the answer, a warning may, a note is about the rewrite's form.
//
// The checks read meaning over surface, since a good rewrite restates: numbers are compared as quantities (1,000 =
// 1000; 0.50 = 0.5; \frac{3}{4} = 3/4 = three-quarters; `\$60` = 60 dollars; "twice" = 2), expressions modulo a
// consistent renaming of their variables, and the answer only where the original does not show it.
//
// - numbers: a number of the original is nowhere in the paraphrase, in digits, words or math: an error (a warning
//   when all that is missing is a 0, 1 or 2, which faithful rewrites often leave implicit).
// - new_numbers: a number of the paraphrase is nowhere in the original: a warning (a rewrite may add a scenario's
//   numbers), an error when it looks like a changed number (one of the original is missing, or written fewer times,
//   or the new number is in the paraphrase's math rather than its story).
// - expressions: a math expression of the original has no match in the paraphrase's math, variables renamed
//   consistently aside: a note (usually restated in words, which the numbers check reads); an error when the
//   paraphrase's math has the same expression with other numbers.
// - answer_leak: the answer occurs in the paraphrase although the original does not show it anywhere (its math
//   included): an error; a numeric answer the paraphrase writes more often than the original: an error too (a
//   restatement rarely writes the answer once more; a rewriter who solved the problem first does).
// - negation: the paraphrase negates what the original did not ("not", "never", "≠": an error; "no", "without",
//   "except": a warning), or turns a direction around ("at least" / "at most", "more than" / "less than", "<" / ">",
//   "largest" / "smallest", "even" / "odd", "positive" / "negative": an error; "sum" / "difference": a warning).
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
 * `\dfrac34` and `x^2y` have their one-character arguments braced (`\log_464` is log base 4 of 64).
 */
function plainMath(text: string): string {
  return text
    .replace(/\[asy\][\s\S]*?(\[\/asy\]|$)/g, ' ')
    .replace(/\\[hv]space\*?\{[^}]*\}/g, ' ')
    .replace(/\\\$/g, ' ')
    .replace(/\\%/g, '%')
    .replace(/(\d)\{,\}(?=\d)/g, '$1,')
    .replace(/(\d),\\!(?=\d)/g, '$1,')
    .replace(/(\d)\\[,;: ](?=\d{3})/g, '$1')
    .replace(/\\[dt]frac/g, '\\frac')
    .replace(/\\frac\s*(\d)\s*(\d)/g, '\\frac{$1}{$2}')
    .replace(/\\frac\s*(\{[^{}]*\})\s*(\d)/g, '\\frac$1{$2}')
    .replace(/\\frac\s*(\d)\s*\{/g, '\\frac{$1}{')
    .replace(/([_^])\s*(\d)/g, '$1{$2}')
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
  perpendicular: [90], straight: [180], percent: [100], hundredth: [100], hundredths: [100], thousandth: [1000],
  inverse: [1], reciprocal: [1], single: [1],
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
  /** Every value the text may mean: the stated ones, one, ordinals, "twice", fraction parts, percents. */
  meant: Set<string>
  /** Ranges of integers the text names ("1 through 5"), ends included. */
  ranges: [number, number][]
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
  for (const m of plain.matchAll(NUMBER)) {
    const number = canonicalNumber(m[0].startsWith('.') ? `0${m[0]}` : m[0])
    add(stated, number)
    if (!plain.slice(0, m.index).endsWith('_{')) add(digits, number)
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
  for (const m of plain.matchAll(/\b(\d+)\s*(?:through|to|and|-|–|,\s*\\l?dots\s*,)\s*(\d+)\b/g)) {
    const [from, to] = [Number(m[1]), Number(m[2])]
    if (to > from) ranges.push([from, to])
  }
  for (const key of [...stated.keys(), ...said, ...meant]) {
    meant.add(key)
    const value = valueOf(key)
    if (Number.isFinite(value)) {
      meant.add(formatValue(value))
      meant.add(formatValue(value * 100))
      meant.add(formatValue(value / 100))
    }
    if (key.includes('/')) for (const part of key.split('/')) meant.add(part)
  }
  return { stated, said, digits, meant, ranges }
}

/** Whether a canonical number is among what a text may mean (a fraction also when both its parts are). */
function means(quantities: Quantities, number: string): boolean {
  if (quantities.meant.has(number)) return true
  const value = valueOf(number)
  if (Number.isFinite(value) && quantities.meant.has(formatValue(value))) return true
  if (Number.isInteger(value) && quantities.ranges.some(([from, to]) => value >= from && value <= to)) return true
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

/** The original's expressions matched against the paraphrase's math, modulo a renaming of variables. */
export function matchExpressions(original: string, paraphrase: string): ExpressionMatch {
  const theirs = expressionsIn(paraphrase)
  const shapes = new Set(theirs.map(shapeOf))
  const skeletons = theirs.map(skeletonOf)
  const frames = skeletons.map(frameOf)
  const missing: string[] = []
  const changed: string[] = []
  for (const expression of expressionsIn(original)) {
    const skeleton = skeletonOf(expression)
    // A number alone ($12$, $\$10$) is the numbers check's to read; a variable alone ($x$) says nothing.
    if (/^[\d.,{}]*$/.test(skeleton) || skeleton === 'v') continue
    if (shapes.has(shapeOf(expression)) || skeletons.some((s) => containsPart(s, skeleton))) continue
    const frame = frameOf(skeleton)
    if (frame !== skeleton && frame.length >= 4 && frames.some((f) => containsTerm(f, frame))) changed.push(expression)
    else missing.push(expression)
  }
  return { missing, changed }
}

// ---- negation and direction ------------------------------------------------------------------------------------

/** Words that negate what follows: one added likely asks the opposite. */
const NEGATORS = /\b(?:not|never|cannot)\b|n't\b|\\neq?\b|\\not\b|≠/g
/** Words that often restate rather than negate ("has no remainder", "without repetition", "except one"). */
const WEAK_NEGATORS = /\b(?:no|none|nor|neither|without|except)\b/g
/** Words that carry a negation in them, which a rewrite may spell out with "not". */
const NEGATIVE_WORDS =
  /\b(?:non-?[a-z]+|un[a-z]+(?:ed|able|al|ly)|in(?:distinguishable|dependent|finite|valid|correct|equality)|irrational|impossible|refuses?|missing|composite|excluding|exclusive|fails?|lacks?|cannot)\b/g
/** Negative words that restate: "no matter", "without a remainder", "no other", "leaves none". */
const IDIOMS =
  /\b(?:does|do|did|will|would|should) not matter\b|\bnot (?:important|relevant|considering|distinguishable)\b|\bno (?:matter|other|more than|less than|fewer than|greater than|items?|one|remainder|common)\b|\bwithout (?:leaving |a |any )*remainders?\b|\bleav\w* (?:no|none)\b/g

/** Ways to say "at least" and "at most" that would otherwise read as a negation or a direction. */
const AT_LEAST = /\b(?:not|no) (?:less|fewer|smaller) than\b|\b(?:greater|more|larger) than or equal to\b/g
const AT_MOST =
  /\b(?:not|no) (?:more|greater|larger) than\b|\bdoes not exceed\b|\bnot exceeding\b|\b(?:less|smaller) than or equal to\b/g

/** Opposite directions, and whether swapping one for the other is an error (else a warning: rewrites reword them). */
const OPPOSITES: readonly [string, RegExp, RegExp, Severity][] = [
  ['at least / at most', /\bat least\b|\bno (?:less|fewer) than\b|\\geq?\b|≥/g, /\bat most\b|\bno (?:more|greater) than\b|\\leq?\b|≤/g, 'error'],
  ['greater / less', /\b(?:more than|greater|larger|bigger|higher|longer|older|above|exceeds?)\b|(?<![\\<-])>(?!=)|\\gt\b/g, /\b(?:less than|fewer than|smaller|lower|shorter|younger|below|under)\b|(?<![\\>-])<(?!=)|\\lt\b/g, 'error'],
  // The floor is the greatest integer below, the ceiling the least above: a rewrite in words says which.
  ['largest / smallest', /\b(?:largest|greatest|biggest|highest|maximum|maximal|maximize|max|(?<!at )most|longest|oldest)\b|\\lfloor\b/g, /\b(?:smallest|(?<!at )least|lowest|minimum|minimal|minimize|min|fewest|shortest|youngest)\b|\\lceil\b/g, 'error'],
  ['increase / decrease', /\b(?:increase[sd]?|increasing|gains?|rises?|grows?)\b/g, /\b(?:decrease[sd]?|decreasing|loses?|loss|falls?|drops?|shrinks?)\b/g, 'error'],
  ['positive / negative', /\bpositive\b/g, /\bnegative\b/g, 'error'],
  ['even / odd', /\beven\b/g, /\bodd\b/g, 'error'],
  ['inside / outside', /\binside\b/g, /\boutside\b/g, 'error'],
  ['rational / irrational', /\b(?<!ir)rational\b/g, /\birrational\b/g, 'error'],
  ['before / after', /\bbefore\b/g, /\bafter\b/g, 'warning'],
  ['sum / difference', /\bsum\b/g, /\bdifference\b/g, 'warning'],
  ['product / quotient', /\bproduct\b/g, /\bquotient\b/g, 'warning'],
] // prettier-ignore

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0
const distinct = (text: string, pattern: RegExp): string => [...new Set(text.match(pattern))].join(', ')

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
  const a = words(original)
  const b = words(paraphrase)
  const changes: NegationChange[] = []
  // "not prime" restates "composite", "not next to each other" "non-adjacent", "not either" "neither": a negation
  // the original carries in a word that the paraphrase no longer has is no negation added.
  const restated =
    Math.max(0, count(a, WEAK_NEGATORS) - count(b, WEAK_NEGATORS)) +
    Math.max(0, count(a, NEGATIVE_WORDS) - count(b, NEGATIVE_WORDS))
  if (count(b, NEGATORS) > count(a, NEGATORS) + restated)
    changes.push({ change: `negation added (${distinct(b, NEGATORS)})`, severity: 'error' })
  else if (count(b, WEAK_NEGATORS) > count(a, WEAK_NEGATORS))
    changes.push({ change: `negative word added (${distinct(b, WEAK_NEGATORS)})`, severity: 'warning' })
  for (const [name, first, second, severity] of OPPOSITES) {
    const [a1, a2, b1, b2] = [count(a, first), count(a, second), count(b, first), count(b, second)]
    if ((b1 < a1 && b2 > a2) || (b2 < a2 && b1 > a1)) changes.push({ change: `${name} swapped`, severity })
  }
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

/** Whether a numeric answer the original shows too is written more often in the paraphrase (a leak or a restatement). */
function repeatsAnswer(answer: string, original: Quantities, paraphrase: Quantities): boolean {
  const shape = answerShape(answer)
  if (!/^-?[\d.,]+$/.test(shape)) return false
  const number = canonicalNumber(shape.replace(/^-/, ''))
  return (paraphrase.digits.get(number) ?? 0) > (original.stated.get(number) ?? 0)
}

// ---- the pair ----------------------------------------------------------------------------------------------------

/** Numbers a faithful rewrite often leaves implicit. */
const INCIDENTAL = new Set(['0', '1', '2'])

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
  const missing = [...a.stated.keys()].filter((n) => !means(b, n))
  // A leaked answer is the leak check's to report, not also a new number.
  const leakedNumber = leaked === null ? null : canonicalNumber(answerShape(leaked).replace(/^-/, ''))
  const added = [...b.stated.keys()].filter((n) => !means(a, n) && n !== leakedNumber)
  if (missing.length > 0)
    found(
      'numbers',
      // 0, 1 and 2 go without saying more often than other numbers ("a pair", "the origin", "each"): alone, a warning.
      added.length === 0 && missing.every((n) => INCIDENTAL.has(n)) ? 'warning' : 'error',
      `The original's ${listed(missing)} ${missing.length > 1 ? 'are' : 'is'} not in the paraphrase (in digits, words or math): check whether it was changed or dropped.`,
    )
  const fewer = [...a.stated.entries()].filter(([n, times]) => (b.stated.get(n) ?? 0) < times && !missing.includes(n))
  if (added.length > 0) {
    // A number gone and one new: likely changed, unless both are a 0, 1 or 2 (or the new one a fraction), which
    // faithful rewrites shuffle too often to say so.
    const whole = added.filter((n) => !n.includes('/'))
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

  const expressions = matchExpressions(original, paraphrase)
  if (expressions.changed.length > 0)
    found(
      'expressions',
      'error',
      `${listed(expressions.changed.slice(0, 3))} ${expressions.changed.length > 1 ? 'appear' : 'appears'} in the paraphrase's math with other numbers: check whether a number was changed.`,
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
  else if (answer !== null && repeatsAnswer(answer, a, b))
    found(
      'answer_leak',
      'error',
      `The answer ${answer.trim()} is written more often in the paraphrase than in the original: check that it is not given away.`,
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
