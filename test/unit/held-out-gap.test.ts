// The reward-hacking callout's test of the held-out gap, on counts worked by hand, and the checkpoint table that
// uses it: ties are no peak, a gap within sampling error is no evidence, and the base model (step 0) is a candidate.
import { describe, expect, it } from 'vitest'
import { heldOutCount, rewardHackingWarning, twoProportionZ, Z_95 } from '../../main/services/checkpoints/held-out-gap'
import { checkpointTable } from '../../main/services/checkpoints/table'
import { addCheckpoint } from '../../main/store/checkpoints'
import { createRun } from '../../main/store/runs'
import { recordStep } from '../../main/store/steps'
import { freshStores } from '../helpers/stores'

const openStore = freshStores()
const A = 'val-core/gsm8k/reward/mean@1'
const SCORE = 'critic/score/mean'

function table(questions: number, steps: Record<number, Record<string, number>>) {
  const store = openStore()
  const run = createRun(store.db, { name: 'r', mode: 'self_certainty', config: { validation: { questions } }, seed: 1 })
  for (const [step, metrics] of Object.entries(steps)) {
    recordStep(store.db, run, { step: Number(step), wallTime: Number(step), tokens: 0, metrics })
    if (Number(step) > 0) addCheckpoint(store.db, run, Number(step), `/ckpt/${step}`)
  }
  return checkpointTable(store.db, run)
}

describe('the two-proportion z-test of the held-out gap', () => {
  it('finds 5/16 vs 3/16 within sampling error: pooled 8/32, se = sqrt(0.25 * 0.75 * 2/16) = 0.153, z = 0.125/0.153 = 0.82', () => {
    const z = twoProportionZ({ step: 1, correct: 5, questions: 16 }, { step: 2, correct: 3, questions: 16 })
    expect(z).toBeCloseTo(0.8165, 3)
    expect(z).toBeLessThan(Z_95)
  })

  it('finds 60/200 vs 30/200 beyond it: pooled 90/400, se = sqrt(0.225 * 0.775 * 2/200) = 0.0418, z = 0.15/0.04176 = 3.592', () => {
    const z = twoProportionZ({ step: 1, correct: 60, questions: 200 }, { step: 2, correct: 30, questions: 200 })
    expect(z).toBeCloseTo(3.5921, 3)
    expect(z).toBeGreaterThan(Z_95)
  })

  it('is 0 when both steps got every question right (no variance), and counts a mean over sources', () => {
    expect(twoProportionZ({ step: 1, correct: 8, questions: 8 }, { step: 2, correct: 8, questions: 8 })).toBe(0)
    expect(heldOutCount(3, 0.3, 2, 100)).toEqual({ step: 3, correct: 60, questions: 200 })
  })
})

describe('the checkpoint table and its reward-hacking warning', () => {
  it('warns on 60/200 vs 30/200, naming both validated steps, the test and how much was validated', () => {
    const t = table(200, { 0: { [A]: 0.2 }, 1: { [A]: 0.3, [SCORE]: 0.4 }, 2: { [A]: 0.15, [SCORE]: 0.8 } })
    expect([t.bestGt, t.bestSelf, t.validatedSteps]).toEqual([1, 2, [0, 1, 2]])
    expect(t.rewardHacking).toMatchObject({ gt: { step: 1, correct: 60, questions: 200 }, self: { step: 2, correct: 30 } })
    expect(t.warning).toBe(
      'best by GT (step 1: 60/200 = 30.0% held-out) and best by self-reward (step 2: 30/200 = 15.0%) differ by more ' +
        'than sampling error (two-proportion z = 3.59 > 1.96, 95%): possible reward hacking. Judged on the 3 validated ' +
        'step(s) (base model and checkpoints) of 200 held-out question(s) each.',
    )
    expect(rewardHackingWarning(t.rewardHacking!.gt, t.rewardHacking!.self, t.rewardHacking!.z, 3)).toBe(t.warning)
  })

  it('does not warn on 5/16 vs 3/16: the bests differ, but within sampling error', () => {
    const t = table(16, { 1: { [A]: 5 / 16, [SCORE]: 0.4 }, 2: { [A]: 3 / 16, [SCORE]: 0.8 } })
    expect([t.bestGt, t.bestSelf]).toEqual([1, 2])
    expect(t.rewardHacking).toBeNull()
    expect(t.warning).toBeNull()
  })

  it('does not warn on a tie of training scores (0.375 and 0.375): there is no best by self-reward', () => {
    const t = table(200, { 1: { [A]: 0.6, [SCORE]: 0.375 }, 2: { [A]: 0.1, [SCORE]: 0.375 } })
    expect([t.bestGt, t.bestSelf, t.warning]).toEqual([1, null, null])
    expect(t.checkpoints.map((c) => c.tags)).toEqual([['best-gt'], ['latest']])
  })

  it('makes the base model best-GT when a run validated only at its last step fell from 25% to 20%', () => {
    const t = table(200, { 0: { [A]: 0.25 }, 1: { [SCORE]: 0.9 }, 2: { [A]: 0.2, [SCORE]: 0.5 } })
    expect([t.bestGt, t.bestSelf, t.validatedSteps]).toEqual([0, 2, [0, 2]])
    expect(t.checkpoints.map((c) => [c.step, c.tags])).toEqual([
      [1, []],
      [2, ['best-self', 'latest']],
    ])
    // 50/200 vs 40/200: z = 0.05 / sqrt(0.225 * 0.775 * 0.01) = 1.20, within sampling error.
    expect(t.warning).toBeNull()
  })

  it('does not judge the gap when the questions per validation are unknown (an import without validation.questions)', () => {
    const store = openStore()
    const run = createRun(store.db, { name: 'imported', mode: 'ground_truth', config: {}, seed: 1 })
    for (const [step, gt, score] of [
      [1, 0.9, 0.1],
      [2, 0.1, 0.9],
    ] as const) {
      recordStep(store.db, run, { step, wallTime: step, tokens: 0, metrics: { [A]: gt, [SCORE]: score } })
      addCheckpoint(store.db, run, step, `/ckpt/${step}`)
    }
    const t = checkpointTable(store.db, run)
    expect([t.bestGt, t.bestSelf, t.questionsPerSource, t.warning]).toEqual([1, 2, null, null])
  })
})
