// Three finished runs written straight into the store (no training), in Chromium against `cwb serve`: a run keeps
// its colour and its mode's display name on every view, and the rollout viewer marks the groups whose pseudo label
// came from a tied vote, stepping between steps with ← and →.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, test, type Locator, type Page } from '@playwright/test'
import { root, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }

test.describe.configure({ mode: 'serial' })

const runs = [
  { name: 'mv-ties', mode: 'majority_voting', label: 'Majority voting' },
  { name: 'co1-ties', mode: 'co_rewarding_i', label: 'Co-rewarding-I' },
  { name: 'gt-plain', mode: 'ground_truth', label: 'Ground truth' },
] as const
/** Runs 1, 2 and 3 take the palette's first three colours (renderer/src/charts/colours.ts). */
const colours = ['rgb(59, 91, 219)', 'rgb(232, 89, 12)', 'rgb(47, 158, 68)']

interface Sample {
  run: number
  step: number
  group: number
  view: 'original' | 'paraphrase'
  text: string
  answer: string
  label: string
  reward: number
  advantage: number
  gt: string | null
}

/** A view's rollouts with the answers given, scored against `label` with GRPO's advantages (unbiased std, 1e-6). */
function rollouts(
  at: { run: number; step: number; group: number; gt?: string },
  view: Sample['view'],
  answers: string[],
  label: string,
): Sample[] {
  const rewards = answers.map((answer) => (answer !== '' && answer === label ? 1 : 0))
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / (rewards.length - 1))
  return answers.map((answer, i) => ({
    run: at.run,
    step: at.step,
    group: at.group,
    view,
    text: answer ? `The total is ${answer}. The answer is \\boxed{${answer}}.` : 'I am not sure.',
    answer,
    label,
    reward: rewards[i]!,
    advantage: (rewards[i]! - mean) / (std + 1e-6),
    gt: at.gt ?? null,
  }))
}

const samples: Sample[] = [
  // Majority voting, step 1: a 2-2 tie the tie-break gives to 7 (seen first; GT is 8), a 3-1 win, a 1-1-1-1 tie.
  ...rollouts({ run: 1, step: 1, group: 0, gt: '8' }, 'original', ['7', '8', '8', '7'], '7'),
  ...rollouts({ run: 1, step: 1, group: 1, gt: '5' }, 'original', ['5', '5', '7', '5'], '5'),
  ...rollouts({ run: 1, step: 1, group: 2, gt: '3' }, 'original', ['1', '2', '3', '4'], '1'),
  // Step 2: clear majorities only.
  ...rollouts({ run: 1, step: 2, group: 0, gt: '8' }, 'original', ['8', '8', '8', '7'], '8'),
  ...rollouts({ run: 1, step: 2, group: 1, gt: '5' }, 'original', ['5', '5', '5', '5'], '5'),
  // Co-rewarding-I: each view ties 2-2, so each is scored against a label the tie-break chose from the other.
  ...rollouts({ run: 2, step: 1, group: 0, gt: '3' }, 'original', ['3', '3', '4', '4'], '4'),
  ...rollouts({ run: 2, step: 1, group: 0, gt: '3' }, 'paraphrase', ['4', '3', '3', '4'], '3'),
]

/** Stores the runs with their metrics and rollouts; the host sees the commit (a plain Node child: Playwright's loader cannot load better-sqlite3). */
async function storeRuns(): Promise<void> {
  const reply = await fetch(`${served.base}api/call/runs.form`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
    body: '{}',
  })
  const { result } = (await reply.json()) as { result: { defaults: Record<string, Record<string, unknown>> } }
  const configs = runs.map(({ name, mode }) => ({ ...result.defaults[mode], name, mode, steps: 2 }))
  const metrics = [
    ...[1, 2, 3].flatMap((run) =>
      [1, 2].map((step) => ({ run, step, key: 'critic/score/mean', value: 0.25 * step + 0.1 * run })),
    ),
    // Held-out accuracy validated at steps 0 and 2: the list shows the step-2 value (40%, 70%, 65%).
    ...[1, 2, 3].flatMap((run) => [
      { run, step: 0, key: 'val-core/demo/reward/mean@1', value: 0.5 },
      { run, step: 2, key: 'val-core/demo/reward/mean@1', value: [0.4, 0.7, 0.65][run - 1]! },
    ]),
  ]
  const script = `
    const Database = require('better-sqlite3')
    const [file, data] = process.argv.slice(1)
    const { configs, metrics, samples } = JSON.parse(data)
    const db = new Database(file)
    db.transaction(() => {
      for (const c of configs)
        db.prepare("INSERT INTO runs (name, mode, config, status, seed) VALUES (?, ?, ?, 'finished', 1)").run(c.name, c.mode, JSON.stringify(c))
      for (const m of metrics)
        db.prepare('INSERT INTO metrics (run_id, step, key, value, wall_time, tokens) VALUES (?, ?, ?, ?, ?, ?)')
          .run(m.run, m.step, m.key, m.value, m.step, 100 * m.step)
      for (const s of samples)
        db.prepare(
          'INSERT INTO samples (run_id, step, group_index, view, prompt, text, answer, pseudo_label, reward, advantage, gt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        ).run(s.run, s.step, s.group, s.view, 'Question ' + s.group + ' of step ' + s.step + ' (' + s.view + ')', s.text, s.answer, s.label, s.reward, s.advantage, s.gt)
    })()
    db.close()`
  const child = spawnSync(
    process.execPath,
    ['-e', script, join(workspace.dir, 'workbench.db'), JSON.stringify({ configs, metrics, samples })],
    { cwd: root, encoding: 'utf8' },
  )
  expect(child.status, child.stderr).toBe(0)
}

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-stored-')
  served = await serve(['--workspace', workspace.dir, '--no-demo'])
  await storeRuns()
})

test.afterAll(async () => {
  expect(await served.stop()).toBe(0)
  workspace.remove()
})

const background = (swatch: Locator): Promise<string> => swatch.evaluate((element) => getComputedStyle(element).backgroundColor)

/** Run 2's colour and mode wherever it is shown; `mode` is where its mode name is. */
async function expectRunTwo(swatch: Locator, mode?: Locator): Promise<void> {
  await expect(swatch).toBeVisible()
  expect(await background(swatch)).toBe(colours[1])
  if (mode) {
    await expect(mode).toHaveText(runs[1].label)
    await expect(mode).toHaveAttribute('title', runs[1].mode)
  }
}

test('a run keeps its colour and its mode’s name in the runs list, on its page, in Compare and in Checkpoints', async ({
  page,
}) => {
  const errors = await openApp(page, served, '/runs')
  for (const [i, run] of runs.entries()) {
    const row = page.locator('tr.run-row', { hasText: run.name })
    expect(await background(row.locator('.run-swatch'))).toBe(colours[i])
    await expect(row.getByTitle(run.mode, { exact: true })).toHaveText(run.label)
  }
  await expectScreenshot(page, 'stored-runs-list')

  await page.goto(`${served.base}#/runs/2`)
  await expectRunTwo(page.locator('.run-header .run-swatch'), page.locator('.run-meta .mode-name'))

  // Picked with one run, with two in either order, and with three: run 2 stays orange.
  for (const picked of ['2', '1,2', '2,1', '1,2,3', '3,2']) {
    await page.goto(`${served.base}#/compare?runs=${picked}`)
    const legendEntry = page.getByLabel('Legend').getByRole('button', { name: runs[1].name })
    await expectRunTwo(legendEntry.locator('.legend-line'))
    const pickerRow = page.locator('.picker-row', { hasText: runs[1].name })
    await expectRunTwo(pickerRow.locator('.swatch'), pickerRow.locator('.mode-name'))
  }
  await expectScreenshot(page, 'stored-runs-compare')

  await page.goto(`${served.base}#/checkpoints?run=2`)
  await expectRunTwo(page.locator('.run-line .run-swatch'), page.locator('.run-line .mode-name'))
  expect(errors).toEqual([])
})

async function tieBadges(page: Page): Promise<Locator> {
  await expect(page.locator('.group-card').first()).toBeVisible()
  return page.locator('.tie-badge')
}

test('the rollout viewer marks a tied vote with its counts and the tie-break rule, and ←/→ step through the steps', async ({
  page,
}) => {
  const errors = await openApp(page, served, '/runs/1/rollouts?step=1')
  await expect(page.locator('.step-label')).toContainText('step 1')
  const cards = page.locator('.group-card')
  await expect(cards).toHaveCount(3)
  await expect(await tieBadges(page)).toHaveCount(2)

  const twoTwo = cards.nth(0).locator('.group-labels .tie-badge')
  await expect(twoTwo).toHaveText('tie 2–2')
  await expect(twoTwo).toHaveAttribute('title', /7, 8 got 2 of 4 votes each.*the answer seen first in rollout order wins.*is 7\./)
  await expect(cards.nth(1).locator('.tie-badge')).toHaveCount(0)
  await expect(cards.nth(2).locator('.group-labels .tie-badge')).toHaveText('tie 1–1–1–1')
  await expectScreenshot(page, 'rollouts-tie')

  await page.getByLabel('only tied votes').check()
  await expect(cards).toHaveCount(2)
  await page.getByLabel('only tied votes').uncheck()

  // The page has the keys (not the slider): → goes to step 2, where no vote tied, and ← comes back.
  await page.locator('.rollouts-header h1').click()
  await page.keyboard.press('ArrowRight')
  await expect(page).toHaveURL(/step=2/)
  await expect(page.locator('.step-label')).toContainText('step 2')
  await expect(await tieBadges(page)).toHaveCount(0)
  await page.keyboard.press('ArrowRight') // already the last step
  await expect(page).toHaveURL(/step=2/)
  await page.keyboard.press('ArrowLeft')
  await expect(page).toHaveURL(/step=1/)
  await expect(await tieBadges(page)).toHaveCount(2)
  expect(errors).toEqual([])
})

test('a Co-rewarding-I group marks the tie behind each view’s label: the other view’s vote', async ({ page }) => {
  const errors = await openApp(page, served, '/runs/2/rollouts?step=1')
  const card = page.locator('.group-card').first()
  await expect(card.locator('.group-labels .tie-badge')).toHaveAttribute('title', /4, 3 got 2 of 4 votes each.*is 4\./)
  await expect(card.locator('.view-block[data-view="paraphrase"] .tie-badge')).toHaveAttribute(
    'title',
    /3, 4 got 2 of 4 votes each.*is 3\./,
  )
  await expectScreenshot(page, 'rollouts-tie-co-rewarding-i')
  expect(errors).toEqual([])
})

/** The run names in the list, top to bottom. */
const listed = (page: Page): Promise<string[]> => page.locator('tr.run-row .run-name a').allTextContents()

test('the runs list shows the latest held-out accuracy and training reward, sorts by a column, and bulk-deletes', async ({
  page,
}) => {
  const errors = await openApp(page, served, '/runs')
  const row = page.locator('tr.run-row', { hasText: 'co1-ties' })
  await expect(row.getByTitle('at step 2')).toHaveText('70.0%')
  await expect(row.locator('td.num').nth(1)).toHaveText('0.7')
  expect(await listed(page)).toEqual(['gt-plain', 'co1-ties', 'mv-ties']) // newest first

  const heldOut = page.getByRole('columnheader', { name: 'Held-out' })
  await heldOut.getByRole('button').click()
  await expect(page).toHaveURL(/sort=heldOut/)
  await expect(heldOut).toHaveAttribute('aria-sort', 'descending')
  await expect.poll(() => listed(page)).toEqual(['co1-ties', 'gt-plain', 'mv-ties'])
  await heldOut.getByRole('button').click()
  await expect(heldOut).toHaveAttribute('aria-sort', 'ascending')
  await expect.poll(() => listed(page)).toEqual(['mv-ties', 'gt-plain', 'co1-ties'])
  await page.reload() // the order is in the URL
  await expect.poll(() => listed(page)).toEqual(['mv-ties', 'gt-plain', 'co1-ties'])
  await page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click()
  await expect.poll(() => listed(page)).toEqual(['co1-ties', 'gt-plain', 'mv-ties'])
  await expectScreenshot(page, 'runs-list-sorted')

  await page.getByLabel('Select run 1').check()
  await page.getByLabel('Select run 3').check()
  await page.getByRole('button', { name: 'Delete selected (2)' }).click()
  const dialog = page.getByRole('dialog', { name: 'Delete 2 runs?' })
  await expect(dialog).toContainText('gt-plain, mv-ties')
  await dialog.getByRole('button', { name: 'Delete 2' }).click()
  await expect(page.getByText('Deleted 2 runs')).toBeVisible()
  await expect.poll(() => listed(page)).toEqual(['co1-ties'])
  await expect(page.getByRole('button', { name: 'Delete selected' })).toBeDisabled()
  expect(errors).toEqual([])
})
