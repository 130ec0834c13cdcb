// What the rollout viewer reads off a question group: its views, their vote counts and whether they carry gradient.
import { SAMPLE_VIEWS } from '../../../../preload/constants'
import type { RolloutGroup, RolloutSample, VoteTie } from '../../../../preload/contract'

export type SampleView = (typeof SAMPLE_VIEWS)[number]

export interface ViewRollouts {
  view: SampleView
  samples: RolloutSample[]
  pseudoLabel: string | null
  /** Answer -> how many rollouts gave it, most frequent first ('' for no extracted answer). */
  votes: { answer: string; count: number }[]
  meanReward: number | null
  /** All rewards equal: GRPO's advantages are zero and the view teaches nothing this step. */
  zeroStd: boolean
  /** Set when the view's pseudo label came from a tied vote (the tie-break chose it). */
  tie?: VoteTie
}

const same = (a: string | null | undefined, b: string | null | undefined): boolean =>
  a !== null && a !== undefined && b !== null && b !== undefined && a.trim() === b.trim()
export { same as sameAnswer }

export function viewsOf(group: RolloutGroup): ViewRollouts[] {
  return SAMPLE_VIEWS.flatMap((view) => {
    const samples = group.samples.filter((s) => s.view === view)
    if (samples.length === 0) return []
    const counts = new Map<string, number>()
    for (const s of samples) counts.set(s.answer.trim(), (counts.get(s.answer.trim()) ?? 0) + 1)
    const rewards = samples.map((s) => s.reward).filter((r): r is number => r !== null)
    return [
      {
        view,
        samples,
        pseudoLabel: samples.find((s) => s.pseudoLabel !== null)?.pseudoLabel ?? null,
        votes: [...counts.entries()]
          .map(([answer, count]) => ({ answer, count }))
          .sort((a, b) => b.count - a.count || a.answer.localeCompare(b.answer)),
        meanReward: rewards.length ? rewards.reduce((a, b) => a + b, 0) / rewards.length : null,
        zeroStd: rewards.length > 1 && rewards.every((r) => r === rewards[0]),
        tie: group.ties?.find((t) => t.view === view),
      },
    ]
  })
}

/** The label the group was scored against: the original view's (for Co-rewarding-I, the paraphrase's vote). */
export function groupPseudoLabel(views: readonly ViewRollouts[]): string | null {
  return views.find((v) => v.view === 'original')?.pseudoLabel ?? views.find((v) => v.pseudoLabel !== null)?.pseudoLabel ?? null
}

export const wrongPseudoLabel = (group: RolloutGroup, views: readonly ViewRollouts[]): boolean => {
  const label = groupPseudoLabel(views)
  return group.gt !== null && label !== null && !same(label, group.gt)
}

/** The tied answers' vote counts: "tie 2–2", "tie 1–1–1–1". */
export const tieBadge = (tie: VoteTie): string => `tie ${tie.answers.map(() => tie.count).join('–')}`

/** What tied and which rule broke the tie (the reference's, unchanged). */
export const tieTitle = (tie: VoteTie): string =>
  `Tied vote: ${tie.answers.join(', ')} got ${tie.count} of ${tie.total} votes each. ` +
  `Tie-break (as in the reference): the answer seen first in rollout order wins, so the pseudo label is ${tie.answers[0]}.`
