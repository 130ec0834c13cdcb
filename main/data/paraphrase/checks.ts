// Answer-preservation checks for a question and its paraphrase. The reference checked nothing (co-rewarding.md
// section 11): a paraphrase that changes a number, leaks the answer or merely copies the question makes a bad
// Co-rewarding-I pair. Each check is a warning for the reviewer, not a verdict:
//
// - numbers: every number of the original (1,000 = 1000; 0.50 = 0.5; \frac{3}{4} = 3/4) occurs in the paraphrase.
// - expressions: every math expression of the original ($...$, \(...\), \[...\], $$...$$), whitespace aside,
//   occurs inside a math expression of the paraphrase. Renamed variables fail it, so read it with the numbers check.
// - answer_leak: the GT answer occurs in the paraphrase as a whole token although the original does not contain it.
// - too_similar: the paraphrase is within SIMILARITY_LIMIT normalised edit distance of the original (a copy, not
//   a rewrite): Levenshtein distance over characters after lower-casing and collapsing whitespace, divided by the
//   longer length.
// - length_ratio: the paraphrase is less than LENGTH_RATIO_RANGE[0] or more than [1] times the original's length.
import { distance } from 'fastest-levenshtein'
import type { CHECK_NAMES } from '../../../preload/constants'

export type CheckName = (typeof CHECK_NAMES)[number]

export const SIMILARITY_LIMIT = 0.1
export const LENGTH_RATIO_RANGE: readonly [number, number] = [0.5, 3]

export interface PairChecks {
  /** The names of the checks that failed, in CHECK_NAMES order. */
  failed: CheckName[]
  numbers: { missing: string[] }
  expressions: { missing: string[] }
  answer_leak: { leaked: string | null }
  too_similar: { distance: number }
  length_ratio: { ratio: number }
}

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

const NUMBER = /\\[dt]?frac\{\s*-?[\d.,]+\s*\}\{\s*-?[\d.,]+\s*\}|\d+(?:,\d{3})*(?:\.\d+)?(?:\/\d+(?:\.\d+)?)?|\.\d+/g

/** The distinct numbers in a text, canonical. */
export function numbersIn(text: string): string[] {
  return [...new Set([...text.matchAll(NUMBER)].map((m) => canonicalNumber(m[0].startsWith('.') ? `0${m[0]}` : m[0])))]
}

const EXPRESSION = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$([^$]+?)\$/g
const squash = (text: string): string => text.replace(/\s+/g, '')

/** The distinct math expressions of a text (their inside, whitespace removed). */
export function expressionsIn(text: string): string[] {
  return [...new Set([...text.matchAll(EXPRESSION)].map((m) => squash(m[1] ?? m[2] ?? m[3] ?? m[4] ?? '')).filter(Boolean))]
}

const normalised = (text: string): string => text.toLowerCase().replace(/\s+/g, ' ').trim()

/** Whether `needle` occurs in `text` as a whole token (not inside a longer number or word). */
function containsToken(text: string, needle: string): boolean {
  const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(^|[^\\w.])${escaped}($|[^\\w]|\\.(?!\\d))`).test(text)
}

export function checkPair(original: string, paraphrase: string, answer: string | null): PairChecks {
  const paraphraseNumbers = new Set(numbersIn(paraphrase))
  const missingNumbers = numbersIn(original).filter((n) => !paraphraseNumbers.has(n))
  const paraphraseExpressions = expressionsIn(paraphrase)
  const missingExpressions = expressionsIn(original).filter((e) => !paraphraseExpressions.some((p) => p.includes(e)))
  const gt = answer?.trim() ?? ''
  const leaked = gt !== '' && containsToken(paraphrase, gt) && !containsToken(original, gt) ? gt : null
  const a = normalised(original)
  const b = normalised(paraphrase)
  const editDistance = Math.max(a.length, b.length) === 0 ? 0 : distance(a, b) / Math.max(a.length, b.length)
  const ratio = original.trim().length === 0 ? 0 : paraphrase.trim().length / original.trim().length
  const failed: CheckName[] = []
  if (missingNumbers.length > 0) failed.push('numbers')
  if (missingExpressions.length > 0) failed.push('expressions')
  if (leaked !== null) failed.push('answer_leak')
  if (editDistance < SIMILARITY_LIMIT) failed.push('too_similar')
  if (ratio < LENGTH_RATIO_RANGE[0] || ratio > LENGTH_RATIO_RANGE[1]) failed.push('length_ratio')
  return {
    failed,
    numbers: { missing: missingNumbers },
    expressions: { missing: missingExpressions },
    answer_leak: { leaked },
    too_similar: { distance: Math.round(editDistance * 1000) / 1000 },
    length_ratio: { ratio: Math.round(ratio * 1000) / 1000 },
  }
}
