// Final-answer extraction from a response. `boxed` is the Co-rewarding reference's extractor, mirrored branch for
// branch (its quirks decide pseudo labels, so they are kept); `gsm8k` and `last-number` are the workbench's extras.

export const EXTRACTORS = ['boxed', 'gsm8k', 'last-number'] as const
export type Extractor = (typeof EXTRACTORS)[number]

/** The reference's `last_boxed_only_string`: the last `\boxed ...$`, else the last brace-matched `\boxed`/`\fbox`. */
export function lastBoxedOnlyString(text: string): string | null {
  let start = text.lastIndexOf('\\boxed')
  if (text.includes('\\boxed ')) return '\\boxed ' + (text.split('\\boxed ').at(-1) ?? '').split('$')[0]
  if (start < 0) {
    start = text.lastIndexOf('\\fbox')
    if (start < 0) return null
  }
  let open = 0
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') open += 1
    if (text[i] === '}') {
      open -= 1
      if (open === 0) return text.slice(start, i + 1)
    }
  }
  return null
}

/** The reference's `remove_boxed`; null where the reference fails an assertion, which its callers read as "no answer". */
export function removeBoxed(box: string): string | null {
  if (box.includes('\\boxed ')) return box.startsWith('\\boxed ') ? box.slice('\\boxed '.length) : null
  if (!box.startsWith('\\boxed{') || !box.endsWith('}')) return null
  return box.slice('\\boxed{'.length, -1)
}

// A number as people write it: optional minus (not when it joins two numbers, as in 5-3), comma thousands
// separators only in groups of three (so a list "3,4" stays two numbers), an optional decimal part or a bare ".5".
const NUMBER = /(?<![\w.])(?:(?<!\))-)?(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)/g

function numbersIn(text: string): string[] {
  return Array.from(text.matchAll(NUMBER), (match) => match[0].replaceAll(',', ''))
}

/** The final answer of a response, or null when it gives none (callers print null as ""). */
export function extractAnswer(text: string, extractor: Extractor = 'boxed'): string | null {
  switch (extractor) {
    case 'boxed': {
      const box = lastBoxedOnlyString(text)
      return box === null ? null : removeBoxed(box)
    }
    case 'gsm8k': {
      const marker = text.lastIndexOf('####')
      return marker < 0 ? null : (numbersIn(text.slice(marker + 4))[0] ?? null)
    }
    case 'last-number':
      return numbersIn(text).at(-1) ?? null
  }
}
