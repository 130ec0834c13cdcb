import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { extractAnswer } from '../../main/engine/answers/extract'
import { groupAdvantages } from '../../main/engine/grpo/advantages'
import { auditStep } from '../../main/engine/rewards/shared/audit'
import { rewardMode, rewardModeIds, scoreStep } from '../../main/engine/rewards'
import { maskedMean } from '../../main/engine/rewards/shared/token-stat-mode'
import type { GroupScore, QuestionGroup, RewardMode, Rollout } from '../../main/engine/rewards/shared/types'
import { sharedData } from '../helpers/shared-data'

const groupExamples = join(sharedData, 'conformance', 'group_examples.jsonl')

const rollouts = (texts: string[]): Rollout[] => texts.map((text) => ({ text, answer: extractAnswer(text) }))
const boxed = (answers: (string | null)[]): Rollout[] =>
  rollouts(answers.map((answer) => (answer === null ? 'I give up.' : `... so \\boxed{${answer}}.`)))
const score = (id: string, groups: QuestionGroup[]) => scoreStep(rewardMode(id), groups)
const scoreOne = (id: string, group: QuestionGroup): GroupScore => score(id, [group])[0]!
const audit = (id: string, groups: QuestionGroup[]) => auditStep(rewardMode(id), groups, score(id, groups))

function expectClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length)
  actual.forEach((value, i) =>
    expect(Math.abs(value - expected[i]!), `item ${i}: ${value} vs ${expected[i]}`).toBeLessThan(1e-12),
  )
}

interface GroupExample {
  mode: string
  responses?: string[]
  ground_truth?: string
  original?: string[]
  paraphrase?: string[]
  policy?: string[]
  teacher?: string[]
  expected: Record<string, (string | number)[] | string>
}

describe('the reward modes on the conformance examples', () => {
  it.skipIf(!existsSync(groupExamples))(
    `score every group as the reference did (reads ${groupExamples}; skipped when absent)`,
    () => {
      const examples = readFileSync(groupExamples, 'utf8')
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as GroupExample)
      expect(new Set(examples.map((example) => example.mode))).toEqual(
        new Set(['ground_truth', 'majority_voting', 'co_rewarding_i', 'co_rewarding_ii']),
      )
      for (const example of examples) {
        const { expected } = example
        const numbers = (key: string) => expected[key] as number[]
        if (example.mode === 'co_rewarding_i') {
          const group = { views: { original: rollouts(example.original!), paraphrase: rollouts(example.paraphrase!) } }
          const { original, paraphrase } = scoreOne('co_rewarding_i', group)
          expect(original.vote?.label).toBe(expected.pseudo_label_original)
          expect(paraphrase?.vote?.label).toBe(expected.pseudo_label_paraphrase)
          expect(original.rewards).toEqual(numbers('rewards_original'))
          expect(paraphrase?.rewards).toEqual(numbers('rewards_paraphrase'))
          expectClose(groupAdvantages(original.rewards), numbers('advantages_original'))
          expectClose(groupAdvantages(paraphrase?.rewards ?? []), numbers('advantages_paraphrase'))
          continue
        }
        const group =
          example.mode === 'co_rewarding_ii'
            ? { views: { original: rollouts(example.policy!), teacher: rollouts(example.teacher!) } }
            : { views: { original: rollouts(example.responses!) }, groundTruth: example.ground_truth }
        const { original } = scoreOne(example.mode, group)
        expect(original.rewards).toEqual(numbers('rewards'))
        expectClose(groupAdvantages(original.rewards), numbers('advantages'))
        if (example.mode !== 'ground_truth') expect(original.vote?.label).toBe(expected.pseudo_label)
        if (example.mode === 'majority_voting')
          expect(group.views.original.map(({ answer }) => answer ?? '')).toEqual(expected.answers)
      }
    },
  )
})

describe('the reward-mode registry', () => {
  it('holds the six modes, each under its own id', () => {
    expect(rewardModeIds()).toEqual([
      'ground_truth',
      'majority_voting',
      'self_certainty',
      'entropy',
      'co_rewarding_i',
      'co_rewarding_ii',
    ])
    for (const id of rewardModeIds()) expect(rewardMode(id).id).toBe(id)
  })

  it('refuses a step whose questions lack a view the mode needs', () => {
    expect(() => score('co_rewarding_i', [{ views: { original: boxed(['1']) } }])).toThrow(
      'co_rewarding_i needs the paraphrase rollouts of every question; question 1 of the step has none',
    )
    expect(() => score('co_rewarding_ii', [{ views: { original: boxed(['1']), paraphrase: boxed(['1']) } }])).toThrow(/teacher/)
  })

  it('hands ground truths only to modes that declare they use them', () => {
    const seen: (string | undefined)[] = []
    const recording = (usesGroundTruth: boolean): RewardMode => ({
      id: 'recording',
      label: 'Recording',
      description: 'Records the ground truths it is handed.',
      colour: '#000000',
      klCoef: 0.001,
      binary: true,
      extraViews: [],
      needsTokenStats: false,
      usesGroundTruth,
      score: (groups) => groups.map((group) => (seen.push(group.groundTruth), { original: { rewards: [] } })),
    })
    const groups = [{ views: { original: boxed(['1']) }, groundTruth: '1' }]
    scoreStep(recording(false), groups)
    scoreStep(recording(true), groups)
    expect(seen).toEqual([undefined, '1'])
  })
})

describe('binary reward modes', () => {
  const original = boxed(['3', '3', '4', '3'])
  const paraphrase = boxed(['4', '4', '3', null])

  it('ground_truth rewards GT-equivalent answers', () => {
    const { original: scored } = scoreOne('ground_truth', {
      views: { original: boxed(['0.5', '1/2', '2/4', null]) },
      groundTruth: '\\frac12',
    })
    expect(scored.rewards).toEqual([1, 1, 0, 0])
  })

  it('ground_truth refuses a question without a ground truth', () => {
    expect(() => score('ground_truth', [{ views: { original } }])).toThrow(/question 1 of the step has no ground truth/)
  })

  it('majority_voting rewards agreement with the group’s own vote', () => {
    const { original: scored } = scoreOne('majority_voting', { views: { original } })
    expect(scored.vote).toEqual({ label: '3', count: 3, total: 4 })
    expect(scored.rewards).toEqual([1, 1, 0, 1])
  })

  it('co_rewarding_i scores each view against the other view’s vote', () => {
    const scored = scoreOne('co_rewarding_i', { views: { original, paraphrase } })
    expect(scored.original.vote?.label).toBe('4')
    expect(scored.original.rewards).toEqual([0, 0, 1, 0])
    expect(scored.paraphrase?.vote?.label).toBe('3')
    expect(scored.paraphrase?.rewards).toEqual([0, 0, 1, 0])
  })

  it('co_rewarding_ii scores the policy against the teacher’s vote and trains the policy view only', () => {
    const scored = scoreOne('co_rewarding_ii', { views: { original, teacher: boxed(['4', null, null, '5']) } })
    expect(scored.original.vote).toEqual({ label: '4', count: 1, total: 4 })
    expect(scored.original.rewards).toEqual([0, 0, 1, 0])
    expect(scored.paraphrase).toBeUndefined()
  })

  it('give every rollout 0 when the scoring vote is empty', () => {
    const scored = scoreOne('co_rewarding_ii', { views: { original, teacher: boxed([null, null]) } })
    expect(scored.original.rewards).toEqual([0, 0, 0, 0])
  })

  it('can vote by GT equivalence when asked', () => {
    const group = { views: { original: boxed(['0.5', '\\frac{1}{2}', '2', '2', '\\frac12']) } }
    const exact = scoreStep(rewardMode('majority_voting'), [group])[0]!.original
    const normalised = scoreStep(rewardMode('majority_voting'), [group], { voting: { normalised: true } })[0]!.original
    expect(exact.rewards).toEqual([0, 0, 1, 1, 0])
    expect(normalised.rewards).toEqual([1, 1, 0, 0, 1])
  })

  it('never let ground truths change a self-reward', () => {
    const views = { original, paraphrase, teacher: boxed(['4', '4', '3', '3']) }
    for (const id of ['majority_voting', 'co_rewarding_i', 'co_rewarding_ii'] as const) {
      const rewards = (groundTruth: string) =>
        score(id, [{ views, groundTruth }]).map((s) => [s.original.rewards, s.paraphrase?.rewards])
      expect(rewards('3'), id).toEqual(rewards('4'))
      expect(rewards('3'), id).toEqual(rewards('no such answer'))
    }
  })
})

describe('ties in the vote', () => {
  // GRPO's advantage by hand: (r - mean) / (unbiased std + 1e-6).
  const byHand = (rewards: number[]): number[] => {
    const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length
    const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / (rewards.length - 1))
    return rewards.map((r) => (r - mean) / (std + 1e-6))
  }
  const step = [
    // 1-1-1-1: four answers with one vote each, a tie; the first, 1, is the label
    { views: { original: boxed(['1', '2', '3', '4']) } },
    // 3-1: 5 wins outright
    { views: { original: boxed(['5', '5', '7', '5']) } },
    // 2-2: 8 and 7 tie; 8 came first
    { views: { original: boxed(['8', '7', '7', '8']) } },
    // no answer at all: an empty label, not a tie
    { views: { original: boxed([null, null, null, null]) } },
  ]

  it('mark the tied answers, the label first, and leave rewards and advantages as the tie-break gives them', () => {
    const scores = score('majority_voting', step)
    expect(scores.map(({ original }) => original.tie)).toEqual([['1', '2', '3', '4'], undefined, ['8', '7'], undefined])
    expect(scores.map(({ original }) => original.vote?.label)).toEqual(['1', '5', '8', ''])
    const rewards = [
      [1, 0, 0, 0],
      [1, 1, 0, 1],
      [1, 0, 0, 1],
      [0, 0, 0, 0],
    ]
    expect(scores.map(({ original }) => original.rewards)).toEqual(rewards)
    scores.forEach(({ original }, i) =>
      expectClose(groupAdvantages(original.rewards), i === 3 ? [0, 0, 0, 0] : byHand(rewards[i]!)),
    )
  })

  it('count as coreward/tie_rate: the share of the step’s groups whose label the tie-break chose', () => {
    expect(audit('majority_voting', step)['coreward/tie_rate']).toBe(2 / 4)
    expect(audit('majority_voting', [step[1]!])['coreward/tie_rate']).toBe(0)
    expect(audit('majority_voting', [step[0]!, step[2]!])['coreward/tie_rate']).toBe(1)
    // The empty group counts, as not tied.
    expect(audit('majority_voting', [step[3]!])['coreward/tie_rate']).toBe(0)
  })

  it('are read from the vote that scored each view: the other view (Co-rewarding-I), the teacher (Co-rewarding-II)', () => {
    const coI = scoreOne('co_rewarding_i', {
      views: { original: boxed(['3', '3', '3', '4']), paraphrase: boxed(['4', '3', '3', '4']) },
    })
    expect(coI.original.tie).toEqual(['4', '3'])
    expect(coI.original.rewards).toEqual([0, 0, 0, 1])
    expect(coI.paraphrase?.tie).toBeUndefined()
    expect(coI.paraphrase?.rewards).toEqual([0, 1, 1, 0])
    const coII = { views: { original: boxed(['6', '9', '6', '6']), teacher: boxed(['9', null, '6', null]) } }
    expect(scoreOne('co_rewarding_ii', coII).original.tie).toEqual(['9', '6'])
    expect(scoreOne('co_rewarding_ii', coII).original.rewards).toEqual([0, 1, 0, 0])
    expect(audit('co_rewarding_ii', [coII])['coreward/tie_rate']).toBe(1)
  })

  it('follow normalised voting when it is on: 0.5 and \\frac{1}{2} are one answer there', () => {
    const normalised = (original: Rollout[]) =>
      scoreStep(rewardMode('majority_voting'), [{ views: { original } }], { voting: { normalised: true } })[0]!.original
    // Exact: 2 wins 2-1-1. Normalised: 0.5 (with \frac{1}{2}) and 2 tie 2-2, and 0.5 came first.
    const split = boxed(['0.5', '2', '\\frac{1}{2}', '2'])
    expect(scoreOne('majority_voting', { views: { original: split } }).original.tie).toBeUndefined()
    expect(normalised(split).tie).toEqual(['0.5', '2'])
    expect(normalised(split).rewards).toEqual([1, 0, 1, 0])
    // Exact: a 1-1-1-1 tie. Normalised: 0.5 wins 3-1.
    const merged = boxed(['0.5', '2', '\\frac{1}{2}', '\\frac12'])
    expect(scoreOne('majority_voting', { views: { original: merged } }).original.tie).toEqual([
      '0.5',
      '2',
      '\\frac{1}{2}',
      '\\frac12',
    ])
    expect(normalised(merged).tie).toBeUndefined()
  })
})

describe('token-statistic reward modes', () => {
  const withTokens = (selfCertainty: number[], entropy: number[], mask: number[]): Rollout => ({
    text: '',
    answer: null,
    tokens: { selfCertainty, entropy, mask },
  })

  it('average over response tokens only, ignoring padding', () => {
    expect(maskedMean([2, 4, 100], [1, 1, 0])).toBe(3)
    expect(maskedMean(new Float32Array([1, 2, 3, 4]), [1, 1, 1, 1])).toBe(2.5)
  })

  it('score an empty response 0', () => {
    expect(maskedMean([5, 5], [0, 0])).toBe(0)
  })

  it('self_certainty is the masked mean of logsumexp - mean logits', () => {
    const group = {
      views: { original: [withTokens([2, 4, 100], [0, 0, 0], [1, 1, 0]), withTokens([1, 1, 1], [0, 0, 0], [1, 1, 1])] },
    }
    expect(scoreOne('self_certainty', group).original.rewards).toEqual([3, 1])
  })

  it('entropy is minus the masked mean token entropy', () => {
    const group = { views: { original: [withTokens([0], [0.5, 1.5, 9], [1, 1, 0])] } }
    expect(scoreOne('entropy', group).original.rewards).toEqual([-1])
  })

  it('refuse rollouts without token statistics', () => {
    expect(() => score('entropy', [{ views: { original: boxed(['1']) } }])).toThrow(/entropy needs the token statistics/)
  })
})

describe('the audit metrics', () => {
  it('majority_voting: hand-worked over three questions', () => {
    const metrics = audit('majority_voting', [
      // vote 4 (2 of 4), rewards 1100, GT rewards 1100
      { views: { original: boxed(['4', '4', '5', null]) }, groundTruth: '4' },
      // vote 0.5 (2 of 4), rewards 1100, GT rewards 1110: the label is GT-equivalent but not the same string
      { views: { original: boxed(['0.5', '0.5', '\\frac{1}{2}', '3']) }, groundTruth: '\\frac{1}{2}' },
      // empty vote, rewards 0000 (zero std), GT rewards 0000
      { views: { original: boxed([null, null, null, null]) }, groundTruth: '7' },
    ])
    expect(metrics).toEqual({
      'critic/score/zero_std_frac': 1 / 3,
      'coreward/majority_ratio': (0.5 + 0.5 + 0) / 3,
      'coreward/tie_rate': 0,
      'coreward/pseudo_nonempty_rate': 2 / 3,
      'coreward/pass_acc': 4 / 8,
      'coreward/pseudo_policy_acc': 1 / 3,
      'coreward/pseudo_acc': 1 / 3,
      'coreward/pseudo_acc_equiv': 2 / 3,
      'coreward/reward_acc': 11 / 12,
    })
  })

  it('co_rewarding_i: the scoring label of the original view is the paraphrase vote', () => {
    const metrics = audit('co_rewarding_i', [
      { views: { original: boxed(['3', '3', '4', '3']), paraphrase: boxed(['4', '4', '3', null]) }, groundTruth: '3' },
    ])
    expect(metrics).toEqual({
      'critic/score/zero_std_frac': 0,
      'coreward/majority_ratio': 2 / 4,
      'coreward/tie_rate': 0,
      'coreward/pseudo_nonempty_rate': 1,
      'coreward/pass_acc': 1 / 4,
      'coreward/pseudo_policy_acc': 1,
      'coreward/pseudo_acc': 0,
      'coreward/pseudo_acc_equiv': 0,
      'coreward/reward_acc': 0,
    })
  })

  it('co_rewarding_ii: the scoring label is the teacher’s vote; the policy’s own vote is audited apart', () => {
    const metrics = audit('co_rewarding_ii', [
      { views: { original: boxed(['6', '6', '9', '6']), teacher: boxed(['9', '9', '6', '9']) }, groundTruth: '9' },
    ])
    expect(metrics).toEqual({
      'critic/score/zero_std_frac': 0,
      'coreward/majority_ratio': 3 / 4,
      'coreward/tie_rate': 0,
      'coreward/pseudo_nonempty_rate': 1,
      'coreward/pass_acc': 1 / 4,
      'coreward/pseudo_policy_acc': 0,
      'coreward/pseudo_acc': 1,
      'coreward/pseudo_acc_equiv': 1,
      'coreward/reward_acc': 1,
    })
  })

  it('pass_acc is 0, not a division by zero, when no label is non-empty', () => {
    const metrics = audit('majority_voting', [{ views: { original: boxed([null, null]) } }])
    expect(metrics['coreward/pass_acc']).toBe(0)
    expect(metrics['coreward/pseudo_nonempty_rate']).toBe(0)
  })

  it('leaves out the GT keys when no question has a ground truth', () => {
    expect(Object.keys(audit('majority_voting', [{ views: { original: boxed(['1', '2']) } }])).sort()).toEqual([
      'coreward/majority_ratio',
      'coreward/pass_acc',
      'coreward/pseudo_nonempty_rate',
      'coreward/tie_rate',
      'critic/score/zero_std_frac',
    ])
  })

  it('ground_truth and token modes have no pseudo label: only the policy vote and zero-std share', () => {
    const groups = [{ views: { original: boxed(['2', '2', '1']) }, groundTruth: '2' }]
    expect(audit('ground_truth', groups)).toEqual({ 'critic/score/zero_std_frac': 0, 'coreward/pseudo_policy_acc': 1 })
    const flat = { text: '', answer: '2', tokens: { selfCertainty: [1], entropy: [1], mask: [1] } }
    expect(audit('entropy', [{ views: { original: [flat, flat] }, groundTruth: '3' }])).toEqual({
      'critic/score/zero_std_frac': 1,
      'coreward/pseudo_policy_acc': 0,
    })
  })
})
