// What the Compare view and the rollout viewer compute before drawing: panel series, exports, colours, votes.
import { beforeAll, describe, expect, it } from 'vitest'
import type { ChartSeries, ResultRow, RolloutGroup } from '../../preload/contract'
import { rewardMode, rewardModeInfos } from '../../main/engine/rewards'
import { groupColours, runColour, runColours } from '../../renderer/src/charts/colours'
import { groupName, setRewardModes } from '../../renderer/src/charts/modes'
import { defaultKeys, formatValue, formatX, runPageKeys } from '../../renderer/src/charts/format'
import { isSmoothed, linePanel, panelCsvRows, pointAt } from '../../renderer/src/charts/line-panel'
import { resultsCsv, resultsMarkdown } from '../../renderer/src/charts/results'
import { toCsv, toMarkdown } from '../../renderer/src/charts/text'
import { tieBadge, tieTitle, viewsOf, wrongPseudoLabel } from '../../renderer/src/components/rollouts/groups'

// The renderer takes mode labels and colours from the host's registry, as App.vue does from app.info.
beforeAll(() => setRewardModes(rewardModeInfos()))

const line = (label: string, runs: number[], extra: Partial<ChartSeries> = {}): ChartSeries => ({
  key: 'critic/score/mean',
  label,
  runs,
  raw: [
    [1, 0.1],
    [2, null],
    [3, 0.5],
  ],
  steps: [1, 2, 3],
  smoothed: [
    [1, 0.1],
    [2, 0.1],
    [3, 0.3],
  ],
  total: 3,
  sparse: false,
  ...extra,
})

describe('a Compare panel', () => {
  const base = {
    key: 'critic/score/mean',
    x: 'step' as const,
    xRange: [0, 3] as const,
    colourOf: () => '#123456',
    hidden: () => false,
    markers: [],
  }

  it('draws the raw line under the smoothed one only while smoothing is on', () => {
    const two = [line('a', [1]), line('b', [2])]
    expect(linePanel({ ...base, series: two, smoothing: 0 }).drawnSeries).toBe(2)
    const smoothed = linePanel({ ...base, series: two, smoothing: 0.6 })
    expect(smoothed.drawnSeries).toBe(4)
    expect(smoothed.drawnPoints).toBe(12)
    const ids = (smoothed.option.series as { id: string }[]).map((s) => s.id)
    expect(ids).toEqual(['raw:a', 'main:a', 'raw:b', 'main:b'])
  })

  it('puts ticks on whole steps only (a run at step 1 of 24 showed 0 0 0 1 1 1), and anywhere on tokens or time', () => {
    const axis = (x: 'step' | 'tokens' | 'wall') =>
      linePanel({ ...base, x, series: [line('a', [1])], smoothing: 0 }).option.xAxis as { minInterval?: number }
    expect(axis('step').minInterval).toBe(1)
    expect(axis('tokens').minInterval).toBeUndefined()
    expect(axis('wall').minInterval).toBeUndefined()
  })

  it('draws a group as its band (a stacked lower edge and height) under its mean', () => {
    const group = line('mode=entropy (2 runs)', [1, 2], {
      band: [
        [1, 0.0, 0.2],
        [3, 0.2, 0.6],
      ],
    })
    const panel = linePanel({ ...base, series: [group], smoothing: 0 })
    const [lo, hi] = panel.option.series as { id: string; data: number[][]; stack: string }[]
    expect(lo!.data).toEqual([
      [1, 0],
      [3, 0.2],
    ])
    expect(hi!.data[1]![1]).toBeCloseTo(0.4)
    expect(lo!.stack).toBe(hi!.stack)
  })

  it('puts collapse markers on the line of the run that raised them, and hides what the legend switched off', () => {
    const marker = { x: 2, step: 2, run: 2, runName: 'b', rule: 'length_collapse', message: 'Responses shrank.' }
    const panel = linePanel({
      ...base,
      series: [line('a', [1]), line('b', [2])],
      smoothing: 0,
      markers: [marker],
      hidden: (s) => s.label === 'a',
    })
    const [a, b] = panel.option.series as { markLine?: { data: { xAxis: number }[] } }[]
    expect(a!.markLine).toBeUndefined()
    expect(b!.markLine!.data.map((d) => d.xAxis)).toEqual([2])
    expect((panel.option.legend as { selected: Record<string, boolean> }).selected).toEqual({ a: false, b: true })
  })

  // Held-out accuracy every 10 steps: 0.3, 0.25, 0.2; smoothing would have put its last point at 21.9%.
  const heldOut = line('a', [1], {
    key: 'val-core/math/reward/mean@1',
    raw: [
      [0, 0.3],
      [10, 0.25],
      [20, 0.2],
    ],
    smoothed: [
      [0, 0.3],
      [10, 0.25],
      [20, 0.2],
    ],
    sparse: true,
  })
  type Drawn = { id: string; data: [number, number | null][]; showSymbol: boolean }
  const tooltip = (panel: ReturnType<typeof linePanel>, params: object[]): string =>
    (panel.option.tooltip as { formatter: (p: object[]) => string }).formatter(params)

  it('smooths dense series only: a sparse one is drawn raw, ending at its last value, with a marker at each point', () => {
    expect(isSmoothed(heldOut, 0.6)).toBe(false)
    expect(isSmoothed(line('b', [2]), 0.6)).toBe(true)
    expect(isSmoothed(line('b', [2]), 0)).toBe(false)
    const long = line('b', [2], {
      raw: Array.from({ length: 100 }, (_, i): [number, number] => [i, 0.5]),
      smoothed: Array.from({ length: 100 }, (_, i): [number, number] => [i, 0.5]),
    })
    const panel = linePanel({ ...base, series: [heldOut, long], smoothing: 0.6 })
    const drawn = panel.option.series as Drawn[]
    expect(drawn.map((s) => s.id)).toEqual(['main:a', 'raw:b', 'main:b'])
    expect(drawn[0]!.data.at(-1)).toEqual([20, 0.2])
    expect(drawn[0]!.showSymbol).toBe(true)
    expect(drawn[2]!.showSymbol).toBe(false)
    expect(panel.markedSeries).toBe(1)
  })

  it('shows the raw value in the tooltip, with the smoothed one beside it only where the series is smoothed', () => {
    const dense = line('b', [2])
    const panel = linePanel({ ...base, key: 'val-core/math/reward/mean@1', series: [heldOut, dense], smoothing: 0.6 })
    const html = tooltip(panel, [
      { seriesId: 'main:a', seriesName: 'a', value: [20, 0.2], axisValue: 20, color: '#123456' },
      { seriesId: 'raw:b', seriesName: 'b', value: [3, 0.5], axisValue: 20 },
      { seriesId: 'main:b', seriesName: 'b', value: [3, 0.3], axisValue: 20, color: '#123456' },
    ])
    expect(html).toContain('<b>20%</b>')
    expect(html).toContain('<b>50%</b><span style="color:#98a2b3">smoothed 30%</span>')
    expect(html.match(/smoothed/g)).toHaveLength(1)
    // Rows run from the highest raw value down.
    expect(html.indexOf('>b<')).toBeLessThan(html.indexOf('>a<'))
  })

  it('exports one CSV row per point with raw, smoothed and the band', () => {
    const rows = panelCsvRows([line('g', [1, 2], { band: [[3, 0.2, 0.6]] })])
    expect(rows).toEqual([
      ['g', 1, 0.1, 0.1, null, null],
      ['g', 2, null, 0.1, null, null],
      ['g', 3, 0.5, 0.3, 0.2, 0.6],
    ])
  })
})

describe('a click on a chart', () => {
  // x in tokens (100 per step), 100 px per unit of y: the point's pixel is [x, 100 * y].
  const toPixel = ([x, y]: [number, number]): [number, number] => [x, 100 * y]
  const byTokens = (label: string, runs: number[], ys: (number | null)[]): ChartSeries =>
    line(label, runs, {
      raw: ys.map((y, i): [number, number | null] => [100 * (i + 1), y]),
      smoothed: ys.map((y, i): [number, number | null] => [100 * (i + 1), y]),
      steps: ys.map((_, i) => i + 1),
    })
  const shown = (): boolean => false

  it('opens the step of the point nearest in x, whatever the x axis, and of the run nearest in height there', () => {
    const two = [byTokens('a', [1], [0.1, 0.2, 0.3]), byTokens('b', [2], [0.9, 0.8, 0.7])]
    expect(pointAt(two, 0, shown, [190, 25], toPixel)).toEqual({ run: 1, step: 2, label: 'a' })
    expect(pointAt(two, 0, shown, [260, 60], toPixel)).toEqual({ run: 2, step: 3, label: 'b' })
  })

  it('skips gaps and lines switched off, and gives a group its first run', () => {
    const group = byTokens('mode=entropy (2 runs)', [3, 4], [0.1, null, 0.3])
    const hiddenRun = byTokens('b', [2], [0.2, 0.2, 0.2])
    const hidden = (s: ChartSeries): boolean => s.label === 'b'
    expect(pointAt([group, hiddenRun], 0, hidden, [170, 20], toPixel)).toEqual({
      run: 3,
      step: 1,
      label: 'mode=entropy (2 runs)',
    })
    expect(pointAt([hiddenRun], 0, hidden, [170, 20], toPixel)).toBeNull()
  })
})

describe('tables as text', () => {
  it('quotes CSV cells that hold commas, quotes or line breaks, and leaves null empty', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x, y', 'say "hi"'],
          [null, 'two\nlines'],
        ],
      ),
    ).toBe('a,b\n"x, y","say ""hi"""\n,"two\nlines"\n')
  })

  it('escapes pipes in Markdown and right-aligns the numeric columns', () => {
    expect(toMarkdown(['run', 'acc'], [['a|b', 0.5]], [1])).toBe('| run | acc |\n| --- | ---: |\n| a\\|b | 0.5 |\n')
  })

  const row = (over: Partial<ResultRow>): ResultRow => ({
    label: 'run-a',
    mode: 'co_rewarding_i',
    runs: [1],
    before: 0.27,
    best: 0.3,
    bestStep: 10,
    final: 0.25,
    bestRange: null,
    finalRange: null,
    collapseStep: null,
    collapseRule: null,
    ...over,
  })

  it('writes the results table as the paper does: percentages, a spread over seeds, the collapse step', () => {
    const markdown = resultsMarkdown(
      [
        row({}),
        row({
          label: 'mode=entropy',
          mode: 'entropy',
          runs: [2, 3],
          bestRange: [0.28, 0.32],
          finalRange: [0.1, 0.2],
          collapseStep: 34,
          collapseRule: 'gt_drop_reward_rise',
        }),
      ],
      true,
    ).split('\n')
    expect(markdown[0]).toBe('| Group | Reward mode | Runs | Before (%) | Best (%) | Best step | Final (%) | Collapse |')
    expect(markdown[2]).toBe('| run-a | Co-rewarding-I | 1 | 27.0 | 30.0 | 10 | 25.0 | – |')
    expect(markdown[3]).toBe(
      '| mode=entropy | Entropy | 2 | 27.0 | 30.0 [28.0, 32.0] | 10 | 25.0 [10.0, 20.0] | step 34 (gt_drop_reward_rise) |',
    )
    expect(resultsCsv([row({ runs: [2, 3] })]).split('\n')[1]).toBe('run-a,co_rewarding_i,2 3,0.27,0.3,,,10,0.25,,,,')
  })
})

describe('colours', () => {
  it('give a run the colour of its id, whichever runs are picked beside it and in whatever order', () => {
    expect(runColours([1, 2]).get(2)).toBe(runColour(2))
    expect(runColours([3, 1, 2]).get(2)).toBe(runColour(2))
    expect(runColours([2]).get(2)).toBe(runColour(2))
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map(runColour)).size).toBe(8)
  })

  it('name a mode group by its mode, other groups by their value', () => {
    expect(groupName('mode=co_rewarding_i')).toBe('Co-rewarding-I')
    expect(groupName('kl.coef=0.01')).toBe('kl.coef=0.01')
  })

  it('keep a run its colour when another run is added, and give a mode group its mode colour', () => {
    expect(runColours([4, 2]).get(2)).toBe(runColours([4, 2, 9]).get(2))
    const groups = groupColours(['mode=entropy (3 runs)', 'mode=ground_truth', 'kl.coef=0.01'])
    expect(groups.get('mode=entropy')).toBe(rewardMode('entropy').colour)
    expect(groups.get('mode=ground_truth')).toBe(rewardMode('ground_truth').colour)
    expect(groups.has('kl.coef=0.01')).toBe(true)
  })
})

describe('keys and numbers', () => {
  it('open with held-out accuracy, training score, pseudo-label accuracy, length, entropy and KL, when logged', () => {
    const keys = ['actor/kl_loss', 'actor/lr', 'critic/score/mean', 'val-core/math/reward/mean@1', 'response_length/mean']
    expect(defaultKeys(keys)).toEqual([
      'val-core/math/reward/mean@1',
      'critic/score/mean',
      'response_length/mean',
      'actor/kl_loss',
    ])
  })

  it('give a run page held-out accuracy, training score, pseudo-label accuracy (where logged), length and KL', () => {
    const keys = ['actor/entropy', 'actor/kl_loss', 'critic/score/mean', 'val-core/demo/reward/mean@1', 'response_length/mean']
    expect(runPageKeys(keys)).toEqual([
      'val-core/demo/reward/mean@1',
      'critic/score/mean',
      'response_length/mean',
      'actor/kl_loss',
    ])
    expect(runPageKeys([...keys, 'coreward/pseudo_acc'])).toContain('coreward/pseudo_acc')
  })

  it('read as a person writes them', () => {
    expect([formatValue(15), formatValue(0.45312), formatValue(1234.5), formatValue(25_000), formatValue(null)]).toEqual([
      '15',
      '0.4531',
      '1235',
      '25k',
      '–',
    ])
    expect([formatX('wall', 725), formatX('tokens', 1_250_000), formatX('step', 40)]).toEqual(['12m 05s', '1.25M', '40'])
  })
})

describe('a rollout group', () => {
  const sample = (id: number, view: 'original' | 'paraphrase', answer: string, reward: number) => ({
    id,
    view,
    prompt: 'q',
    text: `\\boxed{${answer}}`,
    answer,
    pseudoLabel: view === 'original' ? '7' : '8',
    reward,
    advantage: 0,
  })
  const group: RolloutGroup = {
    groupIndex: 0,
    record: 3,
    question: 'q',
    gt: '8',
    samples: [
      sample(1, 'original', '7', 1),
      sample(2, 'original', '8', 0),
      sample(3, 'original', '7', 1),
      sample(4, 'paraphrase', '8', 0),
      sample(5, 'paraphrase', '8', 0),
    ],
  }

  it('counts votes per view, most frequent first, and flags a view whose rewards are all equal', () => {
    const [original, paraphrase] = viewsOf(group)
    expect(original!.votes).toEqual([
      { answer: '7', count: 2 },
      { answer: '8', count: 1 },
    ])
    expect(original!.zeroStd).toBe(false)
    expect(paraphrase!.zeroStd).toBe(true)
    expect(original!.meanReward).toBeCloseTo(2 / 3)
  })

  it('carries the tie behind a view’s label, read as its vote counts with the tie-break rule', () => {
    const tie = { view: 'original' as const, answers: ['7', '8'], count: 2, total: 4 }
    const [original, paraphrase] = viewsOf({ ...group, ties: [tie] })
    expect(original!.tie).toEqual(tie)
    expect(paraphrase!.tie).toBeUndefined()
    expect(viewsOf(group)[0]!.tie).toBeUndefined()
    expect(tieBadge(tie)).toBe('tie 2–2')
    expect(tieBadge({ ...tie, answers: ['1', '2', '3', '4'], count: 1 })).toBe('tie 1–1–1–1')
    expect(tieTitle(tie)).toBe(
      'Tied vote: 7, 8 got 2 of 4 votes each. Tie-break (as in the reference): the answer seen first in rollout order wins, so the pseudo label is 7.',
    )
  })

  it('has a wrong pseudo label when the label it was scored against differs from GT', () => {
    expect(wrongPseudoLabel(group, viewsOf(group))).toBe(true)
    const right = { ...group, gt: '7' }
    expect(wrongPseudoLabel(right, viewsOf(right))).toBe(false)
    const unlabelled = { ...group, gt: null }
    expect(wrongPseudoLabel(unlabelled, viewsOf(unlabelled))).toBe(false)
  })
})
