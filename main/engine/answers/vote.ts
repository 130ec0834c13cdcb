// Majority vote over a group's extracted answers (method doc section 4).
import { normalizeAnswer } from './equivalence'

export interface Vote {
  /** The most frequent non-empty answer, as first written; "" when every answer is empty. */
  label: string
  /** How many answers matched the label (0 for the empty label). */
  count: number
  /** How many answers were voted on, empty ones included (G). */
  total: number
}

export interface VoteOptions {
  /** Match answers by GT equivalence instead of exact string equality (the reference's choice, the default). */
  normalised?: boolean
}

/** What two answers must share to match: the exact string, or with `normalised` the is_equiv class. */
export function answerKey(answer: string, options: VoteOptions = {}): string {
  if (!options.normalised) return answer
  try {
    return `normalised:${normalizeAnswer(answer)}`
  } catch {
    return `raw:${answer}` // is_equiv compares raw strings when normalisation throws
  }
}

/** A vote with every answer that reached its winning count: two or more leaders make a tie. */
export interface TalliedVote {
  vote: Vote
  /** The answers with the winning count (as first written), in the order first seen: the label leads. */
  leaders: string[]
}

/** Drops empty answers, then takes the most frequent; a tie goes to the answer seen first in rollout order. */
export function tallyVote(answers: readonly (string | null)[], options: VoteOptions = {}): TalliedVote {
  const tally = new Map<string, { first: string; count: number }>()
  for (const answer of answers) {
    if (!answer) continue
    const key = answerKey(answer, options)
    const entry = tally.get(key)
    if (entry) entry.count += 1
    else tally.set(key, { first: answer, count: 1 })
  }
  let winner = { first: '', count: 0 }
  for (const entry of tally.values()) if (entry.count > winner.count) winner = entry
  const leaders = [...tally.values()].filter((entry) => entry.count === winner.count).map((entry) => entry.first)
  return { vote: { label: winner.first, count: winner.count, total: answers.length }, leaders }
}

/** The vote alone (see tallyVote). */
export const majorityVote = (answers: readonly (string | null)[], options: VoteOptions = {}): Vote =>
  tallyVote(answers, options).vote

/** The self-reward of one answer against a pseudo label: 1 when it matches a non-empty label, else 0. */
export function labelReward(answer: string | null, label: string, options: VoteOptions = {}): 0 | 1 {
  return answer && label && answerKey(answer, options) === answerKey(label, options) ? 1 : 0
}
