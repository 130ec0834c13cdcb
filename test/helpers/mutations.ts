// Broken copies of released paraphrases, made the way a careless rewriter breaks them, to measure whether the
// answer-preservation checks catch what matters. The mutations are written from how rewrites go wrong, not from
// how the checks read text:
//
// - number: one number the paraphrase writes in digits becomes another (a typo, a misread, a "simpler" value).
// - clause: a clause or sentence that states a number is left out (a condition dropped while shortening).
// - answer: the answer is written into the question (a rewriter that solved the problem first).
// - negation: a condition is turned around: "is" → "is not", "at least" ↔ "at most", "more" ↔ "less", "<" ↔ ">",
//   "even" ↔ "odd", "positive" ↔ "negative", "largest" ↔ "smallest", "can" → "cannot"...
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import { join } from 'node:path'
import { Random } from '../../main/random'
import { sharedData } from './shared-data'

export const MUTATIONS = ['number', 'clause', 'answer', 'negation'] as const
export type Mutation = (typeof MUTATIONS)[number]

export interface ReleasedPair {
  /** The row's position in train_pairs.parquet. */
  index: number
  original: string
  paraphrase: string
  answer: string
}

export const releasedPairsFile = join(sharedData, 'co-rewarding', 'math', 'train_pairs.parquet')

/** The released MATH pairs (Qwen3-32B rewrites), in file order. */
export async function readReleasedPairs(): Promise<ReleasedPair[]> {
  const rows = await readRows(releasedPairsFile)
  return rows.map((row, index) => ({
    index,
    original: String(row.original_question),
    paraphrase: String(row.rephrased_question),
    answer: String(row.solution),
  }))
}

/** A parquet file's rows as objects. */
const readRows = async (file: string): Promise<Record<string, unknown>[]> =>
  (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Record<string, unknown>[]

/** The user turn of a verl-style `prompt` column (the question, without the system turn). */
const userTurn = (row: Record<string, unknown>): string =>
  String((row.prompt as { role: string; content: string }[]).find((turn) => turn.role === 'user')!.content)

/** The released AMC questions paired with their Qwen3-32B rewrites (two aligned verl files), in file order. */
export async function readAmcPairs(): Promise<ReleasedPair[]> {
  const read = (name: string): Promise<Record<string, unknown>[]> => readRows(join(sharedData, 'co-rewarding', 'amc', name))
  const [originals, rewrites] = await Promise.all([read('test_original.parquet'), read('test_rewrite_Qwen3-32B.parquet')])
  return originals.map((row, index) => ({
    index,
    original: userTurn(row),
    paraphrase: userTurn(rewrites[index]!),
    answer: String((row.reward_model as { ground_truth: string }).ground_truth),
  }))
}

/** `count` distinct items drawn with a fixed seed, in their original order. */
export function seededSample<T>(items: readonly T[], count: number, seed: number): T[] {
  const random = new Random(seed)
  const order = items.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
    .slice(0, count)
    .sort((a, b) => a - b)
    .map((i) => items[i]!)
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random.next() * items.length)]!

/** Spans of math ($...$, $$...$$, \[...\], \(...\)) in a text, so prose edits can stay out of them. */
function mathSpans(text: string): [number, number][] {
  return [...text.matchAll(/\$\$[\s\S]+?\$\$|\\\[[\s\S]+?\\\]|\\\([\s\S]+?\\\)|(?<!\\)\$[^$]+?(?<!\\)\$/g)].map((m) => [
    m.index,
    m.index + m[0].length,
  ])
}
const inside = (spans: [number, number][], at: number): boolean => spans.some(([from, to]) => at > from && at < to)

/** Figure code ([asy]...[/asy]) a rewriter copies rather than rewrites, and LaTeX sizes (\hspace{.6mm}). */
const notProse = (text: string): [number, number][] =>
  [...text.matchAll(/\[asy\][\s\S]*?(?:\[\/asy\]|$)|\\[hv]space\{[^}]*\}/g)].map((m) => [m.index, m.index + m[0].length])

/** The text with `length` characters at `at` replaced `by` another text. */
const replaceAt = (text: string, at: number, length: number, by: string): string =>
  `${text.slice(0, at)}${by}${text.slice(at + length)}`

/** One number the text writes in digits (not a subscript index) becomes a different one. */
function changeNumber(text: string, random: Random): string | null {
  const skip = notProse(text)
  const spots = [...text.matchAll(/\d+(?:\.\d+)?/g)].filter(
    (m) => !/_\{?$/.test(text.slice(0, m.index)) && !inside(skip, m.index),
  )
  if (spots.length === 0) return null
  const spot = pick(random, spots)
  const value = Number(spot[0])
  const decimals = spot[0].split('.')[1]?.length ?? 0
  const changes = [
    value + 1 + Math.floor(random.next() * 9),
    Math.max(0, value - 1 - Math.floor(random.next() * 3)),
    value * 2,
    value + 10,
  ]
  const next = pick(
    random,
    changes.filter((v) => v !== value && v !== 0 && Number.isFinite(v)),
  )
  return replaceAt(text, spot.index, spot[0].length, next.toFixed(decimals))
}

/** A clause (between commas, semicolons or sentence ends, outside math) that states a number is left out. */
function dropClause(text: string, random: Random): string | null {
  const spans = mathSpans(text)
  const cuts = [0]
  for (const m of text.matchAll(/[,;.](?=\s)|\?(?=\s)/g)) if (!inside(spans, m.index)) cuts.push(m.index + 1)
  cuts.push(text.length)
  const clauses = cuts.slice(0, -1).map((from, i) => [from, cuts[i + 1]!] as const)
  // A clause stating a number in digits: a given of the problem. The question itself (the last clause) is kept: a
  // rewriter shortening a problem drops a given, not the ask.
  const skip = notProse(text)
  const candidates = clauses
    .slice(0, -1)
    .filter(([from, to]) => /\d/.test(text.slice(from, to)) && !skip.some(([a, b]) => from < b && to > a))
  if (candidates.length === 0) return null
  const [from, to] = pick(random, candidates)
  const rest = `${text.slice(0, from)}${text.slice(to)}`.replace(/\s{2,}/g, ' ').replace(/^[\s,;.]+/, '')
  return rest.trim() === text.trim() ? null : rest
}

/** The answer written into the question, as a rewriter who solved it first might. */
function insertAnswer(text: string, answer: string, random: Random): string | null {
  if (answer.trim() === '') return null
  const shown = /[\\^_{}]/.test(answer) ? `$${answer}$` : answer
  const sentences = [` (The answer is ${shown}.)`, ` Note that the result is ${shown}.`, ` Hint: it works out to ${shown}.`]
  const where = pick(random, ['end', 'before-question'] as const)
  const sentence = pick(random, sentences)
  const lastStop = Math.max(text.lastIndexOf('. '), text.lastIndexOf('.\n'))
  if (where === 'before-question' && lastStop > 0) return `${text.slice(0, lastStop + 1)}${sentence}${text.slice(lastStop + 1)}`
  return `${text.trimEnd()}${sentence}`
}

/** Words and their opposites, both sets of breakages swap. */
const OPPOSITE_WORDS: readonly (readonly [string, string])[] = [
  ['maximum', 'minimum'],
  ['positive', 'negative'],
  ['even', 'odd'],
]

/** Each word of the pairs into its opposite, as [pattern, replacement], in the pairs' order. */
const eitherWay = (pairs: readonly (readonly [string, string])[]): [RegExp, string][] =>
  pairs.flatMap(([a, b]): [RegExp, string][] => [
    [new RegExp(`\\b${a}\\b`), b],
    [new RegExp(`\\b${b}\\b`), a],
  ])

/** Turnarounds a careless rewrite makes: [pattern, replacement]. */
const TURNAROUNDS: readonly [RegExp, string][] = [
  [/\bat least\b/, 'at most'],
  [/\bat most\b/, 'at least'],
  [/\bmore than\b/, 'less than'],
  [/\b(?:less|fewer) than\b/, 'more than'],
  [/\bgreater\b/, 'smaller'],
  [/\bsmaller\b/, 'larger'],
  ...eitherWay([['largest', 'smallest']]),
  [/\bgreatest\b/, 'least'],
  [/\bthe least\b/, 'the greatest'],
  ...eitherWay(OPPOSITE_WORDS),
  [/\bincreases\b/, 'decreases'],
  [/\bdecreases\b/, 'increases'],
  // Not in the ask ("What is ..."): a condition is what gets turned around.
  [/(?<!\b(?:what|which|how|where|who|What|Which|How|Where|Who) )\bis\b/, 'is not'],
  [/(?<!\b(?:what|which|how|where|who|What|Which|How|Where|Who) )\bare\b/, 'are not'],
  [/\bcan\b/, 'cannot'],
  [/\bhas\b/, 'does not have'],
  [/\bhave\b/, 'do not have'],
  [/\bwill\b/, 'will not'],
]
const MATH_TURNAROUNDS: readonly [RegExp, string][] = [
  [/\\le(q?)\b/, '\\ge$1'],
  [/\\ge(q?)\b/, '\\le$1'],
  [/(?<![\\-])<(?!=)/, '>'],
  [/(?<![\\-])>(?!=)/, '<'],
]

/** A condition turned around: one word or relation of the prose or the math flipped, or negated. */
function negate(text: string, random: Random): string | null {
  const spans = mathSpans(text)
  const options: { at: number; length: number; replacement: string }[] = []
  for (const [pattern, replacement] of TURNAROUNDS)
    for (const m of text.matchAll(new RegExp(pattern.source, 'g')))
      if (!inside(spans, m.index)) options.push({ at: m.index, length: m[0].length, replacement })
  for (const [pattern, replacement] of MATH_TURNAROUNDS)
    for (const m of text.matchAll(new RegExp(pattern.source, 'g')))
      if (inside(spans, m.index))
        options.push({ at: m.index, length: m[0].length, replacement: m[0].replace(pattern, replacement) })
  if (options.length === 0) return null
  const { at, length, replacement } = pick(random, options)
  return replaceAt(text, at, length, replacement)
}

/** The paraphrase broken one way (null where the paraphrase offers nothing to break that way). */
export function mutate(pair: ReleasedPair, mutation: Mutation, seed: number): string | null {
  const random = new Random(seed * 7919 + pair.index)
  switch (mutation) {
    case 'number':
      return changeNumber(pair.paraphrase, random)
    case 'clause':
      return dropClause(pair.paraphrase, random)
    case 'answer':
      return insertAnswer(pair.paraphrase, pair.answer, random)
    case 'negation':
      return negate(pair.paraphrase, random)
  }
}

// A second set of breakages, written apart from the first and in other ways, to tell whether the checks learned the
// first generator rather than the breakages themselves:
//
// - by_one: one number moved by one, up or down (an off-by-one).
// - random_number: one number replaced by another from 2 to 99.
// - sentence: a whole sentence stating a number left out (not the last one, which asks).
// - answer_appended: "The answer is X." at the end.
// - not_inserted: "not" put after an "is", "are", "can", "does", "will" or "must" that does not ask.
// - direction: one direction word swapped for its opposite ("largest" / "smallest", "more" / "fewer", "increases" /
//   "decreases", "positive" / "negative", "even" / "odd", "maximum" / "minimum"...).
export const OTHER_MUTATIONS = ['by_one', 'random_number', 'sentence', 'answer_appended', 'not_inserted', 'direction'] as const
export type OtherMutation = (typeof OTHER_MUTATIONS)[number]

/** The numbers a text writes in digits, as [index, text], subscripts and figure code aside. */
function digitSpots(text: string): RegExpExecArray[] {
  const skip = notProse(text)
  return [...text.matchAll(/\d+/g)].filter(
    (m) => !/[_^]\{?$/.test(text.slice(0, m.index)) && !/[\d.]$/.test(text.slice(0, m.index)) && !inside(skip, m.index),
  )
}

function otherNumber(text: string, random: Random, byOne: boolean): string | null {
  const spots = digitSpots(text)
  if (spots.length === 0) return null
  const spot = pick(random, spots)
  const value = Number(spot[0])
  let next = byOne ? value + (random.next() < 0.5 || value === 0 ? 1 : -1) : value
  while (next === value) next = 2 + Math.floor(random.next() * 98)
  return replaceAt(text, spot.index, spot[0].length, String(next))
}

function dropSentence(text: string, random: Random): string | null {
  if (notProse(text).length > 0) return null
  const spans = mathSpans(text)
  const ends = [...text.matchAll(/[.?!](?=\s)/g)].filter((m) => !inside(spans, m.index)).map((m) => m.index + 1)
  const starts = [0, ...ends]
  const sentences = starts.map((from, i) => [from, ends[i] ?? text.length] as const).slice(0, -1)
  const candidates = sentences.filter(([from, to]) => /\d/.test(text.slice(from, to)))
  if (candidates.length === 0) return null
  const [from, to] = pick(random, candidates)
  return `${text.slice(0, from)}${text.slice(to)}`.trim()
}

const ASKING = /\b(?:what|which|how|where|who|when|why)\s+$/i

function insertNot(text: string, random: Random): string | null {
  const spans = mathSpans(text)
  const spots = [...text.matchAll(/\b(?:is|are|can|does|will|must)\b(?! not)/g)].filter(
    (m) => !inside(spans, m.index) && !ASKING.test(text.slice(0, m.index)),
  )
  if (spots.length === 0) return null
  const spot = pick(random, spots)
  return replaceAt(text, spot.index + spot[0].length, 0, ' not')
}

const DIRECTIONS: readonly [RegExp, string][] = [
  ...eitherWay([['largest', 'smallest']]),
  [/\bgreatest\b/, 'least'],
  [/(?<!\bat )\bleast\b/, 'greatest'],
  ...eitherWay(OPPOSITE_WORDS),
  [/\bmore\b/, 'fewer'],
  [/\b(?:less|fewer)\b/, 'more'],
  [/\bincreas/, 'decreas'],
  [/\bdecreas/, 'increas'],
]

function swapDirection(text: string, random: Random): string | null {
  const spans = mathSpans(text)
  const spots = DIRECTIONS.flatMap(([pattern, by]) =>
    [...text.matchAll(new RegExp(pattern.source, 'g'))]
      .filter((m) => !inside(spans, m.index))
      .map((m) => ({ at: m.index, length: m[0].length, by })),
  )
  if (spots.length === 0) return null
  const { at, length, by } = pick(random, spots)
  return replaceAt(text, at, length, by)
}

/** The paraphrase broken one of the second set's ways (null where it offers nothing to break that way). */
export function mutateOtherwise(pair: ReleasedPair, mutation: OtherMutation, seed: number): string | null {
  const random = new Random(seed * 104729 + pair.index * 31 + OTHER_MUTATIONS.indexOf(mutation))
  switch (mutation) {
    case 'by_one':
      return otherNumber(pair.paraphrase, random, true)
    case 'random_number':
      return otherNumber(pair.paraphrase, random, false)
    case 'sentence':
      return dropSentence(pair.paraphrase, random)
    case 'answer_appended':
      return pair.answer.trim() === '' ? null : `${pair.paraphrase.trimEnd()} The answer is ${pair.answer.trim()}.`
    case 'not_inserted':
      return insertNot(pair.paraphrase, random)
    case 'direction':
      return swapDirection(pair.paraphrase, random)
  }
}
