// Ground-truth equivalence: the reference's `strip_string` and `is_equiv`, mirrored branch for branch (method doc
// section 3). Python counts string length and indexes by code point, so those steps work on Array.from(text).

/** Where the reference's normalisation raises: is_equiv then compares the raw strings. */
export class NormalisationError extends Error {}

// The whitespace Python's int() strips (str.isspace() minus the ASCII separators \x1c-\x1f, which it rejects).
const PYTHON_INT_SPACE = /[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u
const PYTHON_INT_FORM = /^[ \t\n\v\f\r]*([+-]?)(\d(?:_?\d)*)[ \t\n\v\f\r]*$/
// CPython refuses to convert longer decimal strings (sys.get_int_max_str_digits()).
const PYTHON_INT_MAX_DIGITS = 4300

/** Unicode decimal digits sit in runs of ten from 0 to 9, so a digit's value is its offset in its run, mod 10. */
function decimalValue(codePoint: number): number {
  let start = codePoint
  while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start -= 1
  return (codePoint - start) % 10
}

/** Python's int(text) in base 10, or a NormalisationError where Python raises ValueError. */
export function pythonInt(text: string): bigint {
  const ascii = Array.from(text, (char) => {
    if (char.charCodeAt(0) < 128) return char
    if (PYTHON_INT_SPACE.test(char)) return ' '
    return /\p{Nd}/u.test(char) ? String(decimalValue(char.codePointAt(0)!)) : '?'
  }).join('')
  const form = PYTHON_INT_FORM.exec(ascii)
  const digits = form?.[2]?.replaceAll('_', '')
  if (!form || !digits) throw new NormalisationError(`invalid literal for int() with base 10: '${text}'`)
  if (digits.length > PYTHON_INT_MAX_DIGITS) throw new NormalisationError(`int() of more than ${PYTHON_INT_MAX_DIGITS} digits`)
  return BigInt(`${form[1] === '-' ? '-' : ''}${digits}`)
}

function removeRightUnits(text: string): string {
  if (!text.includes('\\text{ ')) return text
  const parts = text.split('\\text{ ')
  if (parts.length !== 2) throw new NormalisationError('"\\text{ " occurs more than once')
  return parts[0]!
}

function fixSqrt(text: string): string {
  if (!text.includes('\\sqrt')) return text
  const [head, ...rest] = text.split('\\sqrt')
  let fixed = head!
  for (const part of rest) {
    const [first, ...tail] = Array.from(part)
    if (first === undefined) throw new NormalisationError('"\\sqrt" with nothing after it')
    fixed += first !== '{' ? `\\sqrt{${first}}${tail.join('')}` : `\\sqrt${part}`
  }
  return fixed
}

function fixFracs(text: string): string {
  const [head, ...rest] = text.split('\\frac')
  let fixed = head!
  for (const part of rest) {
    fixed += '\\frac'
    const chars = Array.from(part)
    if (chars.length === 0) throw new NormalisationError('"\\frac" with nothing after it')
    if (chars[0] === '{') {
      fixed += part
      continue
    }
    if (chars.length < 2) return text
    const [a, b] = chars
    const tail = chars.slice(2).join('')
    fixed += b !== '{' ? `{${a}}{${b}}${tail}` : `{${a}}${b}${tail}`
  }
  return fixed
}

function fixSlash(text: string): string {
  const parts = text.split('/')
  if (parts.length !== 2) return text
  const a = pythonInt(parts[0]!)
  const b = pythonInt(parts[1]!)
  return `${a}/${b}` === text ? `\\frac{${a}}{${b}}` : text
}

/** The reference's strip_string; throws NormalisationError exactly where it raises. */
export function normalizeAnswer(answer: string): string {
  let text = answer
    .replaceAll('\n', '')
    .replaceAll('\\!', '')
    .replaceAll('\\\\', '\\')
    .replaceAll('tfrac', 'frac')
    .replaceAll('dfrac', 'frac')
    .replaceAll('\\left', '')
    .replaceAll('\\right', '')
    .replaceAll('^{\\circ}', '')
    .replaceAll('^\\circ', '')
    .replaceAll('\\$', '')
  text = removeRightUnits(text).replaceAll('\\%', '').replaceAll(' .', ' 0.').replaceAll('{.', '{0.')
  if (text.length === 0) return text
  if (text.startsWith('.')) text = `0${text}`
  const sides = text.split('=')
  if (sides.length === 2 && Array.from(sides[0]!).length <= 2) text = sides[1]!
  text = fixFracs(fixSqrt(text).replaceAll(' ', ''))
  if (text === '0.5') text = '\\frac{1}{2}'
  return fixSlash(text)
}

/** The reference's is_equiv: normalised strings equal, or raw strings equal when normalisation throws. */
export function isEquivalent(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b
  try {
    return normalizeAnswer(a) === normalizeAnswer(b)
  } catch {
    return a === b
  }
}

/** The reference's GT reward (compute_score) for an extracted answer: 1 when it is GT-equivalent, else 0. */
export function groundTruthReward(answer: string | null, groundTruth: string): 0 | 1 {
  return answer !== null && isEquivalent(answer, groundTruth) ? 1 : 0
}
