// Compare and the rollout viewer in Chromium against `cwb serve`, on two real runs trained here by `cwb train`
// (ground truth and Co-rewarding-I, a few steps of the shipped base model on the demo task).
import { expect, test, type Page } from '@playwright/test'
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cliPath, cwb, root, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }
const modes = ['ground_truth', 'co_rewarding_i'] as const
const names = modes.map((mode) => `e2e-${mode}`)

function train(config: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cliPath, 'train', '--config', config, '--workspace', workspace.dir], {
      cwd: root,
      env: { ...process.env, CWB_DEMO: '' },
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('exit', (code) =>
      code === 0 ? done(stderr) : fail(new Error(`cwb train ${config} exited with ${code}: ${stderr}`)),
    )
  })
}

test.beforeAll(async () => {
  test.setTimeout(150_000)
  workspace = tempDir('cwb-e2e-compare-')
  // Create the workspace (demo dataset and base model) once, before two trainers open it.
  const created = cwb(['runs', '--workspace', workspace.dir], { CWB_DEMO: '' })
  expect(created.stderr).toBe('')
  expect(created.code).toBe(0)
  const configs = modes.map((mode, i) => {
    const file = join(workspace.dir, `${mode}.json`)
    const config = {
      name: names[i],
      mode,
      steps: 4,
      batch_size: 2,
      rollouts: 4,
      max_response_tokens: 20,
      validation: { every: 2, questions: 4 },
      checkpoint_every: 10,
      micro_batch_size: 8,
    }
    writeFileSync(file, JSON.stringify(config))
    return file
  })
  // One after the other, so the runs get ids 1 (ground truth) and 2 (Co-rewarding-I); they then train side by side.
  const first = train(configs[0]!)
  await expect.poll(() => cwb(['runs', '--workspace', workspace.dir]).stdout, { timeout: 30_000 }).toContain(names[0])
  await Promise.all([first, train(configs[1]!)])
  served = await serve(['--workspace', workspace.dir])
})

test.afterAll(async () => {
  expect(await served?.stop()).toBe(0)
  workspace?.remove()
})

/** Opens the app, then `hash`; the page's errors. */
const open = (page: Page, hash: string): Promise<string[]> => openApp(page, served, hash)

const panel = (page: Page, key: string) => page.locator(`.metric-panel[data-metric="${key}"]`)
const score = 'critic/score/mean'
const heldOut = 'val-core/demo-arithmetic/reward/mean@1'

async function expectDrawn(page: Page): Promise<void> {
  await expect(page.locator('body')).toHaveAttribute('data-charts-drawn', /^\d/)
}

test('Compare draws both runs on the default panels and follows smoothing, x axis and grouping', async ({ page }) => {
  const errors = await open(page, '/compare?runs=1,2')
  await expectDrawn(page)
  for (const key of ['val-core/demo-arithmetic/reward/mean@1', score, 'response_length/mean', 'actor/entropy', 'actor/kl_loss'])
    await expect(panel(page, key).locator('canvas').first()).toBeVisible()
  // Co-rewarding-I logs the pseudo-label accuracy; ground truth does not, yet one of the two suffices for a panel.
  await expect(panel(page, 'coreward/pseudo_acc')).toBeVisible()
  const legend = page.getByLabel('Legend')
  for (const name of names) await expect(legend.getByRole('button', { name })).toBeVisible()
  // Smoothed over faint raw: two lines per run, until smoothing is switched off.
  await expect(panel(page, score).locator('.echart')).toHaveAttribute('data-series', '4')
  // Held-out accuracy, logged every other step, is never smoothed: one line per run, a marker at each point.
  await expect(panel(page, heldOut).locator('.echart')).toHaveAttribute('data-series', '2')
  await expect(panel(page, heldOut).locator('.echart')).toHaveAttribute('data-marked', '2')
  await expectScreenshot(page, 'compare-two-runs')
  // At its last point the tooltip gives each run's raw held-out accuracy, as logged, with no smoothed value beside it.
  const logged = page.waitForEvent('download')
  await panel(page, heldOut).getByRole('button', { name: 'CSV' }).click()
  const heldOutRows = readFileSync(await (await logged).path(), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
  await panel(page, heldOut).scrollIntoViewIfNeeded()
  const box = (await panel(page, heldOut).locator('canvas').first().boundingBox())!
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  await page.mouse.move(box.x + box.width - 44, box.y + box.height / 2, { steps: 5 })
  const tip = panel(page, heldOut).locator('div[style*="min-width:180px"]')
  await expect(tip).toContainText('step 4')
  for (const name of names) {
    const last = heldOutRows
      .filter((row) => row.startsWith(`${name},`))
      .at(-1)!
      .split(',')
    expect(last[2]).toBe(last[3])
    await expect(tip).toContainText(`${name}${+(Number(last[2]) * 100).toFixed(1)}%`)
  }
  await expect(tip).not.toContainText('smoothed')

  const png = page.waitForEvent('download')
  await panel(page, score).getByRole('button', { name: 'PNG' }).click()
  expect((await png).suggestedFilename()).toBe('critic-score-mean.png')
  expect(
    readFileSync(await (await png).path())
      .subarray(1, 4)
      .toString(),
  ).toBe('PNG')

  await page.getByRole('slider', { name: 'Smoothing' }).fill('0')
  await expect(panel(page, score).locator('.echart')).toHaveAttribute('data-series', '2')
  await expect(page).toHaveURL(/smooth=0(&|$)/)

  await page.getByRole('radio', { name: 'tokens' }).click()
  await expect(page).toHaveURL(/x=tokens/)
  await expectDrawn(page)
  const download = page.waitForEvent('download')
  await panel(page, score).getByRole('button', { name: 'CSV' }).click()
  const csv = readFileSync(await (await download).path(), 'utf8')
    .trim()
    .split('\n')
  expect((await download).suggestedFilename()).toBe('critic-score-mean.csv')
  expect(csv[0]).toBe('series,tokens,raw,smoothed,band_min,band_max')
  // Four steps per run, each at the tokens trained so far: strictly rising and well past the step numbers.
  for (const name of names) {
    const rows = csv.filter((line) => line.startsWith(`${name},`)).map((line) => line.split(','))
    expect(rows).toHaveLength(4)
    const tokens = rows.map((row) => Number(row[1]))
    expect(tokens[0]).toBeGreaterThan(10)
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b))
    expect(rows.every((row) => row[2] === row[3])).toBe(true)
  }

  await page.getByRole('combobox', { name: 'Group by' }).selectOption('mode')
  await expect(page).toHaveURL(/group=mode/)
  // A mode group goes by its mode's display name; the group's value (with the mode id) is in the tooltip.
  for (const [mode, label] of [
    ['ground_truth', 'Ground truth'],
    ['co_rewarding_i', 'Co-rewarding-I'],
  ] as const)
    await expect(legend.getByRole('button', { name: label, exact: true })).toHaveAttribute(
      'title',
      new RegExp(`^mode=${mode} · `),
    )
  await expect(page.getByRole('heading', { name: /Results\s+grouped by reward mode/ })).toBeVisible()
  await expectScreenshot(page, 'compare-grouped-by-mode')

  // The address is the comparison: reloading it brings back every choice.
  await page.reload()
  await expectDrawn(page)
  await expect(page.getByRole('radio', { name: 'tokens' })).toHaveAttribute('aria-checked', 'true')
  await expect(page.getByRole('combobox', { name: 'Group by' })).toHaveValue('mode')
  expect(errors).toEqual([])
})

test('the results table copies as Markdown and the config diff shows only what differs', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  const errors = await open(page, '/compare?runs=1,2')
  const results = page.locator('.results-table')
  for (const name of names) await expect(results.getByRole('cell', { name })).toBeVisible()
  await page.getByRole('button', { name: 'Copy Markdown' }).click()
  await expect(page.getByRole('status').filter({ hasText: 'Copied Markdown' })).toBeVisible()
  const markdown = await page.evaluate(() => navigator.clipboard.readText())
  expect(markdown.split('\n')[0]).toBe('| Run | Reward mode | Runs | Before (%) | Best (%) | Best step | Final (%) | Collapse |')
  for (const name of names) expect(markdown).toContain(`| ${name} |`)

  const diff = page.locator('.config-diff')
  await expect(diff.getByRole('cell', { name: 'mode', exact: true })).toBeVisible()
  await expect(diff.getByRole('cell', { name: 'batch_size', exact: true })).toHaveCount(0)
  expect(errors).toEqual([])
})

test('the rollout viewer scrubs through steps and shows answers, rewards and votes per group', async ({ page }) => {
  const errors = await open(page, '/runs/1/rollouts?step=2')
  const stepLabel = page.locator('.step-label')
  await expect(stepLabel).toContainText('step 2')
  const card = page.locator('.group-card').first()
  await expect(card.locator('.group-question')).not.toBeEmpty()
  await expect(card.locator('.group-labels')).toContainText('GT')
  const original = card.locator('.view-block[data-view="original"]')
  await expect(original.locator('.rollout')).toHaveCount(4)
  await expect(original.locator('.reward').first()).toHaveText(/^r [01]$/)
  await expect(original.locator('.advantage').first()).toHaveText(/A [+-]?\d/)
  const votes = await original.locator('.vote-count').allTextContents()
  expect(votes.reduce((sum, n) => sum + Number(n), 0)).toBe(4)
  // A rollout's text is one line until opened.
  await original.locator('.rollout summary').first().click()
  await expect(original.locator('.rollout-full').first()).toBeVisible()
  await expectScreenshot(page, 'rollouts-step')

  await page.getByRole('slider', { name: 'Step slider' }).press('ArrowRight')
  await expect(page).toHaveURL(/step=3/)
  await expect(stepLabel).toContainText('step 3')
  await page.getByRole('button', { name: 'Previous step' }).click()
  await expect(page).toHaveURL(/step=2/)

  const shown = page.locator('.group-card')
  const total = await shown.count()
  await page.getByLabel('only zero-std groups').check()
  const zeroStd = await shown.count()
  expect(zeroStd).toBeLessThanOrEqual(total)
  for (const c of await shown.all()) await expect(c.locator('.zero-std').first()).toBeVisible()
  expect(errors).toEqual([])
})

test('a Co-rewarding-I run shows its agreement heatmap, whose cells open that step', async ({ page }) => {
  const errors = await open(page, '/runs/2/rollouts?tab=agreement')
  const heatmap = page.locator('.agreement-chart')
  await expect(heatmap.locator('canvas').first()).toBeVisible()
  await expect(heatmap).toHaveAttribute('data-cells', /^[1-9]/)
  await expectScreenshot(page, 'rollouts-agreement')

  // Find a cell by its tooltip, then click it.
  const box = (await heatmap.boundingBox())!
  let found = false
  for (let fx = 0.15; fx < 0.95 && !found; fx += 0.1)
    for (let fy = 0.1; fy < 0.7 && !found; fy += 0.1) {
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy)
      found = await heatmap.getByText('click: rollouts at this step').isVisible()
      if (found) await page.mouse.click(box.x + box.width * fx, box.y + box.height * fy)
    }
  expect(found, 'no heatmap cell found under the mouse').toBe(true)
  await expect(page).toHaveURL(/step=\d+/)
  await expect(page).not.toHaveURL(/tab=agreement/)
  await expect(page.locator('.group-card.highlighted')).toBeVisible()
  expect(errors).toEqual([])
})
