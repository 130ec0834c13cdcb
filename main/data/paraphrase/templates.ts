// Template paraphrases for the embedded demo task: a demo record (its source keeps the problem type, the scenario
// family it is told in and the worked solution) is retold in every other family of its type, with new people,
// keeping the numbers in their roles, so the mathematics and the answer stay the same by construction.
import { problemTypeNames, problemType, work } from '../demo/problem-types'
import type { ProblemTypeName } from '../demo/problem-types'
import { people, scenarioFamilies, tell } from '../demo/scenarios'
import type { ScenarioFamily } from '../demo/scenarios'
import { Random } from '../../random'

export interface DemoSource {
  type: ProblemTypeName
  family: string
}

/** The demo problem a record's source names (type and family), or undefined for a record from elsewhere. */
export function demoSource(source: Record<string, unknown>): DemoSource | undefined {
  const { type, family } = source
  if (typeof type !== 'string' || !(problemTypeNames as readonly string[]).includes(type)) return undefined
  if (typeof family !== 'string' || !scenarioFamilies[type as ProblemTypeName].some((f) => f.family === family)) return undefined
  return { type: type as ProblemTypeName, family }
}

const EQUATION = /(\d+) ([-+×÷]) (\d+) = (\d+)\./g

/** The problem's numbers in chain order from the worked solution ("3 + 5 = 8. 8 - 2 = 6. ..."). */
function numbersFromSolution(solution: unknown): number[] | undefined {
  if (typeof solution !== 'string') return undefined
  const equations = [...solution.matchAll(EQUATION)]
  if (equations.length === 0) return undefined
  return [Number(equations[0]![1]), ...equations.map((m) => Number(m[3]))]
}

const SLOT = /\{(\w+)\}/g
const NUMBER_SLOTS = ['a', 'b', 'c', 'd']

/** The numbers of a question told in `family`, read back through the family's template (slots in any order). */
function numbersFromQuestion(family: ScenarioFamily, question: string): number[] | undefined {
  const order: string[] = []
  let pattern = ''
  let last = 0
  for (const match of family.template.matchAll(SLOT)) {
    pattern += family.template.slice(last, match.index).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    if (NUMBER_SLOTS.includes(match[1]!)) {
      order.push(match[1]!)
      pattern += '(\\d+)'
    } else pattern += '.+?'
    last = match.index + match[0].length
  }
  pattern += family.template.slice(last).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const found = new RegExp(`^${pattern}$`).exec(question.trim())
  if (!found) return undefined
  const bySlot = new Map(order.map((slot, i) => [slot, Number(found[i + 1])]))
  return NUMBER_SLOTS.filter((slot) => bySlot.has(slot)).map((slot) => bySlot.get(slot)!)
}

export type TemplateOutcome = { ok: true; texts: { family: string; text: string }[] } | { ok: false; reason: string }

/**
 * The record retold in each other family of its type (texts already among `existing` left out). `seed` varies the
 * people and items; the same seed gives the same texts.
 */
export function templateParaphrases(
  record: { id: number; question: string; answer: string | null; source: Record<string, unknown> },
  existing: readonly string[],
  seed: number,
): TemplateOutcome {
  const demo = demoSource(record.source)
  if (!demo) return { ok: false, reason: 'not a demo problem: its source names no demo problem type and scenario family' }
  const type = problemType(demo.type)
  const own = scenarioFamilies[demo.type].find((f) => f.family === demo.family)!
  const numbers = [numbersFromSolution(record.source.solution), numbersFromQuestion(own, record.question)].find(
    (candidate) => candidate !== undefined && work(type, candidate) !== undefined,
  )
  if (!numbers) {
    return {
      ok: false,
      reason: `cannot recover the problem's numbers: no worked solution in its source, and the question no longer reads as the "${demo.family}" template`,
    }
  }
  const result = work(type, numbers)!.at(-1)!.result
  if (record.answer !== null && record.answer.trim() !== '' && record.answer.trim() !== String(result)) {
    return { ok: false, reason: `its numbers give ${result}, but its answer is ${record.answer.trim()}: the record was edited` }
  }
  const random = new Random(seed).fork(record.id)
  const cast = random.shuffled(people)
  const seen = new Set(existing.map((text) => text.trim()))
  const texts = scenarioFamilies[demo.type]
    .filter((family) => family.family !== demo.family)
    .map((family, i) => {
      const [person, other] = [cast[(2 * i) % cast.length]!, cast[(2 * i + 1) % cast.length]!]
      return { family: family.family, text: tell(family, numbers, person, other, family.items && random.pick(family.items)) }
    })
    .filter((t) => !seen.has(t.text))
  return { ok: true, texts }
}
