// The Compare view's speed with a big store: 12 runs x 5,000 steps x 30 metrics. Measures, in Chromium against
// `cwb serve`, the time from ticking the runs to every chart drawn (ECharts' `finished` on each panel), and in
// the same page and run a baseline: ECharts alone drawing the same charts, series and points from memory.
import { expect, test } from '@playwright/test'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cwb, root, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { median } from './table'

const RUNS = 12
const STEPS = 5000
const KEYS = 30
const REPEATS = 5
const MODES = ['ground_truth', 'majority_voting', 'self_certainty', 'entropy', 'co_rewarding_i', 'co_rewarding_ii']

let served: Served
let workspace: { dir: string; remove: () => void }

test.beforeAll(async () => {
  test.setTimeout(600_000)
  workspace = tempDir('cwb-bench-compare-')
  // `cwb` creates the workspace and its schema; the filler then writes the runs straight into the store.
  const created = cwb(['runs', '--workspace', workspace.dir])
  expect(created.stderr).toBe('')
  const configs = Object.fromEntries(MODES.map((mode) => [mode, JSON.parse(cwb(['train', '--print-config', mode]).stdout)]))
  const configFile = join(workspace.dir, 'configs.json')
  writeFileSync(configFile, JSON.stringify(configs))
  const started = performance.now()
  const fill = spawnSync(
    process.execPath,
    [
      join(root, 'test/bench/fill-compare-store.mjs'),
      join(workspace.dir, 'workbench.db'),
      `${RUNS}`,
      `${STEPS}`,
      `${KEYS}`,
      configFile,
    ],
    { cwd: root, encoding: 'utf8' },
  )
  expect(fill.stderr).toBe('')
  expect(fill.status).toBe(0)
  console.log(`filled ${RUNS * STEPS * KEYS} metric rows in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  served = await serve(['--workspace', workspace.dir])
})

test.afterAll(async () => {
  expect(await served?.stop()).toBe(0)
  workspace?.remove()
})

interface ChartShape {
  width: number
  height: number
  series: number
  points: number
}

test('Compare view: picking 12 runs to all charts drawn, against ECharts drawing the same from memory', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(served.url)
  await page.goto(`${served.base}#/compare`)
  await expect(page.locator('.picker-list').first().locator('li')).toHaveCount(RUNS)
  // The moment of the click, taken in the page before the app sees it.
  await page.evaluate(() =>
    document.addEventListener('click', () => ((window as unknown as { pickedAt: number }).pickedAt = performance.now()), true),
  )

  const app: number[] = []
  for (let i = 0; i < REPEATS; i++) {
    if (i > 0) await page.getByLabel('Runs to compare').getByRole('button', { name: 'Clear' }).click()
    await expect(page.getByRole('heading', { name: 'Pick runs to compare' })).toBeVisible()
    await page.evaluate(() => performance.clearMarks('cwb:charts-drawn'))
    await page.getByRole('button', { name: 'Select shown' }).click()
    await page.waitForFunction(() => performance.getEntriesByName('cwb:charts-drawn').length > 0, null, { timeout: 60_000 })
    app.push(
      await page.evaluate(
        () =>
          performance.getEntriesByName('cwb:charts-drawn')[0]!.startTime - (window as unknown as { pickedAt: number }).pickedAt,
      ),
    )
  }

  const shapes: ChartShape[] = await page.$$eval('.metric-panel .echart', (charts) =>
    charts.map((chart) => ({
      width: chart.clientWidth,
      height: chart.clientHeight,
      series: Number((chart as HTMLElement).dataset.series),
      points: Number((chart as HTMLElement).dataset.points),
    })),
  )
  expect(shapes).toHaveLength(6)
  // Smoothed over raw for each of the 12 runs, each downsampled from 5,000 steps.
  for (const shape of shapes) {
    expect(shape.series).toBe(2 * RUNS)
    expect(shape.points).toBeLessThan(shape.series * STEPS)
  }

  // The baseline, in the same page: the full ECharts build, served same-origin (the page's CSP allows only 'self').
  const echartsUrl = `${served.base}bench/echarts.min.js`
  await page.route(echartsUrl, (route) =>
    route.fulfill({
      contentType: 'text/javascript',
      body: readFileSync(join(root, 'node_modules/echarts/dist/echarts.min.js'), 'utf8'),
    }),
  )
  await page.addScriptTag({ url: echartsUrl })
  const memory: number[] = await page.evaluate(
    async ({ shapes, repeats, steps }) => {
      type Chart = { on: (event: string, f: () => void) => void; setOption: (o: unknown) => void; dispose: () => void }
      const lib = (window as unknown as { echarts: { init: (el: HTMLElement) => Chart } }).echarts
      const host = document.createElement('div')
      host.style.cssText = 'position:fixed;inset:0;z-index:1000;background:#fff;display:flex;flex-wrap:wrap;overflow:hidden'
      document.body.appendChild(host)
      const times: number[] = []
      for (let r = 0; r < repeats; r++) {
        const options = shapes.map((shape) => {
          const perSeries = Math.round(shape.points / shape.series)
          return {
            animation: false,
            grid: { left: 8, right: 40, top: 14, bottom: 46, containLabel: true },
            tooltip: { trigger: 'axis' },
            xAxis: { type: 'value', min: 0, max: steps },
            yAxis: { type: 'value', scale: true },
            dataZoom: [
              { type: 'inside', filterMode: 'none' },
              { type: 'slider', filterMode: 'none', height: 14, bottom: 6 },
            ],
            series: Array.from({ length: shape.series }, (_, s) => ({
              type: 'line',
              symbol: 'none',
              sampling: 'lttb',
              lineStyle: { width: s % 2 ? 1.8 : 1, opacity: s % 2 ? 1 : 0.22 },
              data: Array.from({ length: perSeries }, (_, i) => [
                (i * steps) / perSeries,
                Math.sin(i / 40 + s) + Math.random() * 0.1,
              ]),
            })),
          }
        })
        const boxes = shapes.map((shape) => {
          const box = document.createElement('div')
          box.style.cssText = `width:${shape.width}px;height:${shape.height}px`
          host.appendChild(box)
          return box
        })
        const started = performance.now()
        const charts = boxes.map((box) => lib.init(box))
        await Promise.all(
          charts.map(
            (chart, i) =>
              new Promise<void>((done) => {
                chart.on('finished', () => done())
                chart.setOption(options[i])
              }),
          ),
        )
        times.push(performance.now() - started)
        charts.forEach((chart) => chart.dispose())
        host.replaceChildren()
      }
      host.remove()
      return times
    },
    { shapes, repeats: REPEATS, steps: STEPS },
  )
  expect(errors).toEqual([])

  const series = shapes.reduce((n, s) => n + s.series, 0)
  const points = shapes.reduce((n, s) => n + s.points, 0)
  const ours = median(app)
  const baseline = median(memory)
  const rows = [
    ['work', 'median ms', `all ${REPEATS} (ms)`],
    ['pick runs -> all charts drawn (Compare view)', ours.toFixed(0), app.map((t) => t.toFixed(0)).join(' ')],
    ['same charts from memory (ECharts alone)', baseline.toFixed(0), memory.map((t) => t.toFixed(0)).join(' ')],
    ['ratio (view / memory)', `${(ours / baseline).toFixed(2)}x`, ''],
  ]
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
  console.log(
    `\nCompare view: ${RUNS} runs x ${STEPS} steps x ${KEYS} metrics; ${shapes.length} charts, ${series} line series, ${points} points drawn\n` +
      rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n') +
      `\ntarget < 1000 ms: ${ours < 1000 ? 'met' : 'NOT met'}\n`,
  )
})
