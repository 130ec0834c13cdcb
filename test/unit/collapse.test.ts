import { describe, expect, it } from 'vitest'
import { CollapseWatch, detectCollapse, dropPValue, type CollapseFlag, type MetricSeries } from '../../main/engine/collapse'
import { collapseOptions, RunConfig } from '../../main/engine/run-config'
import { Random } from '../../main/random'

type Rows = [step: number, value: number | null][]

/** Values at consecutive steps from `first`. */
const fromStep = (first: number, values: (number | null)[]): Rows => values.map((value, i) => [first + i, value])
const repeat = (value: number, times: number): number[] => Array<number>(times).fill(value)
/** A training reward rising by 0.01 a step from 0.3 (or falling from 0.9), at steps 1..last. */
const risingReward = (last: number): Rows =>
  fromStep(
    1,
    Array.from({ length: last }, (_, i) => 0.3 + 0.01 * (i + 1)),
  )
const fallingReward = (last: number): Rows =>
  fromStep(
    1,
    Array.from({ length: last }, (_, i) => 0.9 - 0.01 * (i + 1)),
  )
/** Held-out accuracy validated at step 0 and every 10 steps. */
const everyTenSteps = (values: number[]): Rows => values.map((value, i) => [i * 10, value])

const HELD_OUT = 'val-core/math/reward/mean@1'
const REWARD = 'critic/score/mean'
// Smoothed over 3 validations: 0.30 0.34 0.367 0.407 (best, step 30) 0.40 0.353 0.297 (step 60: 0.11 below the best).
const RISE_THEN_FALL = [0.3, 0.38, 0.42, 0.42, 0.36, 0.28, 0.25]

const rulesAndSteps = (flags: CollapseFlag[]): [string, number][] => flags.map((flag) => [flag.rule, flag.step])

/** The series as the trainer would have logged it by the end of `step`. */
const upTo = (series: MetricSeries, step: number): MetricSeries =>
  Object.fromEntries(Object.entries(series).map(([key, rows]) => [key, rows.filter(([s]) => s <= step)]))

describe('held-out accuracy falling while the reward rises (gt_drop_reward_rise)', () => {
  const hacked: MetricSeries = { [HELD_OUT]: everyTenSteps(RISE_THEN_FALL), [REWARD]: risingReward(60) }

  it('is flagged once, at the first step the smoothed drop exceeds the threshold, quoting the numbers', () => {
    expect(detectCollapse(hacked)).toEqual([
      {
        rule: 'gt_drop_reward_rise',
        step: 60,
        message:
          'Held-out accuracy fell from 40.7% (step 30) to 29.7% (step 60) while the training reward kept rising (0.59 -> 0.89): ' +
          'likely reward hacking.',
        detail: expect.objectContaining({ bestStep: 30, validationStep: 60 }) as Record<string, number>,
      },
    ])
  })

  it('stays at the same step when 20 more steps are appended, even if accuracy then recovers and the reward falls', () => {
    const longer: MetricSeries = {
      [HELD_OUT]: [...everyTenSteps(RISE_THEN_FALL), [70, 0.45], [80, 0.5]],
      [REWARD]: [...risingReward(60), ...fromStep(61, repeat(0.4, 20))],
    }
    expect(detectCollapse(longer)).toEqual(detectCollapse(hacked))
  })

  it('is not raised when the reward falls along with the accuracy', () => {
    expect(detectCollapse({ [HELD_OUT]: everyTenSteps(RISE_THEN_FALL), [REWARD]: fallingReward(60) })).toEqual([])
  })

  it('is not raised for a smoothed drop of 9 points under the 10-point threshold, and is at an 8-point threshold', () => {
    // Smoothed: best 0.42 (step 40), then 0.39, 0.36, 0.33 (step 70).
    const series = { [HELD_OUT]: everyTenSteps([0.3, 0.38, 0.42, 0.42, 0.42, 0.33, 0.33, 0.33]), [REWARD]: risingReward(70) }
    expect(detectCollapse(series)).toEqual([])
    expect(rulesAndSteps(detectCollapse(series, { gtDropThreshold: 0.08 }))).toEqual([['gt_drop_reward_rise', 70]])
  })

  it('is not raised by one noisy validation, which fires only with smoothing turned off', () => {
    // The 0.20 at step 50 pulls the 3-validation mean to 0.347, 0.073 below the best of 0.42.
    const series = { [HELD_OUT]: everyTenSteps([0.3, 0.38, 0.42, 0.42, 0.42, 0.2, 0.42]), [REWARD]: risingReward(60) }
    expect(detectCollapse(series)).toEqual([])
    expect(rulesAndSteps(detectCollapse(series, { smoothing: 1 }))).toEqual([['gt_drop_reward_rise', 50]])
  })

  it('averages several held-out benchmarks at each validation step', () => {
    const amc = 'val-core/amc/reward/mean@1'
    const reward = risingReward(20)
    // Means 0.30, 0.50, 0.35: a 15-point drop, though neither benchmark alone says so.
    const [flag] = detectCollapse(
      {
        [HELD_OUT]: [
          [0, 0.4],
          [10, 0.6],
          [20, 0.3],
        ],
        [amc]: [
          [0, 0.2],
          [10, 0.4],
          [20, 0.4],
        ],
        [REWARD]: reward,
      },
      { smoothing: 1 },
    )
    expect(flag?.message).toBe(
      'Held-out accuracy fell from 50.0% (step 10) to 35.0% (step 20) while the training reward kept rising (0.40 -> 0.50): likely reward hacking.',
    )
    // Means 0.30, 0.50, 0.45: math alone fell 30 points, the average only 5.
    const averaged = {
      [HELD_OUT]: [
        [0, 0.4],
        [10, 0.6],
        [20, 0.3],
      ] as Rows,
      [amc]: [
        [0, 0.2],
        [10, 0.4],
        [20, 0.6],
      ] as Rows,
      [REWARD]: reward,
    }
    expect(detectCollapse(averaged, { smoothing: 1 })).toEqual([])
  })
})

describe('response length', () => {
  it('collapsing to 30% of its start fires length_collapse once the smoothed mean is below half', () => {
    // Smoothed: 300 x5, then 230, 160, 90 (step 8).
    const flags = detectCollapse({ 'response_length/mean': fromStep(1, [...repeat(300, 5), ...repeat(90, 15)]) })
    expect(flags).toEqual([
      {
        rule: 'length_collapse',
        step: 8,
        message:
          'Mean response length fell to 90 tokens, 30% of the 300 it started at (limit 50%): ' +
          'the policy may be collapsing onto short consensus answers.',
        detail: { length: 90, startLength: 300, fraction: 0.3 },
      },
    ])
  })

  it('pinned at a 0.9 clip ratio for 5 steps in a row fires length_pinned at the fifth', () => {
    const clipRatio = fromStep(1, [...repeat(0.1, 5), ...repeat(0.9, 5), ...repeat(0.1, 10)])
    expect(detectCollapse({ 'response_length/clip_ratio': clipRatio }, { maxResponseLength: 32 })).toEqual([
      {
        rule: 'length_pinned',
        step: 10,
        message:
          'At least 90% of responses hit the 32-token maximum at each of steps 6-10 (limit 80% for 5 steps in a row): ' +
          'the policy may be running to the maximum, often with repetition.',
        detail: { lowestClipRatio: 0.9, firstStep: 6, steps: 5, maxResponseLength: 32 },
      },
    ])
  })

  it('pinned for only 4 steps in a row does not fire', () => {
    const clipRatio = fromStep(1, [...repeat(0.1, 5), ...repeat(0.9, 4), ...repeat(0.1, 11)])
    expect(detectCollapse({ 'response_length/clip_ratio': clipRatio })).toEqual([])
  })
})

describe('pseudo-label accuracy (pseudo_label_drop)', () => {
  it('falling from 0.7 to 0.3 fires once the smoothed value is more than 10 points below its best', () => {
    // Smoothed: 0.7 x5, then 0.567 (step 6).
    const flags = detectCollapse({ 'coreward/pseudo_acc': fromStep(1, [...repeat(0.7, 5), ...repeat(0.3, 15)]) })
    expect(flags).toEqual([
      {
        rule: 'pseudo_label_drop',
        step: 6,
        message:
          'Pseudo-label accuracy fell from 70.0% (step 1) to 56.7%, more than 10 points below its best: ' +
          'the labels the reward is built from are drifting away from the ground truth.',
        detail: { bestAccuracy: 0.7, bestStep: 1, accuracy: expect.closeTo(0.5667, 4) as number },
      },
    ])
  })

  it('is silent when the run logs no pseudo-label accuracy (ground_truth, self_certainty, entropy)', () => {
    expect(detectCollapse({ [REWARD]: risingReward(30), 'response_length/mean': fromStep(1, repeat(200, 30)) })).toEqual([])
  })

  it('skips missing and NaN values: the logged 0.7, 0.7, 0.7, 0.3, 0.3 reach a 27-point drop, over a 20-point threshold, at step 8', () => {
    const rows: Rows = [
      [1, 0.7],
      [2, null],
      [3, 0.7],
      [4, NaN],
      [5, 0.7],
      [6, 0.3],
      [7, null],
      [8, 0.3],
      [9, 0.3],
    ]
    const [flag] = detectCollapse({ 'coreward/pseudo_acc': rows }, { pseudoDropThreshold: 0.2 })
    expect(flag?.step).toBe(8)
    expect(flag?.message).toContain('fell from 70.0% (step 1) to 43.3%')
  })
})

// Every rule collapses: pseudo labels at step 6, length at 8, clip ratio at 10, held-out accuracy at 60.
const collapsing: MetricSeries = {
  [HELD_OUT]: [...everyTenSteps(RISE_THEN_FALL), [70, 0.45], [80, 0.5]],
  [REWARD]: [...risingReward(60), ...fromStep(61, repeat(0.4, 20))],
  'response_length/mean': fromStep(1, [...repeat(300, 5), ...repeat(90, 75)]),
  'response_length/clip_ratio': fromStep(1, [...repeat(0.1, 5), ...repeat(0.9, 5), ...repeat(0.1, 70)]),
  'coreward/pseudo_acc': fromStep(1, [...repeat(0.7, 5), ...repeat(0.3, 75)]),
}
const allFour: [string, number][] = [
  ['pseudo_label_drop', 6],
  ['length_collapse', 8],
  ['length_pinned', 10],
  ['gt_drop_reward_rise', 60],
]

describe('whole-series detection', () => {
  it('reports each rule once, sorted by step', () => {
    expect(rulesAndSteps(detectCollapse(collapsing))).toEqual(allFour)
  })

  it('never moves or drops a flag as steps are logged: every prefix reports exactly the final flags up to its last step', () => {
    const final = detectCollapse(collapsing)
    for (let step = 0; step <= 80; step++)
      expect(detectCollapse(upTo(collapsing, step))).toEqual(final.filter((flag) => flag.step <= step))
  })

  it('fires nothing before minSteps, even when every rule already holds', () => {
    const early: MetricSeries = {
      [HELD_OUT]: [
        [0, 0.5],
        [2, 0.2],
      ],
      [REWARD]: risingReward(12),
      'response_length/mean': fromStep(1, [300, ...repeat(10, 11)]),
      'response_length/clip_ratio': fromStep(1, repeat(0.9, 12)),
      'coreward/pseudo_acc': fromStep(1, [0.7, ...repeat(0.1, 11)]),
    }
    const flags = detectCollapse(early, { smoothing: 1, minSteps: 8 })
    expect(rulesAndSteps(flags)).toEqual([
      ['gt_drop_reward_rise', 8],
      ['length_collapse', 8],
      ['length_pinned', 8],
      ['pseudo_label_drop', 8],
    ])
  })

  it('rejects a bad option, naming it and what to use, and keeps the default for an undefined one', () => {
    expect(() => detectCollapse({}, { smoothing: 0 })).toThrow(
      'collapse option smoothing: 0 is not valid; use a whole number of logged values, 1 or more',
    )
    expect(() => new CollapseWatch({ lengthCollapseFraction: 1.5 })).toThrow(
      'collapse option lengthCollapseFraction: 1.5 is not valid',
    )
    expect(detectCollapse(collapsing, { smoothing: undefined })).toEqual(detectCollapse(collapsing))
  })
})

describe('CollapseWatch (live, after every step)', () => {
  it('returns each flag once, at the step it is raised, across calls', () => {
    const watch = new CollapseWatch()
    const raisedAt: [string, number][] = []
    for (let step = 0; step <= 80; step++)
      for (const flag of watch.update(upTo(collapsing, step))) raisedAt.push([flag.rule, step])
    expect(raisedAt).toEqual(allFour)
    expect(watch.update(collapsing)).toEqual([])
  })

  it('stays quiet about rules already stored for a resumed run', () => {
    const [stored] = detectCollapse(collapsing)
    const watch = new CollapseWatch({}, [stored!])
    expect(rulesAndSteps(watch.update(collapsing))).toEqual(allFour.slice(1))
  })

  it('once re-armed, reports a second episode judged only on the steps after the re-arm', () => {
    // Pinned at steps 6-10, re-armed at step 12, pinned again at 21-25.
    const clipRatio = fromStep(1, [...repeat(0.1, 5), ...repeat(0.9, 5), ...repeat(0.1, 10), ...repeat(0.95, 5)])
    const series = { 'response_length/clip_ratio': clipRatio }
    const watch = new CollapseWatch()
    expect(rulesAndSteps(watch.update(upTo(series, 12)))).toEqual([['length_pinned', 10]])
    watch.rearm('length_pinned')
    const [second] = watch.update(series)
    expect(second?.step).toBe(25)
    expect(second?.message).toContain('At least 95% of responses hit the maximum length at each of steps 21-25')
    expect(new CollapseWatch().update(series).map((flag) => flag.step)).toEqual([10])
  })

  it('once re-armed, does not report a collapse that merely persists: the starting length is taken afresh', () => {
    const series = { 'response_length/mean': fromStep(1, [...repeat(300, 5), ...repeat(90, 25)]) }
    const watch = new CollapseWatch()
    expect(rulesAndSteps(watch.update(upTo(series, 10)))).toEqual([['length_collapse', 8]])
    watch.rearm('length_collapse')
    expect(watch.update(series)).toEqual([])
  })
})

describe('an accuracy drop beyond sampling error (the significance test)', () => {
  const pseudo = (values: number[]): MetricSeries => ({ 'coreward/pseudo_acc': fromStep(1, values) })

  it('gives the one-sided two-proportion p-value worked by hand', () => {
    // 3/8 -> 2/8: pooled 5/16, standard error sqrt(5/16 * 11/16 * (1/8 + 1/8)) = 0.2318, z = 0.539.
    expect(dropPValue(3 / 8, 8, 2 / 8, 8)).toBeCloseTo(0.2948, 3)
    // 60% -> 40% of 200: pooled 0.5, standard error 0.05, z = 4.
    expect(dropPValue(0.6, 200, 0.4, 200)).toBeCloseTo(3.17e-5, 6)
    expect(dropPValue(0.4, 200, 0.6, 200)).toBeGreaterThan(0.99)
    expect(dropPValue(1, 8, 1, 8)).toBe(1)
  })

  it('with 8 questions per step, 3/8 -> 2/8 is noise: not flagged, though the 12.5-point move passes the threshold', () => {
    const series = pseudo([...repeat(3 / 8, 6), ...repeat(2 / 8, 10)])
    expect(rulesAndSteps(detectCollapse(series, { smoothing: 1 }))).toEqual([['pseudo_label_drop', 7]])
    expect(detectCollapse(series, { smoothing: 1, pseudoLabelQuestions: 8 })).toEqual([])
  })

  it('with 200 questions per step, 60% -> 40% is flagged at the first step it happens, quoting the test', () => {
    const flags = detectCollapse(pseudo([...repeat(0.6, 6), ...repeat(0.4, 10)]), { smoothing: 1, pseudoLabelQuestions: 200 })
    expect(flags).toEqual([
      {
        rule: 'pseudo_label_drop',
        step: 7,
        message:
          'Pseudo-label accuracy fell from 60.0% (step 1) to 40.0%, more than 10 points below its best (beyond sampling error: ' +
          'one-sided two-proportion test over 200 and 200 questions, p = 3.2e-5 < 8.9e-5): ' +
          'the labels the reward is built from are drifting away from the ground truth.',
        detail: {
          bestAccuracy: 0.6,
          bestStep: 1,
          accuracy: 0.4,
          questionsAtBest: 200,
          questions: 200,
          pValue: expect.closeTo(3.17e-5, 6) as number,
          // 0.05 / (pi^2 / 6 * 1 * 7^3): the seventh comparison of the run.
          level: expect.closeTo(8.86e-5, 6) as number,
        },
      },
    ])
  })

  it('pools the questions of the smoothed steps: 50% (step 1, 8 questions) -> 0% (3 steps, 24 questions) is flagged', () => {
    const series = pseudo([...repeat(0.5, 6), ...repeat(0, 10)])
    const [flag] = detectCollapse(series, { pseudoLabelQuestions: 8 })
    expect(flag).toMatchObject({ step: 9, detail: { bestStep: 1, accuracy: 0, questionsAtBest: 8, questions: 24 } })
    expect(detectCollapse(series, { pseudoLabelQuestions: 8, significance: 1 })).toEqual(detectCollapse(series))
  })

  it('counts the held-out questions once however many validations are smoothed (they are the same questions)', () => {
    const hacked: MetricSeries = { [HELD_OUT]: everyTenSteps(RISE_THEN_FALL), [REWARD]: risingReward(60) }
    // 40.7% -> 29.7% is p = 0.05 over 100 questions: within sampling error this late in the run.
    expect(detectCollapse(hacked, { heldOutQuestions: 100 })).toEqual([])
    const [flag] = detectCollapse(hacked, { heldOutQuestions: 10000 })
    expect(flag).toMatchObject({ rule: 'gt_drop_reward_rise', step: 60, detail: { questionsAtBest: 10000, questions: 10000 } })
    expect(flag?.message).toContain(
      '(step 60) (beyond sampling error: one-sided two-proportion test over 10000 and 10000 questions',
    )
  })

  it('flags a run whose accuracy never changes about as rarely as the significance level', () => {
    // 400 seeded runs of 100 steps, 8 questions a step at a steady 40%, under the default options.
    const random = new Random(7)
    let flagged = 0
    for (let run = 0; run < 400; run++) {
      const values = Array.from(
        { length: 100 },
        () => Array.from({ length: 8 }, () => random.next() < 0.4).filter(Boolean).length / 8,
      )
      if (detectCollapse(pseudo(values), { pseudoLabelQuestions: 8 }).length > 0) flagged++
    }
    expect(flagged / 400).toBeLessThanOrEqual(0.05)
    // Without the test, the threshold alone flags nearly every such run.
    const thresholdOnly = Array.from({ length: 20 }, () =>
      detectCollapse(
        pseudo(
          Array.from({ length: 100 }, () => Array.from({ length: 8 }, () => random.next() < 0.4).filter(Boolean).length / 8),
        ),
      ),
    )
    expect(thresholdOnly.filter((flags) => flags.length > 0).length).toBeGreaterThanOrEqual(18)
  })

  it('takes its question counts from the run config: batch_size per step, the validation questions the split has', () => {
    const config = RunConfig.parse({ name: 'x', mode: 'majority_voting', batch_size: 8, validation: { questions: 200 } })
    expect(collapseOptions(config, 150)).toMatchObject({ pseudoLabelQuestions: 8, heldOutQuestions: 150, significance: 0.05 })
    expect(collapseOptions(config)).toMatchObject({ heldOutQuestions: 200 })
  })
})
