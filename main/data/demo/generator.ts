// The demo task: seeded grade-school word problems with a worked solution and paraphrases in other scenario
// families. Problems are drawn without repetition from one stream and only then dealt into splits, so the
// held-out splits follow the training distribution and share no problem with it.
import { allNumberTuples, answerText, problemKey, problemTypes, solutionText, work } from './problem-types'
import type { ProblemType, ProblemTypeName } from './problem-types'
import { Random } from '../../random'
import { people, scenarioFamilies, tell } from './scenarios'
import type { Person, ScenarioFamily } from './scenarios'

export type DemoSplit = 'train' | 'validation' | 'test'

export interface DemoTaskOptions {
  seed: number
  train: number
  validation: number
  test: number
}

/** What the workbench ships: the demo dataset and the base model's pre-training both start from these. */
export const DEMO_TASK_DEFAULTS: DemoTaskOptions = { seed: 1, train: 2000, validation: 200, test: 300 }

export interface DemoParaphrase {
  family: string
  text: string
}

export interface DemoRecord {
  id: string
  split: DemoSplit
  type: ProblemTypeName
  steps: 1 | 2 | 3
  /** The problem's numbers in chain order (see problem-types). */
  numbers: number[]
  /** The scenario family the question is told in. */
  family: string
  question: string
  /** The ground-truth answer, e.g. "14". */
  answer: string
  /** The worked response the base model is pre-trained on, ending in one \boxed{answer}. */
  solution: string
  paraphrases: DemoParaphrase[]
}

export interface DemoTask {
  options: DemoTaskOptions
  records: DemoRecord[]
}

/**
 * How a pre-training solution is written: `worked` gives one equation per step before the boxed answer, `direct`
 * only the boxed answer (what a base model does when it answers without working, and is more often wrong doing).
 */
export type SolutionStyle = 'worked' | 'direct'

export interface PretrainingExample {
  type: ProblemTypeName
  style: SolutionStyle
  question: string
  /** The solution in the example's style. */
  solution: string
  /** The worked solution, whatever the style (pre-training may use it before direct answers enter the mix). */
  worked: string
}

interface Problem {
  type: ProblemType
  numbers: readonly number[]
}

function checkCount(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`Demo task ${field} must be a whole number of 0 or more, got ${value}.`)
  }
}

function solve(problem: Problem): { answer: string; solution: string } {
  const equations = work(problem.type, problem.numbers)
  if (!equations) throw new Error(`Demo problem ${problemKey(problem.type.name, problem.numbers)} has no valid solution.`)
  return { answer: String(equations.at(-1)?.result), solution: solutionText(equations) }
}

/** Tells a problem in one family with its own people and items. */
function tellIn(random: Random, family: ScenarioFamily, numbers: readonly number[], cast: readonly Person[]): string {
  const [person, other] = cast
  if (!person || !other) throw new Error('Each demo scenario needs two people.')
  return tell(family, numbers, person, other, family.items && random.pick(family.items))
}

/** Draws `count` distinct problems: a type by weight, then one of its unused number tuples. */
function drawProblems(random: Random, count: number): Problem[] {
  const pools = problemTypes.map((type) => ({ type, tuples: allNumberTuples(type).slice() }))
  const capacity = pools.reduce((sum, pool) => sum + pool.tuples.length, 0)
  if (count > capacity) {
    throw new Error(
      `The demo task has ${capacity} distinct problems, but ${count} were asked for (train + validation + test). Ask for fewer.`,
    )
  }
  const problems: Problem[] = []
  while (problems.length < count) {
    const pool = pools[random.weighted(pools.map((p) => (p.tuples.length > 0 ? p.type.weight : 0)))]
    if (!pool) throw new Error('The demo problem pools ran dry.')
    const index = random.int(pool.tuples.length)
    const numbers = pool.tuples[index] as readonly number[]
    pool.tuples[index] = pool.tuples.at(-1) as readonly number[]
    pool.tuples.pop()
    problems.push({ type: pool.type, numbers })
  }
  return problems
}

function record(random: Random, problem: Problem, split: DemoSplit, id: string): DemoRecord {
  const [original, ...others] = random.shuffled(scenarioFamilies[problem.type.name])
  if (!original) throw new Error(`Demo problem type ${problem.type.name} has no scenario families.`)
  const cast = random.shuffled(people)
  const castFor = (index: number): Person[] => cast.slice(2 * index, 2 * index + 2)
  return {
    id,
    split,
    type: problem.type.name,
    steps: problem.type.operations.length as 1 | 2 | 3,
    numbers: [...problem.numbers],
    family: original.family,
    question: tellIn(random, original, problem.numbers, castFor(0)),
    ...solve(problem),
    paraphrases: others.map((family, i) => ({
      family: family.family,
      text: tellIn(random, family, problem.numbers, castFor(i + 1)),
    })),
  }
}

/** The demo task; the same options give the same records, byte for byte. */
export function generateDemoTask(options: DemoTaskOptions): DemoTask {
  checkCount(options.seed, 'seed')
  const sizes: [DemoSplit, number][] = [
    ['train', options.train],
    ['validation', options.validation],
    ['test', options.test],
  ]
  for (const [split, size] of sizes) checkCount(size, `${split} size`)
  const random = new Random(options.seed)
  const problems = random.shuffled(drawProblems(random, options.train + options.validation + options.test))
  const records: DemoRecord[] = []
  for (const [split, size] of sizes) {
    const width = String(size).length
    for (let i = 0; i < size; i++) {
      const problem = problems[records.length] as Problem
      records.push(record(random, problem, split, `${split}-${String(i + 1).padStart(width, '0')}`))
    }
  }
  return { options: { ...options }, records }
}

/**
 * More training-distribution examples for pre-training, told in any family. They may repeat training problems
 * but never use a problem of the task's validation or test split. A `directShare` of them (0 to 1) answer
 * directly, the rest work the steps out.
 */
export function generatePretrainingExamples(task: DemoTask, count: number, seed: number, directShare = 0): PretrainingExample[] {
  checkCount(count, 'pre-training example count')
  checkCount(seed, 'pre-training seed')
  if (!(directShare >= 0 && directShare <= 1)) {
    throw new Error(`The share of direct answers must be between 0 and 1, got ${directShare}.`)
  }
  const heldOut = new Set(task.records.filter((r) => r.split !== 'train').map((r) => problemKey(r.type, r.numbers)))
  const pools = problemTypes.map((type) => ({
    type,
    tuples: allNumberTuples(type).filter((numbers) => !heldOut.has(problemKey(type.name, numbers))),
  }))
  const random = new Random(seed)
  const weights = pools.map((pool) => (pool.tuples.length > 0 ? pool.type.weight : 0))
  const examples: PretrainingExample[] = []
  for (let i = 0; i < count; i++) {
    const pool = pools[random.weighted(weights)]
    if (!pool) throw new Error('Every demo problem is held out: nothing is left for pre-training.')
    const problem = { type: pool.type, numbers: random.pick(pool.tuples) }
    const family = random.pick(scenarioFamilies[pool.type.name])
    const question = tellIn(random, family, problem.numbers, random.shuffled(people))
    const style: SolutionStyle = random.next() < directShare ? 'direct' : 'worked'
    const { answer, solution } = solve(problem)
    examples.push({
      type: pool.type.name,
      style,
      question,
      solution: style === 'direct' ? answerText(answer) : solution,
      worked: solution,
    })
  }
  return examples
}
