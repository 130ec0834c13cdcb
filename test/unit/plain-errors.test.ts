// Schema errors read as sentences about the field, with the bound or the choices, never the library's wording.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { parseRunConfig } from '../../main/engine/run-config'
import { plainErrors } from '../../main/plain-errors'

const messageOf = (schema: z.ZodType, value: unknown): string => {
  const parsed = schema.safeParse(value, { error: plainErrors })
  if (parsed.success) throw new Error(`${JSON.stringify(value)} passed`)
  return parsed.error.issues[0]!.message
}
const refusal = (fields: Record<string, unknown>): string => {
  try {
    parseRunConfig({ name: 'a', mode: 'ground_truth', ...fields }, 'run.json')
  } catch (error) {
    return (error as Error).message
  }
  throw new Error(`${JSON.stringify(fields)} passed`)
}

describe('plain schema errors', () => {
  it('say the bound a number must keep, open or closed', () => {
    expect(messageOf(z.number().positive(), 0)).toBe('must be more than 0')
    expect(messageOf(z.number().min(2), 1)).toBe('must be at least 2')
    expect(messageOf(z.number().max(1), 2)).toBe('must be at most 1')
    expect(messageOf(z.number().lt(1), 1)).toBe('must be less than 1')
  })

  it('say what type was expected and what came', () => {
    expect(messageOf(z.number(), 'x')).toBe('must be a number, not "x"')
    expect(messageOf(z.number().int(), 1.5)).toBe('must be a whole number, not 1.5')
    expect(messageOf(z.object({ a: z.string() }), { a: 3 })).toBe('must be text, not 3')
    expect(messageOf(z.object({ a: z.string() }), {})).toBe('is required')
    expect(messageOf(z.object({}), [1])).toBe('must be an object ({...}), not a list')
    expect(messageOf(z.boolean(), 'yes')).toBe('must be true or false, not "yes"')
  })

  it('list the choices, name unknown fields, and size text and lists', () => {
    expect(messageOf(z.enum(['a', 'b']), 'c')).toBe('must be one of "a", "b", not "c"')
    expect(messageOf(z.object({}).strict(), { lr: 1, seed: 2 })).toBe(
      'unknown fields "lr", "seed": check the spelling, or remove them',
    )
    expect(messageOf(z.string().min(1), '')).toBe('must not be empty')
    expect(messageOf(z.string().max(3), 'abcd')).toBe('must be at most 3 characters long')
    expect(messageOf(z.array(z.number()).min(2), [1])).toBe('must have at least 2 items')
  })

  it('keep a message a schema spells out itself', () => {
    expect(messageOf(z.number().min(1, 'at least one step'), 0)).toBe('at least one step')
  })

  it('name the field in a refused run config', () => {
    expect(refusal({ learning_rate: 0 })).toBe('run.json: learning_rate: must be more than 0')
    expect(refusal({ rollouts: 1 })).toBe('run.json: rollouts: must be at least 2')
    expect(refusal({ steps: 1.5 })).toBe('run.json: steps: must be a whole number, not 1.5')
    expect(refusal({ batch_size: 'x' })).toBe('run.json: batch_size: must be a number, not "x"')
    expect(refusal({ learning_rat: 1e-5 })).toBe(
      'run.json: (config): unknown field "learning_rat": check the spelling, or remove it',
    )
    expect(refusal({ mode: 'vibes' })).toMatch(
      /^run\.json: mode: must be one of "ground_truth", "majority_voting", .*, not "vibes"$/,
    )
  })
})
