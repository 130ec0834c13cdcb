// The pieces the demo tokenizer needs: everything a demo question, paraphrase or solution can split into.
import { SYSTEM_PROMPT } from '../../engine/prompt'
import { pretokenize, SPACE } from '../../engine/tokenizer/word-level'
import { allNumberTuples, MAX_RESULT, problemTypes, solutionText, work } from './problem-types'
import { people, scenarioFamilies, tell } from './scenarios'

/** Every piece (per `pretokenize`) of any text the generator can produce, sorted by code unit. */
export function demoVocabularyPieces(): string[] {
  const pieces = new Set<string>()
  const add = (text: string): void => pretokenize(text).forEach((piece) => pieces.add(piece))
  // Every prompt starts with the system message: none of its words may be unknown.
  add(SYSTEM_PROMPT)
  // A number may follow a space or a mark such as `\boxed{`, so both forms of every value are in.
  for (let n = 0; n <= MAX_RESULT; n++) {
    pieces.add(String(n))
    pieces.add(`${SPACE}${n}`)
  }
  for (const type of problemTypes) {
    const numbers = allNumberTuples(type)[0]
    const equations = numbers && work(type, numbers)
    if (!numbers || !equations) throw new Error(`Demo problem type ${type.name} has no valid problem.`)
    add(solutionText(equations))
    // Slots are whole words, so walking every person and item once per template reaches every piece.
    for (const family of scenarioFamilies[type.name]) {
      const items = family.items ?? [undefined]
      for (let i = 0; i < Math.max(people.length, items.length); i++) {
        const person = people[i % people.length]
        const other = people[(i + 1) % people.length]
        if (!person || !other) continue
        add(tell(family, numbers, person, other, items[i % items.length]))
      }
    }
  }
  return [...pieces].sort()
}
