// The original question beside its paraphrase, marked where they differ. Three ways: `words` diffs the source word by
// word (a formula is shown as source and cut into pieces); `math` treats each formula as one token,
// compared without its spacing, so a changed formula is one removal and one insertion and a formula written the same
// way is unmarked; `off` marks nothing.
import { diffArrays } from 'diff'
import { splitMath } from './segments'
import type { Segment } from './segments'

export const DIFF_MODES = ['math', 'words', 'off'] as const
export type DiffMode = (typeof DIFF_MODES)[number]
export const DIFF_MODE_LABELS: Record<DiffMode, { words: string; title: string }> = {
  math: { words: 'math-aware', title: 'Each formula is one token: a changed formula is marked whole' },
  words: { words: 'words', title: 'Word by word over the source text (formulas shown as source)' },
  off: { words: 'off', title: 'No marks' },
}

/** A segment of one side, `marked` where the other side lacks it (removed on the left, added on the right). */
export type MarkedSegment = Segment & { marked?: boolean }
export interface PairSides {
  left: MarkedSegment[]
  right: MarkedSegment[]
}

interface Token {
  segment: Segment
  /** What two tokens are compared by. */
  key: string
}

// Prose in words, runs of space, and single other characters (punctuation), as jsdiff's word diff cuts it; `\$` is one.
const PROSE_TOKEN = /\\\$|\s+|[\p{L}\p{N}_'’]+|[^]/gu

const proseTokens = (raw: string): Token[] =>
  [...raw.matchAll(PROSE_TOKEN)].map(([token]) => ({
    segment: { kind: 'prose', raw: token, text: token === '\\$' ? '$' : token },
    key: /^\s+$/.test(token) ? ' ' : token,
  }))

/** The text's tokens: with `formulas`, each formula is one, compared without its spacing; else all of it is words. */
function tokens(text: string, formulas: boolean): Token[] {
  if (!formulas) return proseTokens(text).map(({ segment, key }) => ({ segment: { ...segment, text: segment.raw }, key }))
  return splitMath(text).flatMap((segment) =>
    segment.kind === 'math' ? [{ segment, key: `math:${segment.tex.replace(/\s+/g, '')}` }] : proseTokens(segment.raw),
  )
}

const isSpace = (segment: Segment): boolean => segment.kind === 'prose' && !segment.raw.trim()

/**
 * Joins neighbouring prose with the same mark, so a sentence is one span, not one per word; a space between two marked
 * words is marked with them (one strike-through for "What is", not two).
 */
function joined(parts: MarkedSegment[]): MarkedSegment[] {
  const out: MarkedSegment[] = []
  for (const [i, segment] of parts.entries()) {
    const part = isSpace(segment) && parts[i - 1]?.marked && parts[i + 1]?.marked ? { ...segment, marked: true } : segment
    const last = out[out.length - 1]
    if (last?.kind === 'prose' && part.kind === 'prose' && !!last.marked === !!part.marked) {
      out[out.length - 1] = { ...last, text: last.text + part.text, raw: last.raw + part.raw }
    } else out.push(part)
  }
  return out
}

export function pairDiff(original: string, paraphrase: string, mode: DiffMode): PairSides {
  if (mode === 'off') return { left: splitMath(original), right: splitMath(paraphrase) }
  const left = tokens(original, mode === 'math')
  const right = tokens(paraphrase, mode === 'math')
  const sides: PairSides = { left: [], right: [] }
  const take = (from: Token[], at: number, count: number, to: MarkedSegment[], marked: boolean): void => {
    for (const { segment } of from.slice(at, at + count)) to.push({ ...segment, marked: marked && !isSpace(segment) })
  }
  // An unchanged part is read from each side's own tokens: a formula compared without spacing keeps its own spacing.
  let l = 0
  let r = 0
  for (const part of diffArrays(left, right, { comparator: (a, b) => a.key === b.key })) {
    if (!part.added) take(left, l, part.count, sides.left, !!part.removed)
    if (!part.removed) take(right, r, part.count, sides.right, !!part.added)
    if (!part.added) l += part.count
    if (!part.removed) r += part.count
  }
  return { left: joined(sides.left), right: joined(sides.right) }
}
