import { UsageError } from './errors'

/** A commander argument parser for an integer of at least `min`, with a usage error naming the option. */
export function integerOption(option: string, min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value)
    if (!Number.isSafeInteger(parsed) || parsed < min)
      throw new UsageError(`${option} ${value}: expected a whole number of at least ${min}`)
    return parsed
  }
}

/** A commander argument parser for a finite number. */
export function numberOption(option: string, min = -Infinity, max = Infinity): (value: string) => number {
  return (value) => {
    const parsed = Number(value)
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new UsageError(
        `${option} ${value}: expected a number${Number.isFinite(min) ? ` from ${min}` : ''}${Number.isFinite(max) ? ` to ${max}` : ''}`,
      )
    }
    return parsed
  }
}
