// The Compare view's and rollout viewer's reads through the real host dispatch (validation, defaults, errors) over
// a real run store, checked against numbers worked out by hand.
import { dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Reply, Result } from '../../preload/contract'
import { WorkbenchHost } from '../../main/services/workbench'
import { createDataset } from '../../main/data/datasets'
import { addEvent } from '../../main/store/events'
import { createRun, type NewRun } from '../../main/store/runs'
import { type SampleRow } from '../../main/store/samples'
import { recordStep } from '../../main/store/steps'
import type { Store } from '../../main/store/store'
import { freshStores } from '../helpers/stores'

const openStore = freshStores()

const SCORE = 'critic/score/mean'
const DEMO = 'val-core/demo/reward/mean@1'
const OTHER = 'val-core/other/reward/mean@1'
const KL = 'actor/kl_loss'

const config = (name: string, mode: NewRun['mode'], seed: number, extra: Record<string, unknown>): Record<string, unknown> => ({
  name,
  mode,
  seed,
  ...extra,
  voting: { normalised: false },
  steps: 4,
})

/** Logs one metric dict per step; a run's tokens and wall time grow by fixed amounts a step. */
function logSteps(
  store: Store,
  run: number,
  rate: { tokens: number; wall: number },
  steps: Record<number, Record<string, number>>,
): void {
  for (const [step, metrics] of Object.entries(steps).map(([s, m]) => [Number(s), m] as const)) {
    recordStep(store.db, run, { step, tokens: step * rate.tokens, wallTime: step * rate.wall, metrics })
  }
}

const samples = (groupIndex: number, recordId: number | null, view: SampleRow['view'], answers: string[]): SampleRow[] =>
  answers.map((answer, i) => ({
    recordId,
    groupIndex,
    view,
    prompt: `${view} prompt of group ${groupIndex}`,
    text: `rollout ${i}: \\boxed{${answer}}`,
    answer,
    pseudoLabel: view === 'original' ? '5' : null,
    reward: i % 2,
    advantage: i % 2 === 0 ? -0.5 : 0.5,
  }))

/** Four runs: two Co-rewarding-I seeds, one majority-voting run and one imported verl run that collapses. */
function workspace() {
  const store = openStore()
  const dataset = createDataset(store.db, {
    name: 'arith',
    records: [
      { question: 'What is 2 + 3?', answer: '5' },
      { question: 'What is 4 * 4?', answer: ' ' },
    ],
  })
  const [sum, square] = (
    store.db.prepare('SELECT id FROM records WHERE dataset_id = ? ORDER BY position').all(dataset.id) as { id: number }[]
  ).map((r) => r.id) as [number, number]
  const co1 = createRun(store.db, {
    name: 'co-1',
    mode: 'co_rewarding_i',
    seed: 1,
    config: config('co-1', 'co_rewarding_i', 1, { learning_rate: 0.0001, kl: { coef: 0.1 } }),
  })
  const co2 = createRun(store.db, {
    name: 'co-2',
    mode: 'co_rewarding_i',
    seed: 2,
    config: config('co-2', 'co_rewarding_i', 2, { learning_rate: 0.0001, kl: { coef: 0.2 } }),
  })
  const mv = createRun(store.db, {
    name: 'mv-1',
    mode: 'majority_voting',
    seed: 1,
    config: { ...config('mv-1', 'majority_voting', 1, { learning_rate: 0.0002 }), tags: ['a'] },
  })
  const verl = createRun(store.db, {
    name: 'verl-gt',
    mode: 'ground_truth',
    seed: 1,
    origin: 'verl',
    config: { trainer: 'verl' },
  })

  logSteps(
    store,
    co1,
    { tokens: 100, wall: 2 },
    {
      0: { [SCORE]: 0.125, [KL]: 0.5, [DEMO]: 0.25, [OTHER]: 0.25 },
      1: { [SCORE]: 0.25, [KL]: 0.25 },
      2: { [SCORE]: 0.375, [KL]: 0.375, [DEMO]: 0.5, [OTHER]: 0.75 },
      3: { [SCORE]: 0.5, [KL]: NaN, [DEMO]: 0.375, [OTHER]: 0.625 },
    },
  )
  logSteps(
    store,
    co2,
    { tokens: 110, wall: 3 },
    {
      0: { [SCORE]: 0.375, [DEMO]: 0.5 },
      1: { [SCORE]: NaN },
      2: { [SCORE]: 0.625, [DEMO]: 0.5 },
      3: { [SCORE]: 0.75, [DEMO]: 0.75 },
    },
  )
  logSteps(
    store,
    mv,
    { tokens: 100, wall: 1 },
    {
      0: { [SCORE]: 0.5, [DEMO]: 0.25 },
      1: { [SCORE]: 0.5 },
      2: { [SCORE]: 0.5 },
      3: { [SCORE]: 0.5, [DEMO]: 0.125 },
    },
  )
  // Imported: its response length collapses from 100 to 10 tokens at step 6; the smoothed mean (3 values) is 40 at step 7.
  logSteps(
    store,
    verl,
    { tokens: 100, wall: 1 },
    Object.fromEntries(Array.from({ length: 10 }, (_, i) => [i + 1, { 'response_length/mean': i < 5 ? 100 : 10 }])),
  )

  // Rollouts of co-1: paraphrases written before originals, so the order shown comes from the query.
  recordStep(store.db, co1, {
    step: 1,
    tokens: 100,
    wallTime: 2,
    metrics: {},
    samples: [
      ...samples(0, sum, 'paraphrase', ['5', '6', '6']),
      ...samples(0, sum, 'original', ['5', '5', '6']),
      ...samples(1, square, 'original', ['16', '16']),
      ...samples(1, square, 'paraphrase', ['16', '']),
    ],
  })
  recordStep(store.db, co1, {
    step: 2,
    tokens: 200,
    wallTime: 4,
    metrics: {},
    samples: [
      ...samples(0, square, 'original', ['', '']),
      ...samples(0, square, 'paraphrase', ['16']),
      ...samples(1, sum, 'original', ['5']),
      ...samples(1, sum, 'paraphrase', ['5']),
    ],
  })
  recordStep(store.db, verl, {
    step: 1,
    tokens: 100,
    wallTime: 1,
    metrics: {},
    samples: [...samples(0, null, 'paraphrase', ['2']), ...samples(0, null, 'original', ['2'])],
  })

  addEvent(store.db, co1, { level: 'info', kind: 'log', step: 1, message: 'a log line, not a flag' })
  const flag = (run: number, rule: string, step: number, message: string): void => {
    addEvent(store.db, run, { level: 'warning', kind: 'alert', step, message, data: { rule, step, message } })
  }
  flag(co1, 'pseudo_label_drop', 3, 'Pseudo-label accuracy fell.')
  flag(co2, 'length_collapse', 2, 'Mean response length fell.')

  const host = new WorkbenchHost({ store, workspace: dirname(store.file), host: 'browser', probe: async () => [] })
  async function call<R>(method: string, params: unknown): Promise<R> {
    const reply = await host.dispatch(method, params)
    if (!reply.ok) throw new Error(`${method}: ${reply.error.code}: ${reply.error.message}`)
    return reply.result as R
  }
  const fail = (method: string, params: unknown): Promise<Reply<unknown>> => host.dispatch(method, params)
  return { store, runs: { co1, co2, mv, verl }, records: { sum, square }, call, fail }
}

type Series = Result<'metrics.series'>

describe('chart series', () => {
  it('draws each run raw, with nulls where NaN was logged, on the step, tokens or wall-time axis', async () => {
    const { runs, call } = workspace()
    const bySteps = await call<Series>('metrics.series', { runs: [runs.co2], keys: [SCORE] })
    expect(bySteps.series).toEqual([
      {
        key: SCORE,
        label: 'co-2',
        runs: [runs.co2],
        raw: [
          [0, 0.375],
          [1, null],
          [2, 0.625],
          [3, 0.75],
        ],
        steps: [0, 1, 2, 3],
        smoothed: [
          [0, 0.375],
          [1, null],
          [2, 0.625],
          [3, 0.75],
        ],
        total: 4,
        sparse: false,
      },
    ])
    const byWall = await call<Series>('metrics.series', { runs: [runs.co2], keys: [SCORE], x: 'wall' })
    expect(byWall.series[0]!.raw.map(([x]) => x)).toEqual([0, 3, 6, 9])
    const byTokens = await call<Series>('metrics.series', { runs: [runs.co2], keys: [SCORE], x: 'tokens' })
    expect(byTokens.series[0]!.raw.map(([x]) => x)).toEqual([0, 110, 220, 330])
    // Whatever the x axis, each point knows its step (a click on it opens that step's rollouts).
    expect(byTokens.series[0]!.steps).toEqual([0, 1, 2, 3])
  })

  it('smooths with the debiased moving average and leaves raw as logged', async () => {
    const { runs, call } = workspace()
    const { series } = await call<Series>('metrics.series', { runs: [runs.co1], keys: [SCORE], smoothing: 0.5 })
    expect(series[0]!.raw.map(([, y]) => y)).toEqual([0.125, 0.25, 0.375, 0.5])
    // (0.125 * 0.5 + 0.25) / 1.5, then (0.125 * 0.25 + 0.25 * 0.5 + 0.375) / 1.75
    expect(series[0]!.smoothed[1]![1]).toBeCloseTo(0.3125 / 1.5, 12)
    expect(series[0]!.smoothed[2]![1]).toBeCloseTo(0.53125 / 1.75, 12)
  })

  it('leaves held-out accuracy unsmoothed and marks it sparse, while the per-step series beside it are smoothed', async () => {
    const { runs, call } = workspace()
    const { series } = await call<Series>('metrics.series', {
      runs: [runs.co1],
      keys: [SCORE, DEMO, KL],
      smoothing: 0.9,
    })
    expect(series.map((s) => [s.key, s.sparse])).toEqual([
      [SCORE, false],
      [DEMO, true],
      [KL, false],
    ])
    expect(series[1]!.smoothed).toEqual(series[1]!.raw)
    expect(series[1]!.smoothed.at(-1)).toEqual([3, 0.375])
    expect(series[0]!.smoothed.at(-1)![1]).toBeLessThan(0.5)
  })

  it('groups seeds by mode into the mean with a min-max band, aligned by step, x the mean of the members', async () => {
    const { runs, call } = workspace()
    const { series } = await call<Series>('metrics.series', {
      runs: [runs.co1, runs.mv, runs.co2],
      keys: [SCORE],
      x: 'tokens',
      groupBy: 'mode',
    })
    expect(series.map((s) => [s.label, s.runs])).toEqual([
      ['mode=co_rewarding_i (2 runs)', [runs.co1, runs.co2]],
      ['mode=majority_voting (1 run)', [runs.mv]],
    ])
    // co-2 logged NaN at step 1, so step 1 is co-1 alone; tokens at step 2 are (200 + 220) / 2.
    expect(series[0]).toMatchObject({
      raw: [
        [0, 0.25],
        [100, 0.25],
        [210, 0.5],
        [315, 0.625],
      ],
      band: [
        [0, 0.125, 0.375],
        [100, 0.25, 0.25],
        [210, 0.375, 0.625],
        [315, 0.5, 0.75],
      ],
      total: 4,
    })
  })

  it('groups by a dotted config path, with runs lacking the field in their own group', async () => {
    const { runs, call, fail } = workspace()
    const { series } = await call<Series>('metrics.series', {
      runs: [runs.co1, runs.co2, runs.mv],
      keys: [SCORE],
      groupBy: 'kl.coef',
    })
    expect(series.map((s) => s.label)).toEqual(['kl.coef=0.1 (1 run)', 'kl.coef=0.2 (1 run)', 'kl.coef=(unset) (1 run)'])
    const reply = await fail('metrics.series', { runs: [runs.co1], keys: [SCORE], groupBy: 'optimizer.beta9' })
    expect(reply).toMatchObject({
      ok: false,
      error: { code: 'invalid_request', message: expect.stringContaining('optimizer.beta9') },
    })
  })

  it('downsamples long series to maxPoints, keeping the peak', async () => {
    const { store, runs, call } = workspace()
    const steps: Record<number, Record<string, number>> = {}
    for (let step = 0; step < 600; step++) steps[step] = { 'actor/entropy': step === 333 ? 9 : Math.cos(step / 40) }
    logSteps(store, runs.mv, { tokens: 1, wall: 1 }, steps)
    const { series } = await call<Series>('metrics.series', { runs: [runs.mv], keys: ['actor/entropy'], maxPoints: 50 })
    expect(series[0]!.total).toBe(600)
    expect(series[0]!.raw.length).toBeLessThanOrEqual(50)
    expect(series[0]!.raw).toContainEqual([333, 9])
  })

  it('marks stored alerts of local runs and the collapse rules computed over imported runs, by step', async () => {
    const { runs, call } = workspace()
    const { markers } = await call<Series>('metrics.series', { runs: [runs.co1, runs.co2, runs.mv, runs.verl], keys: [SCORE] })
    expect(markers.map((m) => [m.run, m.rule, m.step])).toEqual([
      [runs.co2, 'length_collapse', 2],
      [runs.co1, 'pseudo_label_drop', 3],
      [runs.verl, 'length_collapse', 7],
    ])
    expect(markers[2]!.message).toContain('fell to 40 tokens')
  })

  it('lists the keys logged by any of the runs with how many runs logged each', async () => {
    const { runs, call } = workspace()
    expect(await call('metrics.keys', { runs: [runs.co1, runs.mv] })).toEqual([
      { key: KL, runs: 1 },
      { key: SCORE, runs: 2 },
      { key: DEMO, runs: 2 },
      { key: OTHER, runs: 1 },
    ])
  })

  it('refuses an unknown run by id', async () => {
    const { runs, fail } = workspace()
    const reply = await fail('metrics.series', { runs: [runs.co1, 999], keys: [SCORE] })
    expect(reply).toMatchObject({ ok: false, error: { code: 'not_found', message: expect.stringContaining('999') } })
    expect(await fail('rollouts.get', { run: 999, step: 1 })).toMatchObject({ ok: false, error: { code: 'not_found' } })
  })
})

describe('comparing runs', () => {
  it('shows only the config fields that differ, missing ones as null, in config order', async () => {
    const { runs, call } = workspace()
    expect(await call('compare.configDiff', { runs: [runs.co1, runs.co2, runs.mv] })).toEqual([
      { path: 'name', values: ['co-1', 'co-2', 'mv-1'] },
      { path: 'mode', values: ['co_rewarding_i', 'co_rewarding_i', 'majority_voting'] },
      { path: 'seed', values: [1, 2, 1] },
      { path: 'learning_rate', values: [0.0001, 0.0001, 0.0002] },
      { path: 'kl.coef', values: [0.1, 0.2, null] },
      { path: 'tags', values: [null, null, ['a']] },
    ])
  })

  it('summarises best (lowest for losses and KL), final and the value at a step', async () => {
    const { runs, call } = workspace()
    expect(await call('compare.summary', { runs: [runs.co1], keys: [SCORE, KL], atStep: 2 })).toEqual([
      { run: runs.co1, key: SCORE, best: 0.5, bestStep: 3, final: 0.5, finalStep: 3, at: 0.375, atStep: 2 },
      { run: runs.co1, key: KL, best: 0.25, bestStep: 1, final: null, finalStep: 3, at: 0.375, atStep: 2 },
    ])
    const later = await call<Result<'compare.summary'>>('compare.summary', {
      runs: [runs.mv],
      keys: ['nothing/logged', SCORE],
      atStep: 99,
    })
    expect(later).toEqual([
      { run: runs.mv, key: 'nothing/logged', best: null, bestStep: null, final: null, finalStep: null, at: null, atStep: null },
      { run: runs.mv, key: SCORE, best: 0.5, bestStep: 0, final: 0.5, finalStep: 3, at: 0.5, atStep: 3 },
    ])
  })

  it('tabulates held-out accuracy before, best and final per run', async () => {
    const { runs, call } = workspace()
    const rows = await call<Result<'compare.results'>>('compare.results', { runs: [runs.co1, runs.mv] })
    // co-1: the mean of two benchmarks, 0.25 at step 0, 0.625 at step 2 and 0.5 at step 3.
    expect(rows).toEqual([
      {
        label: 'co-1',
        mode: 'co_rewarding_i',
        runs: [runs.co1],
        before: 0.25,
        best: 0.625,
        bestStep: 2,
        final: 0.5,
        bestRange: null,
        finalRange: null,
        collapseStep: 3,
        collapseRule: 'pseudo_label_drop',
      },
      {
        label: 'mv-1',
        mode: 'majority_voting',
        runs: [runs.mv],
        before: 0.25,
        best: 0.25,
        bestStep: 0,
        final: 0.125,
        bestRange: null,
        finalRange: null,
        collapseStep: null,
        collapseRule: null,
      },
    ])
  })

  it('tabulates groups of seeds with their mean, spread and earliest collapse', async () => {
    const { runs, call } = workspace()
    const rows = await call<Result<'compare.results'>>('compare.results', {
      runs: [runs.co1, runs.co2, runs.mv],
      groupBy: 'mode',
    })
    expect(rows[0]).toEqual({
      label: 'mode=co_rewarding_i',
      mode: 'co_rewarding_i',
      runs: [runs.co1, runs.co2],
      before: 0.375,
      best: 0.6875,
      bestStep: 2,
      final: 0.625,
      bestRange: [0.625, 0.75],
      finalRange: [0.5, 0.75],
      collapseStep: 2,
      collapseRule: 'length_collapse',
    })
    expect(rows[1]).toMatchObject({ label: 'mode=majority_voting', runs: [runs.mv], best: 0.25, bestRange: null })
  })
})

describe('rollouts', () => {
  it('lists the steps with stored rollouts', async () => {
    const { runs, call } = workspace()
    expect(await call('rollouts.steps', { run: runs.co1 })).toEqual([1, 2])
    expect(await call('rollouts.steps', { run: runs.co2 })).toEqual([])
  })

  it('groups a step by question with its record, GT and samples ordered by view', async () => {
    const { runs, records, call } = workspace()
    const groups = await call<Result<'rollouts.get'>>('rollouts.get', { run: runs.co1, step: 1 })
    expect(groups.map((g) => [g.groupIndex, g.record, g.question, g.gt])).toEqual([
      [0, records.sum, 'What is 2 + 3?', '5'],
      [1, records.square, 'What is 4 * 4?', null],
    ])
    expect(groups[0]!.samples.map((s) => [s.view, s.answer])).toEqual([
      ['original', '5'],
      ['original', '5'],
      ['original', '6'],
      ['paraphrase', '5'],
      ['paraphrase', '6'],
      ['paraphrase', '6'],
    ])
    expect(groups[0]!.samples[0]).toMatchObject({
      prompt: 'original prompt of group 0',
      text: 'rollout 0: \\boxed{5}',
      pseudoLabel: '5',
      reward: 0,
      advantage: -0.5,
    })
  })

  it('marks a group whose pseudo label the tie-break chose, recounting the vote the run’s mode scores with', async () => {
    const { store, runs, call } = workspace()
    const rows = (groupIndex: number, view: SampleRow['view'], answers: string[], pseudoLabel: string): SampleRow[] =>
      samples(groupIndex, null, view, answers).map((sample) => ({ ...sample, pseudoLabel }))
    const at = (run: number, step: number, stored: SampleRow[]): void =>
      recordStep(store.db, run, { step, tokens: 100 * step, wallTime: step, metrics: {}, samples: stored })
    at(runs.mv, 5, [
      ...rows(0, 'original', ['7', '8', '8', '7'], '7'), // 2-2: a tie, 7 came first
      ...rows(1, 'original', ['5', '5', '7', '5'], '5'), // 3-1: no tie
      ...rows(2, 'original', ['1', '2', '3', '4'], '1'), // 1-1-1-1: a tie
      ...rows(3, 'original', ['', '', '', ''], ''), // no answer: nothing to break
      ...rows(4, 'original', ['7', '8', '8', '7'], '8'), // a stored label the recount does not give: not claimed
    ])
    const groups = await call<Result<'rollouts.get'>>('rollouts.get', { run: runs.mv, step: 5 })
    expect(groups.map((group) => group.ties)).toEqual([
      [{ view: 'original', answers: ['7', '8'], count: 2, total: 4 }],
      [],
      [{ view: 'original', answers: ['1', '2', '3', '4'], count: 1, total: 4 }],
      [],
      [],
    ])

    // Co-rewarding-I: each view is scored against the other view's vote.
    at(runs.co2, 5, [...rows(0, 'original', ['3', '3', '4', '4'], '4'), ...rows(0, 'paraphrase', ['4', '3', '3', '4'], '3')])
    const [coI] = await call<Result<'rollouts.get'>>('rollouts.get', { run: runs.co2, step: 5 })
    expect(coI!.ties).toEqual([
      { view: 'original', answers: ['4', '3'], count: 2, total: 4 },
      { view: 'paraphrase', answers: ['3', '4'], count: 2, total: 4 },
    ])

    // Ground truth has no vote to recount.
    const [gt] = await call<Result<'rollouts.get'>>('rollouts.get', { run: runs.verl, step: 1 })
    expect(gt!.ties).toBeUndefined()
  })

  it('reads several runs side by side at the stored step nearest the one asked, in the order asked', async () => {
    const { runs, records, call } = workspace()
    const across = await call<Result<'rollouts.across'>>('rollouts.across', { runs: [runs.co2, runs.co1, runs.verl], step: 2 })
    expect(across.map((r) => r.run)).toEqual([runs.co2, runs.co1, runs.verl])
    // A run with no stored rollouts answers no step and no groups rather than failing the others.
    expect(across[0]).toEqual({ run: runs.co2, steps: [], step: null, groups: [] })
    expect(across[1]!.steps).toEqual([1, 2])
    expect(across[1]!.step).toBe(2)
    expect(across[1]!.groups).toEqual(await call('rollouts.get', { run: runs.co1, step: 2 }))
    expect(across[1]!.groups.map((g) => g.record)).toContain(records.sum)
    const verlSteps = await call<number[]>('rollouts.steps', { run: runs.verl })
    expect(across[2]!.step).toBe(verlSteps.reduce((best, s) => (Math.abs(s - 2) < Math.abs(best - 2) ? s : best)))
  })

  it("takes an imported run's question from its original prompt", async () => {
    const { runs, call } = workspace()
    const [group] = await call<Result<'rollouts.get'>>('rollouts.get', { run: runs.verl, step: 1 })
    expect(group).toMatchObject({ record: null, question: 'original prompt of group 0', gt: null })
  })

  it('maps where the original and the paraphrase agree on their majority answer, with GT correctness', async () => {
    const { runs, records, call, fail } = workspace()
    expect(await call('rollouts.agreement', { run: runs.co1 })).toEqual({
      steps: [1, 2],
      questions: [
        { record: records.sum, question: 'What is 2 + 3?', gt: '5' },
        { record: records.square, question: 'What is 4 * 4?', gt: null },
      ],
      cells: [
        { q: 0, s: 0, agree: false, original: '5', paraphrase: '6', gtCorrect: true },
        { q: 1, s: 0, agree: true, original: '16', paraphrase: '16', gtCorrect: null },
        { q: 0, s: 1, agree: true, original: '5', paraphrase: '5', gtCorrect: true },
        { q: 1, s: 1, agree: false, original: '', paraphrase: '16', gtCorrect: null },
      ],
    })
    const reply = await fail('rollouts.agreement', { run: runs.mv })
    expect(reply).toMatchObject({
      ok: false,
      error: { code: 'invalid_request', message: expect.stringMatching(/majority_voting.*co_rewarding_i/) },
    })
  })
})
