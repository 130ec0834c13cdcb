// The Co-rewarding-I agreement heatmap: per question and step, do the original question's rollouts and its
// paraphrase's rollouts reach the same majority answer? When they drift apart, the paraphrase's vote stops being
// a useful label for the original (co-rewarding.md section 5).
import type { Result, SAMPLE_VIEWS } from '../../preload/contract'
import { isEquivalent } from '../engine/answers/equivalence'
import { answerKey, majorityVote } from '../engine/answers/vote'
import type { VoteOptions } from '../engine/answers/vote'

export interface AgreementSample {
  step: number
  recordId: number | null
  groupIndex: number
  view: (typeof SAMPLE_VIEWS)[number]
  answer: string
}

export interface AgreementRecord {
  question: string
  gt: string | null
}

export type Agreement = Result<'rollouts.agreement'>

/**
 * The heatmap of a run's stored samples (in the order they were written): steps ascending, questions (record ids)
 * in order of first appearance, one cell per step and group with both views. The majority is the trainer's
 * vote (empty answers do not vote; `options` as the run voted); the views agree when both have a majority and
 * the two match. Groups without a record cannot be followed across steps and are left out.
 */
export function agreementCells(
  samples: readonly AgreementSample[],
  records: ReadonlyMap<number, AgreementRecord>,
  options: VoteOptions,
): Agreement {
  // Map order is the order each group's first sample was written.
  const groups = new Map<string, { step: number; record: number; original: string[]; paraphrase: string[] }>()
  for (const sample of samples) {
    if (sample.recordId === null || sample.view === 'teacher') continue
    const id = `${sample.step}:${sample.groupIndex}`
    let group = groups.get(id)
    if (!group) groups.set(id, (group = { step: sample.step, record: sample.recordId, original: [], paraphrase: [] }))
    group[sample.view].push(sample.answer)
  }
  const complete = [...groups.values()].filter((g) => g.original.length > 0 && g.paraphrase.length > 0)
  const questionIndex = new Map<number, number>()
  const questions: Agreement['questions'] = []
  for (const { record } of complete) {
    if (questionIndex.has(record)) continue
    questionIndex.set(record, questions.length)
    questions.push({ record, question: records.get(record)?.question ?? '', gt: records.get(record)?.gt ?? null })
  }
  const steps = [...new Set(complete.map((g) => g.step))].sort((a, b) => a - b)
  const stepIndex = new Map(steps.map((step, s) => [step, s]))
  const cells = complete.map((group) => {
    const original = majorityVote(group.original, options).label
    const paraphrase = majorityVote(group.paraphrase, options).label
    const q = questionIndex.get(group.record)!
    const gt = questions[q]!.gt
    return {
      q,
      s: stepIndex.get(group.step)!,
      agree: original !== '' && answerKey(original, options) === answerKey(paraphrase, options),
      original,
      paraphrase,
      gtCorrect: gt === null ? null : original !== '' && isEquivalent(original, gt),
    }
  })
  cells.sort((a, b) => a.s - b.s || a.q - b.q)
  return { steps, questions, cells }
}
