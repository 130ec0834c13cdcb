// The demo task's arithmetic. Every problem type is a chain: the first number, then one operation per step
// applied to the running result and the next number, e.g. groups-add-take-away is a × b + c - d.

export type Operation = '+' | '-' | '×' | '÷'

/** Every intermediate and final result stays in 1..MAX_RESULT, so each number is one token of the demo vocabulary. */
export const MAX_RESULT = 199

/** A share is small and more than one: nobody splits 9 players into 9 teams. */
export const QUOTIENT_RANGE = [2, 20] as const

export const problemTypeNames = [
  'combine',
  'take-away',
  'compare',
  'equal-groups',
  'share',
  'add-then-take-away',
  'groups-then-add',
  'groups-add-take-away',
  'combine-take-away-share',
] as const

export type ProblemTypeName = (typeof problemTypeNames)[number]

export interface ProblemType {
  name: ProblemTypeName
  /** operations[i] combines the running result with numbers[i + 1]. */
  operations: readonly Operation[]
  /** The inclusive range of each number in the question, in order. */
  ranges: readonly (readonly [number, number])[]
  /** The relative share of this type among generated problems. */
  weight: number
}

export const problemTypes: readonly ProblemType[] = [
  {
    name: 'combine',
    operations: ['+'],
    ranges: [
      [2, 25],
      [2, 25],
    ],
    weight: 8,
  },
  {
    name: 'take-away',
    operations: ['-'],
    ranges: [
      [5, 40],
      [2, 20],
    ],
    weight: 8,
  },
  {
    name: 'compare',
    operations: ['-'],
    ranges: [
      [3, 30],
      [2, 29],
    ],
    weight: 8,
  },
  {
    name: 'equal-groups',
    operations: ['×'],
    ranges: [
      [2, 12],
      [2, 20],
    ],
    weight: 4,
  },
  {
    name: 'share',
    operations: ['÷'],
    ranges: [
      [4, 150],
      [2, 12],
    ],
    weight: 4,
  },
  {
    name: 'add-then-take-away',
    operations: ['+', '-'],
    ranges: [
      [2, 25],
      [2, 25],
      [2, 25],
    ],
    weight: 17,
  },
  {
    name: 'groups-then-add',
    operations: ['×', '+'],
    ranges: [
      [2, 10],
      [2, 20],
      [2, 25],
    ],
    weight: 17,
  },
  {
    name: 'groups-add-take-away',
    operations: ['×', '+', '-'],
    ranges: [
      [2, 10],
      [2, 20],
      [2, 20],
      [2, 20],
    ],
    weight: 17,
  },
  {
    name: 'combine-take-away-share',
    operations: ['+', '-', '÷'],
    ranges: [
      [2, 25],
      [2, 25],
      [2, 20],
      [2, 10],
    ],
    weight: 17,
  },
]

export function problemType(name: string): ProblemType {
  const found = problemTypes.find((type) => type.name === name)
  if (!found) throw new Error(`Unknown demo problem type "${name}"; known types: ${problemTypeNames.join(', ')}.`)
  return found
}

export interface Equation {
  left: number
  operation: Operation
  right: number
  result: number
}

function apply(left: number, operation: Operation, right: number): number {
  if (operation === '+') return left + right
  if (operation === '-') return left - right
  if (operation === '×') return left * right
  return left / right
}

/** The worked steps, or undefined when a result is not a whole number in 1..MAX_RESULT (a quotient: in QUOTIENT_RANGE). */
export function work(type: ProblemType, numbers: readonly number[]): Equation[] | undefined {
  if (numbers.length !== type.operations.length + 1) return undefined
  const equations: Equation[] = []
  let left = numbers[0] as number
  for (const [i, operation] of type.operations.entries()) {
    const right = numbers[i + 1] as number
    const result = apply(left, operation, right)
    const [low, high] = operation === '÷' ? QUOTIENT_RANGE : [1, MAX_RESULT]
    if (!Number.isInteger(result) || result < low || result > high) return undefined
    equations.push({ left, operation, right, result })
    left = result
  }
  return equations
}

/** The response the base model is pre-trained on: one equation per step, then exactly one boxed answer at the end. */
export function solutionText(equations: readonly Equation[]): string {
  const steps = equations.map(({ left, operation, right, result }) => `${left} ${operation} ${right} = ${result}.`)
  return [...steps, answerText(String(equations.at(-1)?.result))].join(' ')
}

/** The sentence every demo solution ends with, and all a direct answer says. */
export function answerText(answer: string): string {
  return `The answer is \\boxed{${answer}}.`
}

/** Identifies a problem: two records with the same key are the same problem, whatever the wording. */
export function problemKey(type: ProblemTypeName, numbers: readonly number[]): string {
  return `${type}:${numbers.join(',')}`
}

const tupleCache = new Map<ProblemTypeName, readonly (readonly number[])[]>()

/** Every valid number tuple of a type, in a fixed order (computed once). */
export function allNumberTuples(type: ProblemType): readonly (readonly number[])[] {
  const cached = tupleCache.get(type.name)
  if (cached) return cached
  let partial: number[][] = [[]]
  for (const [low, high] of type.ranges) {
    const next: number[][] = []
    for (const prefix of partial) for (let n = low; n <= high; n++) next.push([...prefix, n])
    partial = next
  }
  const tuples = partial.filter((numbers) => work(type, numbers) !== undefined)
  tupleCache.set(type.name, tuples)
  return tuples
}
