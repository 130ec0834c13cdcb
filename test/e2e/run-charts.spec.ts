// A run's page charts and the ways from a chart to rollouts, in Chromium against `cwb serve`, on two runs trained here
// by `cwb train` with the same seed (ground truth and majority voting): the charts follow a run while it trains, a
// click on a point of any chart (run page or Compare) opens the rollout viewer at that run and step, and Compare
// shows one question's rollouts side by side across the runs.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test, type Locator, type Page } from '@playwright/test'
import { cliPath, cwb, root, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }
let second: Promise<void>

test.describe.configure({ mode: 'serial' })

const STEPS = 12
const runs = [
  { name: 'charts-gt', mode: 'ground_truth' },
  { name: 'charts-mv', mode: 'majority_voting' },
] as const
const heldOut = 'val-core/demo-arithmetic/reward/mean@1'
const score = 'critic/score/mean'
const pseudo = 'coreward/pseudo_acc'

function train(index: number): Promise<void> {
  const file = join(workspace.dir, `${runs[index]!.mode}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      name: runs[index]!.name,
      mode: runs[index]!.mode,
      seed: 7,
      steps: STEPS,
      batch_size: 2,
      rollouts: 4,
      max_response_tokens: 20,
      validation: { every: 4, questions: 4 },
      checkpoint_every: 100,
      micro_batch_size: 8,
    }),
  )
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cliPath, 'train', '--config', file, '--workspace', workspace.dir], {
      cwd: root,
      env: { ...process.env, CWB_DEMO: '' },
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`cwb train exited with ${code}: ${stderr}`))))
  })
}

test.beforeAll(async () => {
  test.setTimeout(150_000)
  workspace = tempDir('cwb-e2e-run-charts-')
  const created = cwb(['runs', '--workspace', workspace.dir], { CWB_DEMO: '' })
  expect(created.code).toBe(0)
  await train(0)
  served = await serve(['--workspace', workspace.dir])
})

test.afterAll(async () => {
  await second?.catch(() => undefined)
  expect(await served?.stop()).toBe(0)
  workspace?.remove()
})

const panel = (page: Page, key: string): Locator => page.locator(`.metric-panel[data-metric="${key}"]`)
const chartOf = (page: Page, key: string): Locator => panel(page, key).locator('.echart')

/** Moves the mouse over a chart at `fx` of its width until the tooltip offers the rollouts; clicks; the step it named. */
async function clickChartAt(page: Page, key: string, fx: number): Promise<number> {
  const chart = chartOf(page, key)
  await chart.scrollIntoViewIfNeeded()
  const box = (await chart.locator('canvas').first().boundingBox())!
  const tip = panel(page, key).locator('div[style*="min-width:180px"]')
  const at = { x: box.x + box.width * fx, y: box.y + box.height * 0.4 }
  await page.mouse.move(at.x - 30, at.y)
  await page.mouse.move(at.x, at.y, { steps: 4 })
  await expect(tip).toContainText('click: rollouts at this step')
  const step = Number(/step (\d+)/.exec((await tip.textContent()) ?? '')![1])
  await page.mouse.click(at.x, at.y)
  return step
}

test('a run page charts held-out accuracy as points, training reward, pseudo-label accuracy, length and KL, live', async ({
  page,
}) => {
  test.setTimeout(120_000)
  const errors = await openApp(page, served, '')
  // The second run trains while its page is open: its charts grow without a reload.
  second = train(1)
  await expect.poll(() => cwb(['runs', '--workspace', workspace.dir]).stdout, { timeout: 30_000 }).toContain(runs[1].name)
  await page.goto(`${served.base}#/runs/2`)
  const charts = page.getByRole('region', { name: 'Charts' })
  await expect(charts).toBeVisible()
  await second
  // Every step's training reward, smoothed over its faint raw line: two series of STEPS points each.
  await expect(chartOf(page, score)).toHaveAttribute('data-points', String(2 * STEPS))
  for (const key of [heldOut, score, pseudo, 'response_length/mean', 'actor/kl_loss'])
    await expect(panel(page, key).locator('canvas').first()).toBeVisible()
  await expect(charts.locator('.metric-panel')).toHaveCount(5)
  // Held-out accuracy, validated at steps 0, 4, 8 and 12: one unsmoothed series, a marker at each point.
  await expect(chartOf(page, heldOut)).toHaveAttribute('data-series', '1')
  await expect(chartOf(page, heldOut)).toHaveAttribute('data-marked', '1')
  await expect(chartOf(page, heldOut)).toHaveAttribute('data-points', '4')
  await expectScreenshot(page, 'run-page-charts')

  // Ground truth votes no pseudo label: no pseudo-label chart on its page.
  await page.goto(`${served.base}#/runs/1`)
  await expect(chartOf(page, score)).toHaveAttribute('data-points', String(2 * STEPS))
  await expect(page.getByRole('region', { name: 'Charts' }).locator('.metric-panel')).toHaveCount(4)
  await expect(panel(page, pseudo)).toHaveCount(0)
  expect(errors).toEqual([])
})

test('a click on a run page chart opens the rollout viewer at that step', async ({ page }) => {
  const errors = await openApp(page, served, '/runs/2')
  await expect(chartOf(page, heldOut)).toHaveAttribute('data-points', '4')
  // Near the right edge of held-out accuracy: its last validation, step 12.
  expect(await clickChartAt(page, heldOut, 0.8)).toBe(STEPS)
  await expect(page).toHaveURL(new RegExp(`#/runs/2/rollouts\\?step=${STEPS}$`))
  await expect(page.locator('.step-label')).toContainText(`step ${STEPS}`)
  await expect(page.locator('.group-card').first()).toBeVisible()

  await page.goBack()
  await expect(chartOf(page, score)).toHaveAttribute('data-points', String(2 * STEPS))
  const step = await clickChartAt(page, score, 0.45)
  expect(step).toBeGreaterThan(1)
  expect(step).toBeLessThan(STEPS)
  await expect(page).toHaveURL(new RegExp(`#/runs/2/rollouts\\?step=${step}$`))
  await expect(page.locator('.step-label')).toContainText(`step ${step}`)
  expect(errors).toEqual([])
})

test('a click on a Compare chart opens that run’s rollouts at that step', async ({ page }) => {
  const errors = await openApp(page, served, '/compare?runs=1,2')
  await expect(page.locator('body')).toHaveAttribute('data-charts-drawn', /^\d/)
  const step = await clickChartAt(page, score, 0.6)
  await expect(page).toHaveURL(new RegExp(`#/runs/[12]/rollouts\\?step=${step}$`))
  await expect(page.locator('.step-label')).toContainText(`step ${step}`)
  expect(errors).toEqual([])
})

test('Compare shows one question’s rollouts side by side across the runs at a step', async ({ page }) => {
  const errors = await openApp(page, served, '/compare?runs=1,2')
  const across = page.getByRole('region', { name: 'One question across runs' })
  await across.scrollIntoViewIfNeeded()
  const stepPicker = across.getByRole('combobox', { name: 'Step of the rollouts' })
  // The last step both runs stored.
  await expect(stepPicker).toHaveValue(String(STEPS))
  const columns = across.locator('.across-column')
  await expect(columns).toHaveCount(2)
  // Same seed, same data: both runs stored the same questions, so each column answers the picked question.
  const question = across.getByRole('combobox', { name: 'Question' })
  await expect(question.locator('option').first()).toContainText('(2 of 2 runs)')
  for (const [i, run] of runs.entries()) {
    const column = columns.nth(i)
    await expect(column.locator('.across-name')).toHaveText(run.name)
    await expect(column.locator('.across-step')).toHaveText(`step ${STEPS}`)
    await expect(column.locator('.view-block[data-view="original"] .rollout')).toHaveCount(4)
    await expect(column.locator('.reward').first()).toHaveText(/^r [01]$/)
  }
  const record = await columns.nth(0).locator('.group-card').getAttribute('data-record')
  expect(record).not.toBeNull()
  await expect(columns.nth(1).locator('.group-card')).toHaveAttribute('data-record', record!)
  await expectScreenshot(page, 'compare-question-across-runs')

  // Another step and another question: both columns follow, and the address keeps them.
  await across.getByRole('button', { name: 'Previous stored step' }).click()
  await expect(stepPicker).toHaveValue(String(STEPS - 1))
  for (const i of [0, 1]) await expect(columns.nth(i).locator('.across-step')).toHaveText(`step ${STEPS - 1}`)
  await question.selectOption({ index: 1 })
  const other = await question.inputValue()
  expect(other).toMatch(/^r:\d+$/)
  for (const i of [0, 1]) await expect(columns.nth(i).locator('.group-card')).toHaveAttribute('data-record', other.slice(2))
  await expect(page).toHaveURL(new RegExp(`qstep=${STEPS - 1}&question=r:${other.slice(2)}$`))
  await page.reload()
  await expect(stepPicker).toHaveValue(String(STEPS - 1))
  await expect(question).toHaveValue(other)
  await expect(columns.nth(1).locator('.group-card')).toHaveAttribute('data-record', other.slice(2))
  // A column's step opens that run's rollout viewer there.
  await columns.nth(1).locator('.across-step').click()
  await expect(page).toHaveURL(new RegExp(`#/runs/2/rollouts\\?step=${STEPS - 1}$`))
  expect(errors).toEqual([])
})
