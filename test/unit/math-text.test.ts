// How the renderer reads LaTeX in questions, paraphrases and responses: which parts are formulas (MATH's `$\$$60`
// dollars, nested braces, a bare \boxed{}), a formula KaTeX cannot parse falling back to its source, and the review
// pane's diff with a formula as one token.
import { describe, expect, it } from 'vitest'
import { pairDiff } from '../../renderer/src/components/math/diff'
import type { MarkedSegment } from '../../renderer/src/components/math/diff'
import { renderTex } from '../../renderer/src/components/math/render'
import { splitMath } from '../../renderer/src/components/math/segments'
import type { Segment } from '../../renderer/src/components/math/segments'

/** A split as `text` for prose and `[tex]` (or `[[tex]]` for display math) for formulas. */
const shape = (segments: readonly Segment[]): string[] =>
  segments.map((s) => (s.kind === 'prose' ? s.text : s.display ? `[[${s.tex}]]` : `[${s.tex}]`))
const split = (text: string): string[] => shape(splitMath(text))

describe('splitting text into prose and formulas', () => {
  it('finds the four delimiters and gives the source back when joined', () => {
    const text = 'Find $\\left\\lceil\\frac{7}{4}\\right\\rceil$, then $$x^2$$ and \\(y\\) or \\[z+1\\].'
    expect(split(text)).toEqual([
      'Find ',
      '[\\left\\lceil\\frac{7}{4}\\right\\rceil]',
      ', then ',
      '[[x^2]]',
      ' and ',
      '[y]',
      ' or ',
      '[[z+1]]',
      '.',
    ])
    expect(
      splitMath(text)
        .map((s) => s.raw)
        .join(''),
    ).toBe(text)
  })

  it('reads an escaped dollar as currency, inside or outside a formula', () => {
    expect(split('A ticket costs $\\$$60 and a pass \\$25.')).toEqual(['A ticket costs ', '[\\$]', '60 and a pass $25.'])
    expect(split('$\\$12.50 + \\$3$')).toEqual(['[\\$12.50 + \\$3]'])
  })

  it('leaves bare dollar amounts as prose', () => {
    expect(split('It costs $5 to $6 each.')).toEqual(['It costs $5 to $6 each.'])
    expect(split('I have $5 and $x$ is unknown')).toEqual(['I have $5 and ', '[x]', ' is unknown'])
    expect(split('Pay $ 5 now')).toEqual(['Pay $ 5 now'])
    expect(split('a $ 5 bill and a $6 coin')).toEqual(['a $ 5 bill and a $6 coin'])
    expect(split('an empty $$$$ pair')).toEqual(['an empty $$$$ pair'])
  })

  it('reads `$ x $` with spaces inside, as LLM rewrites write it, as a formula', () => {
    expect(split('if $ n $ is odd, apply $ g(n) $ twice')).toEqual(['if ', '[ n ]', ' is odd, apply ', '[ g(n) ]', ' twice'])
  })

  it('keeps nested braces, and a $ inside them, within one formula', () => {
    expect(split('So $\\frac{1}{\\sqrt{2+\\frac{a}{b}}}$ holds')).toEqual([
      'So ',
      '[\\frac{1}{\\sqrt{2+\\frac{a}{b}}}]',
      ' holds',
    ])
    expect(split('$\\text{costs $5 each}$ ok')).toEqual(['[\\text{costs $5 each}]', ' ok'])
  })

  it('takes a bare \\boxed{} answer as a formula, up to its matching brace', () => {
    expect(split('The answer is \\boxed{\\frac{1}{2}}.')).toEqual(['The answer is ', '[\\boxed{\\frac{1}{2}}]', '.'])
    expect(split('so \\boxed{12')).toEqual(['so \\boxed{12'])
  })

  it('leaves an unclosed delimiter as prose', () => {
    expect(split('$x + 1 is open')).toEqual(['$x + 1 is open'])
    expect(split('\\(a and \\[b')).toEqual(['\\(a and \\[b'])
    expect(split('$a\n\nb$')).toEqual(['$a\n\nb$'])
  })
})

describe('rendering a formula', () => {
  it('renders what KaTeX parses', () => {
    const rendered = renderTex('\\left\\lceil\\frac{7}{4}\\right\\rceil', false)
    expect(rendered.error).toBeUndefined()
    expect(rendered.html).toContain('class="katex"')
  })

  it('gives the reason, not red error HTML, for what it cannot parse', () => {
    const rendered = renderTex('\\frac{1}{2', false)
    expect(rendered.html).toBeUndefined()
    expect(rendered.error).toMatch(/^Unexpected end of input/)
    expect(renderTex('\\notacommand{x}', true).error).toMatch(/^Undefined control sequence: \\notacommand/)
  })

  it('renders what MATH writes and KaTeX lacks: \\mbox, and an aligned block written inline', () => {
    expect(renderTex('\\mbox{In}\\mbox{put}', false).error).toBeUndefined()
    expect(renderTex('\\begin{align*} 3x - 5y &= -11,\\\\ 7x + 2y &= -12. \\end{align*}', false).error).toBeUndefined()
  })

  it('renders a formula once and reuses it', () => {
    expect(renderTex('x^{2}+1', false)).toBe(renderTex('x^{2}+1', false))
  })
})

/** A diff side as `text` for unmarked parts and `<text>` for marked ones, formulas as their source. */
const marks = (side: readonly MarkedSegment[]): string => side.map((s) => (s.marked ? `<${s.raw}>` : s.raw)).join('')

describe('the review pane diff', () => {
  const original = 'Compute $\\left\\lceil\\frac{7}{4}\\right\\rceil$ for the $\\$$60 ticket.'
  const paraphrase = 'Evaluate $\\left\\lceil \\frac{7}{4} \\right\\rceil$ for the $\\$$60 ticket.'

  it('math-aware: a formula re-typeset with other spacing is unchanged, and keeps its own source on each side', () => {
    const { left, right } = pairDiff(original, paraphrase, 'math')
    expect(marks(left)).toBe('<Compute> $\\left\\lceil\\frac{7}{4}\\right\\rceil$ for the $\\$$60 ticket.')
    expect(marks(right)).toBe('<Evaluate> $\\left\\lceil \\frac{7}{4} \\right\\rceil$ for the $\\$$60 ticket.')
  })

  it('math-aware: a changed formula is one removal and one insertion', () => {
    const { left, right } = pairDiff('Solve $x^2+4x=12$ now.', 'Solve $y^2+4y=12$ now.', 'math')
    expect(marks(left)).toBe('Solve <$x^2+4x=12$> now.')
    expect(marks(right)).toBe('Solve <$y^2+4y=12$> now.')
    expect(left.filter((s) => s.kind === 'math')).toHaveLength(1)
  })

  it('words: diffs the source word by word, formulas as text, each side as written', () => {
    const { left, right } = pairDiff(original, paraphrase, 'words')
    expect(left.every((s) => s.kind === 'prose')).toBe(true)
    expect(marks(left)).toBe('<Compute> $\\left\\lceil\\frac{7}{4}\\right\\rceil$ for the $\\$$60 ticket.')
    expect(marks(right)).toBe('<Evaluate> $\\left\\lceil \\frac{7}{4} \\right\\rceil$ for the $\\$$60 ticket.')
    expect(marks(pairDiff('Solve $x^2+4x=12$ now.', 'Solve $y^2+4y=12$ now.', 'words').left)).toBe('Solve $<x>^2+<4x>=12$ now.')
  })

  it('off: nothing marked, formulas still split out', () => {
    const { left, right } = pairDiff(original, paraphrase, 'off')
    expect([...left, ...right].some((s) => s.marked)).toBe(false)
    expect(shape(left)).toContain('[\\$]')
  })
})
