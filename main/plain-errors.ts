// Schema errors in plain words: what a field must be, for the person who typed it ("must be more than 0"), instead
// of the validation library's own ("Too small: expected number to be >0"). Passed to zod's parse as its error map,
// so a message a schema spells out itself still wins.
import type { z } from 'zod'

const plural = (n: number | bigint, one: string, many = `${one}s`): string => `${n} ${n === 1 || n === 1n ? one : many}`

/** A value as a message quotes it: short, JSON-like. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (Array.isArray(value)) return 'a list'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  return String(value)
}

const TYPES: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  object: 'an object ({...})',
  array: 'a list ([...])',
  bigint: 'a whole number',
  date: 'a date',
}

function sizeWords(origin: string, bound: number | bigint, at: 'least' | 'most', inclusive: boolean): string {
  switch (origin) {
    case 'string':
      return bound === 1 && at === 'least' ? 'must not be empty' : `must be at ${at} ${plural(bound, 'character')} long`
    case 'array':
    case 'set':
      return `must have at ${at} ${plural(bound, 'item')}`
    default:
      if (inclusive) return `must be at ${at} ${bound}`
      return at === 'least' ? `must be more than ${bound}` : `must be less than ${bound}`
  }
}

/** zod's error map: a plain sentence for each kind of issue (undefined: zod's own message). */
export const plainErrors: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required'
      if (issue.expected === 'int' && typeof issue.input === 'number') return `must be a whole number, not ${issue.input}`
      return `must be ${TYPES[issue.expected] ?? issue.expected}, not ${shown(issue.input)}`
    case 'too_small':
      return sizeWords(issue.origin, issue.minimum, 'least', issue.inclusive ?? false)
    case 'too_big':
      return sizeWords(issue.origin, issue.maximum, 'most', issue.inclusive ?? false)
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${shown(issue.values[0])}`
        : `must be one of ${issue.values.map(shown).join(', ')}, not ${shown(issue.input)}`
    case 'unrecognized_keys':
      return `${issue.keys.length === 1 ? 'unknown field' : 'unknown fields'} ${issue.keys.map((k) => `"${k}"`).join(', ')}: check the spelling, or remove ${issue.keys.length === 1 ? 'it' : 'them'}`
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`
    case 'invalid_format':
      return issue.format === 'regex' ? 'is not in the expected form' : `must be a valid ${issue.format}`
    case 'invalid_union':
      return `is none of the accepted forms (${shown(issue.input)})`
    default:
      return undefined
  }
}
