// Checks on values before they are written (SQLite would refuse them less clearly, or not at all), and reading
// the JSON columns of the run tables back.
export const parseObject = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>
export const parseTags = (text: string): string[] => JSON.parse(text) as string[]

export function checkChoice<T extends string>(value: unknown, choices: readonly T[], what: string): asserts value is T {
  if (!choices.includes(value as T)) {
    throw new Error(`${what} ${JSON.stringify(value)} is not one of ${choices.join(', ')}; use one of them.`)
  }
}

export function checkInteger(value: unknown, what: string, min = 0): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new Error(`${what} must be a whole number of at least ${min}, got ${JSON.stringify(value)}.`)
  }
}

export function checkObject(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} must be a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}.`)
  }
}

export function checkTags(value: unknown, what: string): asserts value is string[] {
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string' && tag.trim() !== '')) {
    throw new Error(`${what} must be a list of non-empty words, got ${JSON.stringify(value)}.`)
  }
}
