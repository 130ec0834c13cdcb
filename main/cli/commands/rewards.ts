import { Command } from 'commander'
import { z } from 'zod'
import { extractAnswer } from '../../engine/answers/extract'
import { groupAdvantages } from '../../engine/grpo/advantages'
import { isRewardModeId, rewardMode, scoreStep } from '../../engine/rewards'
import type { GroupScore, QuestionGroup, Rollout, ScoredView } from '../../engine/rewards/shared/types'
import { LineError, inputOption, mapJsonLines, parseLine } from '../jsonl'

const texts = z.array(z.string()).min(1)
const rollouts = (responses: string[]): Rollout[] => responses.map((text) => ({ text, answer: extractAnswer(text) }))
const scoreOne = (id: string, group: QuestionGroup): GroupScore => scoreStep(rewardMode(id), [group])[0]!
const labelOf = (view: ScoredView | undefined): string => view?.vote?.label ?? ''
const rewardsOf = (view: ScoredView | undefined): number[] => view?.rewards ?? []

type OfflineScorer = (record: unknown, line: number) => Record<string, unknown>

// The modes that need only text (self_certainty and entropy need token logits); output keys in the contract's order.
const OFFLINE: Partial<Record<string, OfflineScorer>> = {
  ground_truth: (record, line) => {
    const { responses, ground_truth } = parseLine(z.object({ responses: texts, ground_truth: z.string() }), record, line)
    const { original } = scoreOne('ground_truth', { views: { original: rollouts(responses) }, groundTruth: ground_truth })
    return { rewards: original.rewards, advantages: groupAdvantages(original.rewards) }
  },
  majority_voting: (record, line) => {
    const { responses } = parseLine(z.object({ responses: texts }), record, line)
    const group = { views: { original: rollouts(responses) } }
    const { original } = scoreOne('majority_voting', group)
    return {
      answers: group.views.original.map(({ answer }) => answer ?? ''),
      pseudo_label: labelOf(original),
      rewards: original.rewards,
      advantages: groupAdvantages(original.rewards),
    }
  },
  co_rewarding_i: (record, line) => {
    const views = parseLine(z.object({ original: texts, paraphrase: texts }), record, line)
    const { original, paraphrase } = scoreOne('co_rewarding_i', {
      views: { original: rollouts(views.original), paraphrase: rollouts(views.paraphrase) },
    })
    return {
      pseudo_label_original: labelOf(original),
      pseudo_label_paraphrase: labelOf(paraphrase),
      rewards_original: original.rewards,
      rewards_paraphrase: rewardsOf(paraphrase),
      advantages_original: groupAdvantages(original.rewards),
      advantages_paraphrase: groupAdvantages(rewardsOf(paraphrase)),
    }
  },
  co_rewarding_ii: (record, line) => {
    const { policy, teacher } = parseLine(z.object({ policy: texts, teacher: texts }), record, line)
    const { original } = scoreOne('co_rewarding_ii', { views: { original: rollouts(policy), teacher: rollouts(teacher) } })
    return { pseudo_label: labelOf(original), rewards: original.rewards, advantages: groupAdvantages(original.rewards) }
  },
}

const supported = `use one of ${Object.keys(OFFLINE).join(', ')}`

function scoreLine(record: unknown, line: number): Record<string, unknown> {
  const { mode } = parseLine(z.object({ mode: z.string() }), record, line)
  const scorer = isRewardModeId(mode) ? OFFLINE[mode] : undefined
  if (scorer) return scorer(record, line)
  if (isRewardModeId(mode))
    throw new LineError(line, 'mode', `${mode} needs token logits and is not offered offline; ${supported}`)
  throw new LineError(line, 'mode', `unknown reward mode "${mode}"; ${supported}`)
}

export function rewardsCommand(): Command {
  return new Command('rewards')
    .description('score question groups offline with a reward mode: rewards, pseudo labels and GRPO advantages (no workspace)')
    .addOption(inputOption())
    .addHelpText(
      'after',
      `
Each input line is one question group:
  {"mode":"ground_truth","responses":[...],"ground_truth":"..."}  -> {"rewards","advantages"}
  {"mode":"majority_voting","responses":[...]}                    -> {"answers","pseudo_label","rewards","advantages"}
  {"mode":"co_rewarding_i","original":[...],"paraphrase":[...]}   -> {"pseudo_label_original","pseudo_label_paraphrase",
      "rewards_original","rewards_paraphrase","advantages_original","advantages_paraphrase"}
  {"mode":"co_rewarding_ii","policy":[...],"teacher":[...]}       -> {"pseudo_label","rewards","advantages"}
pseudo_label_original is the label that scores the original view: the paraphrase rollouts' vote (and vice versa).`,
    )
    .action(async (options: { input: string }) => {
      await mapJsonLines(options.input, scoreLine)
    })
}
