// The paper's ablations as run config keys: cross_view (Co-rewarding-I with each view scored by its own vote) and
// question_view (a single-view mode on the rephrased questions only), worked by hand on small groups.
import { describe, expect, it } from 'vitest'
import { extractAnswer } from '../../main/engine/answers/extract'
import { rewardMode, scoreStep } from '../../main/engine/rewards'
import { auditStep } from '../../main/engine/rewards/shared/audit'
import type { QuestionGroup, Rollout } from '../../main/engine/rewards/shared/types'
import { crossView, defaultRunConfig, parseRunConfig, promptsParaphrases } from '../../main/engine/run-config'

const boxed = (answers: (string | null)[]): Rollout[] =>
  answers.map((answer) => {
    const text = answer === null ? 'I give up.' : `so \\boxed{${answer}}`
    return { text, answer: extractAnswer(text) }
  })

// Original view votes 1 (two of three answers), the paraphrase view votes 2 (three of four).
const group: QuestionGroup = {
  views: { original: boxed(['1', '1', '2', null]), paraphrase: boxed(['2', '2', '1', '2']) },
  groundTruth: '1',
}

describe('Co-rewarding-I with cross_view', () => {
  it("true (the default, the reference): each view is rewarded for matching the other view's vote", () => {
    for (const options of [{}, { crossView: true }]) {
      const [score] = scoreStep(rewardMode('co_rewarding_i'), [group], options)
      expect(score!.original).toMatchObject({ rewards: [0, 0, 1, 0], vote: { label: '2' } })
      expect(score!.paraphrase).toMatchObject({ rewards: [0, 0, 1, 0], vote: { label: '1' } })
    }
  })

  it('false: each view is rewarded for matching its own vote, as majority voting does view by view', () => {
    const [score] = scoreStep(rewardMode('co_rewarding_i'), [group], { crossView: false })
    expect(score!.original).toMatchObject({ rewards: [1, 1, 0, 0], vote: { label: '1' } })
    expect(score!.paraphrase).toMatchObject({ rewards: [1, 1, 0, 1], vote: { label: '2' } })
    const [own] = scoreStep(rewardMode('majority_voting'), [{ views: { original: group.views.paraphrase! } }])
    expect(score!.paraphrase!.rewards).toEqual(own!.original.rewards)
  })

  it("audits the label that scored the original view: the paraphrase's vote, or under cross_view false its own", () => {
    const mode = rewardMode('co_rewarding_i')
    const pseudoAccuracy = (options: { crossView: boolean }) =>
      auditStep(mode, [group], scoreStep(mode, [group], options), options)['coreward/pseudo_acc']
    expect(pseudoAccuracy({ crossView: true })).toBe(0)
    expect(pseudoAccuracy({ crossView: false })).toBe(1)
  })

  it('leaves the single-view modes as they were', () => {
    const single = { views: { original: group.views.original } }
    for (const id of ['majority_voting', 'ground_truth']) {
      const groups = [{ ...single, groundTruth: '1' }]
      expect(scoreStep(rewardMode(id), groups, { crossView: false })).toEqual(scoreStep(rewardMode(id), groups))
    }
  })
})

describe('the ablation keys in the run config', () => {
  it('default to the method: the original question, cross-view scoring for Co-rewarding-I only', () => {
    const mv = parseRunConfig({ name: 'x', mode: 'majority_voting' }, 'run.json')
    expect(mv.question_view).toBe('original')
    expect(promptsParaphrases(mv)).toBe(false)
    expect(defaultRunConfig('co_rewarding_i').cross_view).toBe(true)
    expect(defaultRunConfig('majority_voting')).not.toHaveProperty('cross_view')
    expect(crossView(parseRunConfig({ name: 'x', mode: 'co_rewarding_i' }, 'run.json'))).toBe(true)
    expect(crossView(parseRunConfig({ name: 'x', mode: 'co_rewarding_i', cross_view: false }, 'run.json'))).toBe(false)
  })

  it('take question_view "paraphrase" on any single-view mode, which then prompts with paraphrases', () => {
    for (const mode of ['ground_truth', 'majority_voting', 'self_certainty', 'entropy']) {
      const config = parseRunConfig({ name: 'x', mode, question_view: 'paraphrase' }, 'run.json')
      expect(promptsParaphrases(config)).toBe(true)
    }
  })

  it('refuse the combinations that mean nothing, saying why and what to do', () => {
    expect(() => parseRunConfig({ name: 'x', mode: 'majority_voting', cross_view: false }, 'run.json')).toThrow(
      /^run\.json: cross_view: mode majority_voting has one view, .*applies to co_rewarding_i only: remove it$/,
    )
    expect(() => parseRunConfig({ name: 'x', mode: 'co_rewarding_ii', cross_view: true }, 'run.json')).toThrow(/cross_view/)
    expect(() => parseRunConfig({ name: 'x', mode: 'co_rewarding_i', question_view: 'paraphrase' }, 'run.json')).toThrow(
      /^run\.json: question_view: .*co_rewarding_i already rolls out paraphrase rollouts .*: use question_view "original"$/,
    )
    expect(() => parseRunConfig({ name: 'x', mode: 'co_rewarding_ii', question_view: 'paraphrase' }, 'run.json')).toThrow(
      /set ema\.teacher_view "paraphrase"/,
    )
    expect(() => parseRunConfig({ name: 'x', mode: 'majority_voting', question_view: 'rewrite' }, 'run.json')).toThrow(
      /^run\.json: question_view: /,
    )
  })
})
