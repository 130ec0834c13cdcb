// The behaviour diff of two checkpoints on one probe set: per question each side's greedy answer and the vote of
// its G sampled answers, judged against the ground truth where there is one, and which questions flipped
// (greedy correct -> wrong, wrong -> correct); per side the accuracy, answer length and token entropy.
// Pure: the answers come from probe.ts (or, in tests, by hand).
import type { FLIPS } from '../../../preload/contract'
import { groundTruthReward, isEquivalent } from '../answers/equivalence'
import { majorityVote } from '../answers/vote'

export interface ProbeQuestion {
  /** The dataset record, when the question comes from one. */
  record: number | null
  question: string
  /** The ground-truth answer, or null (then no correctness and no flips). */
  gt: string | null
}

/** One completion: its extracted answer ("" for none), its length in tokens and its mean token entropy (nats). */
export interface ProbeCompletion {
  text: string
  answer: string
  tokens: number
  entropy: number
}

/** What one checkpoint answered to one question: greedily, and in G samples. */
export interface ProbeAnswers {
  greedy: ProbeCompletion
  samples: ProbeCompletion[]
}

export type Flip = (typeof FLIPS)[number]

export interface DiffSide {
  greedy: ProbeCompletion
  /** Whether the greedy answer matches the ground truth (null without one). */
  correct: boolean | null
  /** The sampled answers, in sample order. */
  samples: string[]
  /** The majority of the sampled answers ("" when none answered or G = 0) and how many agreed. */
  vote: string
  votes: number
  voteCorrect: boolean | null
}

export interface DiffRow {
  index: number
  record: number | null
  question: string
  gt: string | null
  a: DiffSide
  b: DiffSide
  /** From A to B, by the greedy answers; null when neither flipped or there is no ground truth. */
  flip: Flip | null
  /** The same, by the sample votes (null with G = 0). */
  voteFlip: Flip | null
  /** The greedy answers differ (as strings). */
  changed: boolean
}

export interface SideSummary {
  /** Greedy answers that match the ground truth, of `labelled`. */
  correct: number
  /** Sample votes that match the ground truth (0 with G = 0). */
  voteCorrect: number
  /** Greedy completions with an extractable answer. */
  answered: number
  /** Mean completion length (tokens) and mean token entropy, greedy and over the samples (null with G = 0). */
  greedyLength: number
  greedyEntropy: number
  sampleLength: number | null
  sampleEntropy: number | null
}

export interface DiffSummary {
  questions: number
  /** Questions with a ground truth: what the accuracies and flips are out of. */
  labelled: number
  samples: number
  a: SideSummary
  b: SideSummary
  correctToWrong: number
  wrongToCorrect: number
  voteCorrectToWrong: number
  voteWrongToCorrect: number
  /** Questions whose greedy answers differ at all. */
  changed: number
}

export interface BehaviourDiff {
  rows: DiffRow[]
  summary: DiffSummary
}

/** A flip from `before` to `after`; null when both agree or either is unknown. */
export function classifyFlip(before: boolean | null, after: boolean | null): Flip | null {
  if (before === null || after === null || before === after) return null
  return before ? 'correct->wrong' : 'wrong->correct'
}

function side(answers: ProbeAnswers, gt: string | null): DiffSide {
  const sampled = answers.samples.map((s) => s.answer)
  const vote = majorityVote(sampled)
  return {
    greedy: answers.greedy,
    correct: gt === null ? null : groundTruthReward(answers.greedy.answer || null, gt) === 1,
    samples: sampled,
    vote: vote.label,
    votes: vote.count,
    voteCorrect: gt === null || sampled.length === 0 ? null : vote.label !== '' && isEquivalent(vote.label, gt),
  }
}

const mean = (values: readonly number[]): number => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length)

function summariseSide(sides: DiffSide[], answers: ProbeAnswers[]): SideSummary {
  const samples = answers.flatMap((a) => a.samples)
  return {
    correct: sides.filter((s) => s.correct === true).length,
    voteCorrect: sides.filter((s) => s.voteCorrect === true).length,
    answered: sides.filter((s) => s.greedy.answer !== '').length,
    greedyLength: mean(answers.map((a) => a.greedy.tokens)),
    greedyEntropy: mean(answers.map((a) => a.greedy.entropy)),
    sampleLength: samples.length === 0 ? null : mean(samples.map((s) => s.tokens)),
    sampleEntropy: samples.length === 0 ? null : mean(samples.map((s) => s.entropy)),
  }
}

/** Compares what A and B answered to the same questions (one ProbeAnswers per question, in order, on each side). */
export function diffBehaviour(
  questions: readonly ProbeQuestion[],
  a: readonly ProbeAnswers[],
  b: readonly ProbeAnswers[],
): BehaviourDiff {
  if (a.length !== questions.length || b.length !== questions.length) {
    throw new Error(
      `A behaviour diff needs one answer per question on each side: ${questions.length} questions, ${a.length} and ${b.length} answers.`,
    )
  }
  const rows: DiffRow[] = questions.map((q, index) => {
    const sa = side(a[index]!, q.gt)
    const sb = side(b[index]!, q.gt)
    return {
      index,
      record: q.record,
      question: q.question,
      gt: q.gt,
      a: sa,
      b: sb,
      flip: classifyFlip(sa.correct, sb.correct),
      voteFlip: classifyFlip(sa.voteCorrect, sb.voteCorrect),
      changed: sa.greedy.answer !== sb.greedy.answer,
    }
  })
  const count = (predicate: (row: DiffRow) => boolean): number => rows.filter(predicate).length
  return {
    rows,
    summary: {
      questions: rows.length,
      labelled: count((row) => row.gt !== null),
      samples: a[0]?.samples.length ?? 0,
      a: summariseSide(
        rows.map((row) => row.a),
        [...a],
      ),
      b: summariseSide(
        rows.map((row) => row.b),
        [...b],
      ),
      correctToWrong: count((row) => row.flip === 'correct->wrong'),
      wrongToCorrect: count((row) => row.flip === 'wrong->correct'),
      voteCorrectToWrong: count((row) => row.voteFlip === 'correct->wrong'),
      voteWrongToCorrect: count((row) => row.voteFlip === 'wrong->correct'),
      changed: count((row) => row.changed),
    },
  }
}

/** The summary line the CLI prints and the view shows above the table. */
export function summaryLine(summary: DiffSummary): string {
  const n = summary.labelled
  return `A correct: ${summary.a.correct}/${n}, B correct: ${summary.b.correct}/${n}, flipped correct->wrong: ${summary.correctToWrong}, wrong->correct: ${summary.wrongToCorrect}`
}
