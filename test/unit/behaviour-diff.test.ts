// The behaviour diff's logic on answers written by hand: which questions flipped, the votes, and the summary.
import { describe, expect, it } from 'vitest'
import {
  classifyFlip,
  diffBehaviour,
  summaryLine,
  type ProbeAnswers,
  type ProbeCompletion,
  type ProbeQuestion,
} from '../../main/engine/checkpoint/diff'
import { rowEntropy } from '../../main/engine/checkpoint/probe'

const completion = (answer: string, tokens = 10, entropy = 1): ProbeCompletion => ({
  text: answer ? `so \\boxed{${answer}}` : 'no idea',
  answer,
  tokens,
  entropy,
})
const answers = (greedy: ProbeCompletion, samples: string[] = []): ProbeAnswers => ({
  greedy,
  samples: samples.map((answer) => completion(answer, 20, 2)),
})

const questions: ProbeQuestion[] = [
  { record: 1, question: '2 + 2?', gt: '4' },
  { record: 2, question: '3 + 4?', gt: '7' },
  { record: 3, question: '1 + 1?', gt: '2' },
  { record: 4, question: 'unlabelled', gt: null },
  { record: 5, question: 'half of 1?', gt: '0.5' },
]

describe('classifying a flip', () => {
  it('names the direction from A to B, and nothing when both agree or either is unknown', () => {
    expect(classifyFlip(true, false)).toBe('correct->wrong')
    expect(classifyFlip(false, true)).toBe('wrong->correct')
    expect([classifyFlip(true, true), classifyFlip(false, false), classifyFlip(null, true), classifyFlip(false, null)]).toEqual([
      null,
      null,
      null,
      null,
    ])
  })
})

describe('the behaviour diff of two checkpoints', () => {
  const a = [
    answers(completion('4', 8, 0.5), ['4', '4', '5']),
    answers(completion('3', 12, 1.5), ['3', '', '3']),
    answers(completion('2', 6, 0.25), ['2', '2', '2']),
    answers(completion('x', 10, 1), ['x', 'y', 'y']),
    answers(completion('', 14, 2), ['', '', '']),
  ]
  const b = [
    answers(completion('5', 4, 0.1), ['5', '5', '4']),
    answers(completion('7', 4, 0.1), ['7', '7', '3']),
    answers(completion('2', 4, 0.1), ['2', '1', '2']),
    answers(completion('y', 4, 0.1), ['y', 'y', 'y']),
    // GT-equivalent, not the same string: 1/2 normalises to \frac{1}{2}, as 0.5 does.
    answers(completion('1/2', 4, 0.1), ['1/2', '0.5', '']),
  ]
  const { rows, summary } = diffBehaviour(questions, a, b)

  it('flags correct->wrong and wrong->correct by the greedy answers, judged by GT equivalence', () => {
    expect(rows.map((row) => [row.a.correct, row.b.correct, row.flip])).toEqual([
      [true, false, 'correct->wrong'],
      [false, true, 'wrong->correct'],
      [true, true, null],
      [null, null, null],
      [false, true, 'wrong->correct'],
    ])
    expect(rows.map((row) => row.changed)).toEqual([true, true, false, true, true])
  })

  it('takes the majority of the sampled answers, empty answers not voting, and flips by the votes too', () => {
    expect(rows.map((row) => [row.a.vote, row.a.votes, row.b.vote, row.b.votes])).toEqual([
      ['4', 2, '5', 2],
      ['3', 2, '7', 2],
      ['2', 3, '2', 2],
      ['y', 2, 'y', 3],
      ['', 0, '1/2', 1],
    ])
    expect(rows.map((row) => row.voteFlip)).toEqual(['correct->wrong', 'wrong->correct', null, null, 'wrong->correct'])
    expect(rows[1]!.a.samples).toEqual(['3', '', '3'])
  })

  it('sums up accuracy out of the labelled questions, flips, and each side`s length and entropy', () => {
    expect(summary).toMatchObject({
      questions: 5,
      labelled: 4,
      samples: 3,
      correctToWrong: 1,
      wrongToCorrect: 2,
      voteCorrectToWrong: 1,
      voteWrongToCorrect: 2,
      changed: 4,
      a: { correct: 2, voteCorrect: 2, answered: 4, greedyLength: 10, greedyEntropy: 1.05, sampleLength: 20, sampleEntropy: 2 },
      b: { correct: 3, voteCorrect: 3, answered: 5, greedyLength: 4, sampleLength: 20 },
    })
    expect(summary.b.greedyEntropy).toBeCloseTo(0.1, 12)
    expect(summaryLine(summary)).toBe('A correct: 2/4, B correct: 3/4, flipped correct->wrong: 1, wrong->correct: 2')
  })

  it('has no votes, vote flips or sample means without samples', () => {
    const greedyOnly = diffBehaviour(questions.slice(0, 1), [answers(completion('4'))], [answers(completion('5'))])
    expect(greedyOnly.rows[0]).toMatchObject({ flip: 'correct->wrong', voteFlip: null, a: { vote: '', voteCorrect: null } })
    expect(greedyOnly.summary).toMatchObject({ samples: 0, a: { sampleLength: null, sampleEntropy: null } })
  })

  it('refuses answers that do not line up with the questions', () => {
    expect(() => diffBehaviour(questions, a.slice(1), b)).toThrow(/5 questions, 4 and 5 answers/)
  })
})

describe('the entropy of a next-token distribution', () => {
  it('is log V for equal logits and near 0 for a sharp one', () => {
    expect(rowEntropy(new Float32Array([0, 0, 0, 0, 7, 7, 7, 7]), 4, 4)).toBeCloseTo(Math.log(4), 12)
    // p = [e^2, 1, 1] / (e^2 + 2): H = log Z - sum p * logit.
    const z = Math.exp(2) + 2
    expect(rowEntropy(new Float32Array([2, 0, 0]), 0, 3)).toBeCloseTo(Math.log(z) - (2 * Math.exp(2)) / z, 6)
    expect(rowEntropy(new Float32Array([100, 0, 0]), 0, 3)).toBeLessThan(1e-40)
  })
})
