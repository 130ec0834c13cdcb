// KaTeX renders of formulas, cached: a list of hundreds of MATH questions repeats the same few hundred formulas, and a
// virtualised list renders its rows again on every scroll.
import katex from 'katex'

/** A formula's HTML, or why KaTeX could not parse it (the view then shows its source as text). */
export type Rendered = { html: string; error?: undefined } | { html?: undefined; error: string }

const MAX_CACHED = 5000
const cache = new Map<string, Rendered>()

// LaTeX that MATH problems use and KaTeX lacks, in words KaTeX has.
const MACROS = { '\\mbox': '\\text{#1}' }

function toHtml(tex: string, display: boolean): string {
  // throwOnError: an unparseable formula must fall back to its source, not to KaTeX's red error text.
  const render = (displayMode: boolean): string =>
    katex.renderToString(tex, { displayMode, throwOnError: true, strict: 'ignore', macros: { ...MACROS } })
  try {
    return render(display)
  } catch (err) {
    // `$\begin{align*}…\end{align*}$`: written inline, typeset only as display math.
    if (!display && err instanceof Error && /only in display mode/.test(err.message)) return render(true)
    throw err
  }
}

export function renderTex(tex: string, display: boolean): Rendered {
  const key = `${display ? 'D' : 'I'}${tex}`
  let rendered = cache.get(key)
  if (rendered) {
    // Most recently used last, so the oldest is the one that goes.
    cache.delete(key)
    cache.set(key, rendered)
    return rendered
  }
  try {
    rendered = { html: toHtml(tex, display) }
  } catch (err) {
    // KaTeX underlines the offending character with U+0332, which a tooltip draws as noise.
    const message = err instanceof Error ? err.message : String(err)
    rendered = { error: message.replace(/^KaTeX parse error: /, '').replace(/\u0332/g, '') }
  }
  cache.set(key, rendered)
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!)
  return rendered
}
