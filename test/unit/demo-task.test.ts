import { describe, expect, it } from 'vitest'
import {
  DEMO_TASK_DEFAULTS,
  demoVocabularyPieces,
  generateDemoTask,
  generatePretrainingExamples,
  type DemoRecord,
} from '../../main/data/demo'
import { answerText, problemType, solutionText, work } from '../../main/data/demo/problem-types'
import { people } from '../../main/data/demo/scenarios'
import { SYSTEM_PROMPT } from '../../main/engine/prompt'
import { pretokenize, SPACE } from '../../main/engine/tokenizer/word-level'

const shipped = generateDemoTask(DEMO_TASK_DEFAULTS)
/** Three shipped-size tasks: 7,500 records, 45,000 texts. */
const many: DemoRecord[] = [1, 2, 3].flatMap((seed) => generateDemoTask({ ...DEMO_TASK_DEFAULTS, seed }).records)

const texts = (record: DemoRecord): string[] => [record.question, ...record.paraphrases.map((p) => p.text)]
const numbersIn = (text: string): number[] => (text.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b)
const namesIn = (text: string): string[] => people.map((p) => p.name).filter((name) => new RegExp(`\\b${name}\\b`).test(text))
const key = (type: string, numbers: readonly number[]): string => `${type}:${numbers.join(',')}`

/** The equations of a solution, read back from its text. */
function equationsOf(solution: string): { left: number; operation: string; right: number; result: number }[] {
  return [...solution.matchAll(/(\d+) ([+\-×÷]) (\d+) = (\d+)\./g)].map((m) => ({
    left: Number(m[1]),
    operation: m[2] as string,
    right: Number(m[3]),
    result: Number(m[4]),
  }))
}

const arithmetic: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '×': (a, b) => a * b,
  '÷': (a, b) => a / b,
}

describe('the demo task', () => {
  it('is the same, byte for byte, for the same seed and different for another seed', () => {
    expect(JSON.stringify(generateDemoTask(DEMO_TASK_DEFAULTS))).toBe(JSON.stringify(shipped))
    const other = generateDemoTask({ ...DEMO_TASK_DEFAULTS, seed: 2 })
    expect(other.records.map((r) => r.question)).not.toEqual(shipped.records.map((r) => r.question))
  })

  it('deals the asked number of records into train, validation and test, each with its own id', () => {
    const count = (split: string): number => shipped.records.filter((r) => r.split === split).length
    expect([count('train'), count('validation'), count('test')]).toEqual([2000, 200, 300])
    expect(new Set(shipped.records.map((r) => r.id)).size).toBe(2500)
    expect(shipped.records[0]?.id).toBe('train-0001')
    expect(shipped.records.at(-1)?.id).toBe('test-300')
  })

  it('never repeats a problem (type and numbers) or a question anywhere in a task', () => {
    for (const task of [shipped, generateDemoTask({ seed: 4, train: 3000, validation: 500, test: 500 })]) {
      expect(new Set(task.records.map((r) => key(r.type, r.numbers))).size).toBe(task.records.length)
      expect(new Set(task.records.map((r) => r.question)).size).toBe(task.records.length)
    }
  })

  it('has at least six problem types of one, two and three steps, each told in at least five scenario families', () => {
    const families = new Map<string, Set<string>>()
    for (const record of shipped.records) {
      const seen = families.get(record.type) ?? new Set()
      for (const family of [record.family, ...record.paraphrases.map((p) => p.family)]) seen.add(family)
      families.set(record.type, seen)
    }
    expect(families.size).toBeGreaterThanOrEqual(6)
    for (const seen of families.values()) expect(seen.size).toBeGreaterThanOrEqual(5)
    expect(new Set(shipped.records.map((r) => r.steps))).toEqual(new Set([1, 2, 3]))
  })

  it('works a problem out in one equation per step, then one boxed answer', () => {
    const solve = (type: string, numbers: number[]): string | undefined => {
      const equations = work(problemType(type), numbers)
      return equations && solutionText(equations)
    }
    expect(solve('groups-add-take-away', [3, 12, 5, 7])).toBe('3 × 12 = 36. 36 + 5 = 41. 41 - 7 = 34. The answer is \\boxed{34}.')
    expect(solve('combine-take-away-share', [20, 8, 2, 2])).toBe(
      '20 + 8 = 28. 28 - 2 = 26. 26 ÷ 2 = 13. The answer is \\boxed{13}.',
    )
    expect(solve('share', [45, 5])).toBe('45 ÷ 5 = 9. The answer is \\boxed{9}.')
    expect(solve('take-away', [5, 5])).toBeUndefined()
    expect(solve('equal-groups', [10, 20])).toBeUndefined()
    expect(solve('share', [10, 4])).toBeUndefined()
    expect(solve('share', [9, 9])).toBeUndefined()
  })

  it('gives every record a correct worked solution over its own numbers, with every result a whole number below 200', () => {
    for (const record of many) {
      const equations = equationsOf(record.solution)
      expect(equations).toHaveLength(record.steps)
      expect(record.solution.split('\\boxed{')).toHaveLength(2)
      expect(record.solution.endsWith(` The answer is \\boxed{${record.answer}}.`)).toBe(true)
      let running = record.numbers[0]
      for (const [i, { left, operation, right, result }] of equations.entries()) {
        expect([left, right]).toEqual([running, record.numbers[i + 1]])
        expect(arithmetic[operation]?.(left, right)).toBe(result)
        expect(Number.isInteger(result) && result >= 0 && result < 200).toBe(true)
        running = result
      }
      expect(String(running)).toBe(record.answer)
    }
  })

  it('keeps exactly the problem numbers in the question and in every paraphrase', () => {
    for (const record of many) {
      const expected = [...record.numbers].sort((a, b) => a - b)
      for (const text of texts(record)) expect(numbersIn(text)).toEqual(expected)
    }
  })

  it('paraphrases each question in at least four other scenario families, with other people, never repeating a text', () => {
    for (const record of many) {
      const families = record.paraphrases.map((p) => p.family)
      expect(families.length).toBeGreaterThanOrEqual(4)
      expect(new Set([record.family, ...families]).size).toBe(families.length + 1)
      expect(new Set(texts(record)).size).toBe(families.length + 1)
      const cast = texts(record).flatMap(namesIn)
      expect(new Set(cast).size).toBe(cast.length)
    }
  })

  it('fits the demo tokenizer: at most 30 pieces per question or paraphrase and 31 per solution', () => {
    const longestText = Math.max(...many.flatMap(texts).map((text) => pretokenize(text).length))
    const longestSolution = Math.max(...many.map((r) => pretokenize(r.solution).length))
    expect(longestText).toBeLessThanOrEqual(30)
    expect(longestSolution).toBeLessThanOrEqual(31)
  })

  it('draws the held-out splits from the same mix of problem sizes as the training split, even when small types run out', () => {
    // 15,000 problems use up every one-step problem (fewer than 2,000 exist): they must still spread over all splits.
    const cases = [
      { task: shipped, tolerance: 0.08 },
      { task: generateDemoTask({ seed: 6, train: 12000, validation: 0, test: 3000 }), tolerance: 0.03 },
    ]
    for (const { task, tolerance } of cases) {
      const share = (split: string, steps: number): number => {
        const records = task.records.filter((r) => r.split === split)
        return records.filter((r) => r.steps === steps).length / records.length
      }
      for (const steps of [1, 2, 3]) expect(Math.abs(share('test', steps) - share('train', steps))).toBeLessThan(tolerance)
    }
  })

  it('refuses sizes it cannot honour, saying which', () => {
    expect(() => generateDemoTask({ ...DEMO_TASK_DEFAULTS, train: -1 })).toThrow('Demo task train size must be a whole number')
    expect(() => generateDemoTask({ ...DEMO_TASK_DEFAULTS, test: 1_000_000 })).toThrow(/has \d+ distinct problems, but 1002200/)
  })
})

describe('pre-training examples', () => {
  it('never use a validation or test problem of the task, even when most small problems are held out', () => {
    const task = generateDemoTask({ seed: 5, train: 0, validation: 500, test: 2000 })
    const heldOut = new Set(task.records.map((r) => key(r.type, r.numbers)))
    const examples = generatePretrainingExamples(task, 5000, 11)
    for (const example of examples) {
      const equations = equationsOf(example.solution)
      const numbers = [equations[0]?.left, ...equations.map((e) => e.right)] as number[]
      expect(numbersIn(example.question)).toEqual([...numbers].sort((a, b) => a - b))
      expect(heldOut.has(key(example.type, numbers))).toBe(false)
    }
    expect(new Set(examples.map((e) => e.type)).size).toBe(9)
  })

  it("answer directly in the asked share, with the worked solution's answer, and share no text with a held-out question", () => {
    const worked = generatePretrainingExamples(shipped, 4000, 7, 0)
    const direct = generatePretrainingExamples(shipped, 4000, 7, 1)
    const mixed = generatePretrainingExamples(shipped, 4000, 7, 0.6)
    const share = mixed.filter((e) => e.style === 'direct').length / mixed.length
    expect(share).toBeGreaterThan(0.57)
    expect(share).toBeLessThan(0.63)
    expect(worked.every((e) => e.style === 'worked' && equationsOf(e.solution).length > 0)).toBe(true)
    // The style is drawn for every example, so the same seed tells the same problems whatever the share.
    for (const [i, example] of direct.entries()) {
      const solved = worked[i]!
      expect(example).toMatchObject({ style: 'direct', question: solved.question, type: solved.type })
      expect(example.solution).toBe(answerText(String(equationsOf(solved.solution).at(-1)?.result)))
      expect(mixed[i]?.solution).toBe(mixed[i]?.style === 'direct' ? example.solution : solved.solution)
    }
    const heldOutTexts = new Set(shipped.records.filter((r) => r.split !== 'train').flatMap(texts))
    const trainTexts = shipped.records.filter((r) => r.split === 'train').flatMap(texts)
    expect(trainTexts.filter((text) => heldOutTexts.has(text))).toEqual([])
    expect(mixed.filter((e) => heldOutTexts.has(e.question))).toEqual([])
    expect(() => generatePretrainingExamples(shipped, 10, 1, 1.5)).toThrow('between 0 and 1, got 1.5')
  })

  it('may reuse training problems and are the same for the same seed', () => {
    const train = new Set(shipped.records.filter((r) => r.split === 'train').map((r) => r.solution))
    const examples = generatePretrainingExamples(shipped, 3000, 3)
    expect(examples.some((e) => train.has(e.solution))).toBe(true)
    expect(generatePretrainingExamples(shipped, 3000, 3)).toEqual(examples)
  })
})

describe('the demo vocabulary', () => {
  const vocabulary = demoVocabularyPieces()

  it('holds every piece of thousands of generated questions, paraphrases, solutions and pre-training examples', () => {
    const known = new Set(vocabulary)
    const pretraining = generatePretrainingExamples(shipped, 3000, 1).flatMap((e) => [e.question, e.solution])
    const missing = new Set(
      [...many.flatMap((r) => [...texts(r), r.solution]), ...pretraining].flatMap(pretokenize).filter((p) => !known.has(p)),
    )
    expect([...missing]).toEqual([])
  })

  it('holds every word of the system prompt every demo prompt starts with', () => {
    const known = new Set(vocabulary)
    expect(pretokenize(SYSTEM_PROMPT).filter((piece) => !known.has(piece))).toEqual([])
  })

  it('has every number from 0 to 199 with and without the space marker, once each, in a fixed order', () => {
    for (const n of [0, 7, 199]) expect(vocabulary).toEqual(expect.arrayContaining([String(n), `${SPACE}${n}`]))
    expect(vocabulary).not.toContain('200')
    expect(new Set(vocabulary).size).toBe(vocabulary.length)
    expect(demoVocabularyPieces()).toEqual(vocabulary)
    expect([...vocabulary].sort()).toEqual(vocabulary)
  })
})
