// The demo model's word/number-level tokenizer, stored as a standard Hugging Face tokenizer.json
// (model WordLevel; pre-tokenizer Metaspace then Split; decoder Metaspace), so other tools can load it too.
// Every space becomes "▁" glued to the next piece; numbers, `\boxed{` and each punctuation mark are pieces
// of their own, so text round-trips exactly and a number is one token.

export const SPACE = '\u2581'

/** The Split pre-tokenizer's pattern (behaviour "Isolated"): what becomes a piece of its own. */
export const PIECE_PATTERN = `${SPACE}?(?:\\\\boxed\\{|\\d+|[^\\w\\s${SPACE}])`

const pieceRegex = new RegExp(PIECE_PATTERN, 'gu')

/** Splits text into the tokenizer's pieces (before vocabulary lookup). */
export function pretokenize(text: string): string[] {
  const pieces: string[] = []
  for (const word of text.split(' ')) {
    const marked = `${SPACE}${word}`
    let last = 0
    for (const match of marked.matchAll(pieceRegex)) {
      if (match.index > last) pieces.push(marked.slice(last, match.index))
      pieces.push(match[0])
      last = match.index + match[0].length
    }
    if (last < marked.length) pieces.push(marked.slice(last))
  }
  return pieces
}

/** Joins pieces back into text: the inverse of `pretokenize`. */
export function detokenize(pieces: string[]): string {
  return pieces.join('').replaceAll(SPACE, ' ').replace(/^ /, '')
}
