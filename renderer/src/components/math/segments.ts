// Text with LaTeX in it, split into prose and math: `$…$`, `$$…$$`, `\(…\)`, `\[…\]`, and a bare `\boxed{…}` (how
// models end their answers). `\$` is a dollar sign, never a delimiter. An inline `$` followed by a non-space closes
// only after a non-space (pandoc's rule), so "$5 to $6" stays prose; one followed by a space, as LLM rewrites write
// `$ g(n) $`, closes at the next `$` that no digit follows. A `$` inside braces (`\text{costs $5}`) belongs to the
// formula.

export interface ProseSegment {
  kind: 'prose'
  /** What a reader sees: the source with `\$` as `$`. */
  text: string
  /** The source as written. */
  raw: string
}
export interface MathSegment {
  kind: 'math'
  /** The formula without its delimiters. */
  tex: string
  display: boolean
  /** The source as written, delimiters included. */
  raw: string
}
export type Segment = ProseSegment | MathSegment

const BOXED = '\\boxed{'

/**
 * Where math that starts at `from` ends: the index of `close` at brace depth 0, skipping escaped characters (`\$`,
 * `\}`), or -1 where the braces do not balance, a paragraph break comes first, or (inline `$`) another `$` comes at
 * depth 0 that cannot close.
 */
function findClose(text: string, from: number, close: '$' | ' $' | '$$' | '\\)' | '\\]' | '}'): number {
  let depth = close === '}' ? 1 : 0
  for (let i = from; i < text.length; i++) {
    const c = text[i]
    if (c === '\\') {
      if (depth === 0 && text.startsWith(close, i)) return i
      i++
    } else if (c === '{') depth++
    else if (c === '}') {
      depth--
      if (depth === 0 && close === '}') return i
      if (depth < 0) return -1
    } else if (c === '\n' && text[i + 1] === '\n' && close !== '$$' && close !== '\\]') return -1
    else if (c === '$' && depth === 0) {
      if (close === '$$' && text[i + 1] === '$') return i
      // Pandoc's rule: a closing `$` follows a non-space; any other `$` here means this was not math after all.
      if (close === '$') return /\s/.test(text[i - 1] ?? ' ') ? -1 : i
      if (close === ' $') return /\d/.test(text[i + 1] ?? '') ? -1 : i
    }
  }
  return -1
}

/** Splits `text` into prose and math segments; joining their `raw` gives `text` back. */
export function splitMath(text: string): Segment[] {
  const segments: Segment[] = []
  let prose = ''
  let proseRaw = ''
  const flush = (): void => {
    if (proseRaw) segments.push({ kind: 'prose', text: prose, raw: proseRaw })
    prose = proseRaw = ''
  }
  const math = (start: number, open: number, end: number, close: number, display: boolean): number => {
    const tex = text.slice(start + open, end)
    if (!tex.trim()) return -1
    flush()
    segments.push({ kind: 'math', tex, display, raw: text.slice(start, end + close) })
    return end + close
  }
  const tryMath = (i: number): number => {
    if (text.startsWith('$$', i)) {
      const end = findClose(text, i + 2, '$$')
      return end < 0 ? -1 : math(i, 2, end, 2, true)
    }
    if (text[i] === '$') {
      const end = findClose(text, i + 1, /\s/.test(text[i + 1] ?? '') ? ' $' : '$')
      return end < 0 ? -1 : math(i, 1, end, 1, false)
    }
    if (text.startsWith('\\(', i) || text.startsWith('\\[', i)) {
      const display = text[i + 1] === '['
      const end = findClose(text, i + 2, display ? '\\]' : '\\)')
      return end < 0 ? -1 : math(i, 2, end, 2, display)
    }
    if (text.startsWith(BOXED, i)) {
      const end = findClose(text, i + BOXED.length, '}')
      if (end < 0) return -1
      flush()
      const raw = text.slice(i, end + 1)
      segments.push({ kind: 'math', tex: raw, display: false, raw })
      return end + 1
    }
    return -1
  }

  let i = 0
  while (i < text.length) {
    const next = tryMath(i)
    if (next >= 0) {
      i = next
      continue
    }
    // An escaped character stays prose as written; only `\$` reads differently (as the dollar sign it means).
    const pair = text[i] === '\\' && i + 1 < text.length ? text.slice(i, i + 2) : text[i]!
    proseRaw += pair
    prose += pair === '\\$' ? '$' : pair
    i += pair.length
  }
  flush()
  return segments
}
