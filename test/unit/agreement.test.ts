import { describe, expect, it } from 'vitest'
import { agreementCells, type AgreementSample } from '../../main/services/agreement'

/** One step's group: the original's and the paraphrase's answers, in rollout order. */
function group(
  step: number,
  groupIndex: number,
  recordId: number | null,
  original: string[],
  paraphrase: string[],
): AgreementSample[] {
  return [
    ...original.map((answer) => ({ step, recordId, groupIndex, view: 'original' as const, answer })),
    ...paraphrase.map((answer) => ({ step, recordId, groupIndex, view: 'paraphrase' as const, answer })),
  ]
}

const records = new Map([
  [7, { question: 'What is 2 + 3?', gt: '5' }],
  [9, { question: 'What is 4 * 4?', gt: null }],
])

describe('the Co-rewarding-I agreement heatmap', () => {
  it('compares the majority answers of the two views per question and step, with GT correctness', () => {
    const samples = [
      // step 1: record 9 first, then record 7
      ...group(1, 0, 9, ['16', '16', '15'], ['16', '', '']),
      ...group(1, 1, 7, ['5', '6', '6'], ['5', '5', '6']),
      // step 2: record 7 agrees on 5; empty answers do not vote
      ...group(2, 0, 7, ['', '', '5'], ['5', '4', '5']),
    ]
    expect(agreementCells(samples, records, {})).toEqual({
      steps: [1, 2],
      questions: [
        { record: 9, question: 'What is 4 * 4?', gt: null },
        { record: 7, question: 'What is 2 + 3?', gt: '5' },
      ],
      cells: [
        { q: 0, s: 0, agree: true, original: '16', paraphrase: '16', gtCorrect: null },
        { q: 1, s: 0, agree: false, original: '6', paraphrase: '5', gtCorrect: false },
        { q: 1, s: 1, agree: true, original: '5', paraphrase: '5', gtCorrect: true },
      ],
    })
  })

  it('breaks ties by the first answer in rollout order, matches GT by equivalence and never agrees on no answer', () => {
    const samples = [...group(3, 0, 7, ['5.0', '4', '4', '5.0'], ['', '']), ...group(4, 0, 7, ['x = 5'], ['5'])]
    const { cells } = agreementCells(samples, records, {})
    expect(cells[0]).toEqual({ q: 0, s: 0, agree: false, original: '5.0', paraphrase: '', gtCorrect: false })
    expect(cells[1]).toEqual({ q: 0, s: 1, agree: false, original: 'x = 5', paraphrase: '5', gtCorrect: true })
    expect(agreementCells([...group(5, 0, 7, ['0.5'], ['\\frac{1}{2}'])], records, { normalised: true }).cells[0]!.agree).toBe(
      true,
    )
    expect(agreementCells([...group(5, 0, 7, ['0.5'], ['\\frac{1}{2}'])], records, {}).cells[0]!.agree).toBe(false)
  })

  it('leaves out groups without a record or without one of the views', () => {
    const samples = [
      ...group(1, 0, null, ['1'], ['1']),
      ...group(1, 1, 7, ['5'], []),
      { step: 1, recordId: 7, groupIndex: 1, view: 'teacher' as const, answer: '5' },
    ]
    expect(agreementCells(samples, records, {})).toEqual({ steps: [], questions: [], cells: [] })
  })
})
