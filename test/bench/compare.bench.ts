// The Compare view's data with the load in the store (12 runs x 5,000 steps x 30 metrics): chart series
// for the six default panels, per run and grouped by mode (smoothing 0.6, downsampled to 1,500 points), against a
// baseline measured in the same run: reading the same rows with one plain query and doing nothing with them.
// Also the other reads that open the view (metric keys, results table). Medians of 7 after one warm-up.
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { rewardModeIds } from '../../main/engine/rewards'
import { analysisHandlers } from '../../main/services/analysis'
import { addEvent } from '../../main/store/events'
import { createRun } from '../../main/store/runs'
import { Store } from '../../main/store/store'
import { tempDir } from '../helpers/workspace'
import { median } from './table'

const RUNS = 12
const STEPS = 5000
const PANELS = [
  'val-core/demo/reward/mean@1',
  'critic/score/mean',
  'coreward/pseudo_acc',
  'response_length/mean',
  'actor/entropy',
  'actor/kl_loss',
]
const KEYS = [...PANELS, ...Array.from({ length: 24 }, (_, k) => `extra/metric_${k}`)]

function fill(store: Store): number[] {
  const modes = rewardModeIds()
  const runs = Array.from({ length: RUNS }, (_, r) => {
    const mode = modes[r % modes.length]!
    const seed = Math.floor(r / modes.length) + 1
    return createRun(store.db, { name: `${mode}-seed${seed}`, mode, seed, config: { mode, seed, learning_rate: 1e-6 * seed } })
  })
  const insert = store.db.prepare('INSERT INTO metrics (run_id, step, key, value, wall_time, tokens) VALUES (?, ?, ?, ?, ?, ?)')
  store.db.transaction(() => {
    for (const [r, run] of runs.entries())
      for (let step = 0; step < STEPS; step++)
        for (const [k, key] of KEYS.entries())
          insert.run(run, step, key, Math.sin(step / 300 + r + k) + r / 10, step * 1.5, step * 4096)
  })()
  for (const run of runs.slice(0, 4))
    addEvent(store.db, run, {
      level: 'warning',
      kind: 'alert',
      step: 1234,
      message: 'flag',
      data: { rule: 'length_collapse', step: 1234 },
    })
  return runs
}

function medianMs(work: () => unknown, repeats = 7): number {
  work()
  return median(
    Array.from({ length: repeats }, () => {
      const started = performance.now()
      work()
      return performance.now() - started
    }),
  )
}

it('metrics.series for the Compare view against reading the same rows', async () => {
  const { dir, remove } = tempDir()
  const store = new Store(join(dir, 'workbench.db'))
  const filling = performance.now()
  const runs = fill(store)
  const fillSeconds = (performance.now() - filling) / 1000
  const api = analysisHandlers(store.db)
  const series = (groupBy: string | null) => () =>
    api['metrics.series']({ runs, keys: PANELS, x: 'step', smoothing: 0.6, groupBy, maxPoints: 1500 })
  const plain = store.db.prepare(
    'SELECT run_id, key, step, value FROM metrics WHERE run_id IN (SELECT value FROM json_each(?)) AND key IN (SELECT value FROM json_each(?))',
  )
  const baseline = medianMs(() => plain.all(JSON.stringify(runs), JSON.stringify(PANELS)))
  const rows = [
    ['metrics.series, one line per run', medianMs(series(null))],
    ['metrics.series, grouped by mode', medianMs(series('mode'))],
    ['metrics.keys', medianMs(() => api['metrics.keys']({ runs }))],
    ['compare.results', medianMs(() => api['compare.results']({ runs, groupBy: 'mode' }))],
  ] as const
  const drawn = (await series(null)()).series
  const lines = [
    ['work', 'ms', 'x baseline'],
    ['baseline: SELECT the same 360,000 rows', baseline.toFixed(1), '1.00x'],
    ...rows.map(([work, ms]) => [work, ms.toFixed(1), `${(ms / baseline).toFixed(2)}x`]),
  ]
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)))
  console.log(
    `\nCompare view reads, ${RUNS} runs x ${STEPS} steps x ${KEYS.length} metrics in the store (filled in ${fillSeconds.toFixed(1)} s), ` +
      `${PANELS.length} panels, smoothing 0.6, at most 1,500 points a line; median of 7:\n` +
      `${lines.map((l) => l.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n')}\n`,
  )
  store.close()
  remove()
  expect(drawn).toHaveLength(RUNS * PANELS.length)
  expect(drawn.every((line) => line.total === STEPS && line.raw.length <= 1500)).toBe(true)
})
