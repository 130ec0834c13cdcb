// A researcher's round trip through the Runs views in Chromium against `cwb serve` on a fresh workspace with
// the demo dataset: fill the launch form (mode defaults, a seed sweep, an invalid value refused in place),
// launch a tiny run, watch it train, stop and resume it, duplicate it, and delete the copy once it finished.
import { expect, test, type Page } from '@playwright/test'
import { serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }

test.describe.configure({ mode: 'serial' })

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-runs-')
  served = await serve(['--workspace', workspace.dir], { CWB_DEMO: '1' })
})

test.afterAll(async () => {
  expect(await served.stop()).toBe(0)
  workspace.remove()
})

/** The step the live panel shows (its progress bar's value). */
async function shownStep(page: Page): Promise<number> {
  return Number(await page.getByRole('region', { name: 'Live progress' }).getByRole('progressbar').getAttribute('aria-valuenow'))
}

/** Whether the page's beforeunload handler would ask before the tab closes (Chromium shows its own dialog). */
const closingIsQuestioned = (page: Page): Promise<boolean> =>
  page.evaluate(() => {
    const win = globalThis as unknown as EventTarget // the page's window (this file is typed without the DOM)
    const event = new Event('beforeunload', { cancelable: true })
    win.dispatchEvent(event)
    return event.defaultPrevented
  })

/** A launch-form field by its config key. */
const field = (page: Page, key: string) => page.getByRole('dialog', { name: 'New run' }).getByLabel(key, { exact: true })

const status = (page: Page) => page.locator('.run-header .badge').first()

test('launch a tiny run from the form, watch it train, stop it, resume it to the end', async ({ page }) => {
  test.setTimeout(90_000)
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(served.url)
  await expect(page.getByRole('heading', { name: 'No runs yet' })).toBeVisible()

  await page.getByRole('button', { name: 'New run' }).first().click()
  const form = page.getByRole('dialog', { name: 'New run' })
  await expect(field(page, 'learning_rate')).toBeVisible()
  await expect(form.getByText('Config valid')).toBeVisible()

  // A tiny config: 24 steps of 2 questions x 4 rollouts, validation and a checkpoint every 4 steps. Tiny steps take a
  // fraction of a second: with 8 steps a Stop clicked at step 3 could land after the last one (the run finished).
  await field(page, 'name').fill('e2e-tiny')
  await field(page, 'steps').fill('24')
  await field(page, 'batch_size').fill('2')
  await field(page, 'rollouts').fill('4')
  await field(page, 'checkpoint_every').fill('4')
  await form.locator('summary', { hasText: 'validation' }).click()
  await field(page, 'every').fill('4')
  await field(page, 'questions').fill('16')

  // A new mode brings its defaults (Co-rewarding-I's KL coefficient) but keeps what the user typed.
  await form.locator('summary', { hasText: 'k3 KL loss' }).click()
  await field(page, 'mode').selectOption('co_rewarding_i')
  await expect(field(page, 'coef')).toHaveValue('0.005')
  await field(page, 'mode').selectOption('majority_voting')
  await expect(field(page, 'coef')).toHaveValue('0.001')
  await expect(field(page, 'steps')).toHaveValue('24')

  // A seed sweep launches the same config once per seed.
  await form.getByLabel('Seeds').fill('3')
  await expect(form.getByRole('button', { name: 'Launch 3 runs' })).toBeVisible()
  await expect(form).toContainText('e2e-tiny-seed1, e2e-tiny-seed2, e2e-tiny-seed3')
  await form.getByLabel('Seeds').fill('1')

  // An invalid value is refused next to its field, and the run cannot be launched.
  await field(page, 'learning_rate').fill('-1')
  const issue = form.locator('#field-learning_rate-help')
  await expect(issue).toHaveAttribute('role', 'alert')
  await expect(issue).not.toBeEmpty()
  await expect(form.getByRole('button', { name: 'Launch run' })).toBeDisabled()
  await expect(form.getByText('1 problem to fix')).toBeVisible()
  await expectScreenshot(page, 'runs-form-invalid')

  await field(page, 'learning_rate').fill('0.00001')
  await expect(form.getByText('Config valid')).toBeVisible()
  await expect(issue).not.toHaveAttribute('role', 'alert')
  await form.getByRole('button', { name: 'Launch run' }).click()

  // The new run's live panel: the step counter rises and the trainer's phase shows.
  await expect(page).toHaveURL(/#\/runs\/\d+$/)
  await expect(page.getByRole('heading', { level: 1 })).toContainText('e2e-tiny')
  await expect(status(page)).toHaveText('running', { timeout: 20_000 })
  await expect(page.getByLabel('Phase')).toHaveText(/rollout|scoring|update|validation|checkpoint|starting/, { timeout: 20_000 })
  await expect.poll(() => shownStep(page), { timeout: 30_000 }).toBeGreaterThanOrEqual(1)
  await expect(page.getByRole('region', { name: 'Latest metrics' })).toContainText('critic/score/mean')
  await expect(page.getByRole('log')).toContainText('Started')
  expect(await closingIsQuestioned(page), 'closing the tab while a run trains asks first').toBe(true)
  await expectScreenshot(page, 'run-live')
  const first = await shownStep(page)
  await expect.poll(() => shownStep(page), { timeout: 30_000 }).toBeGreaterThan(first)

  await page.getByRole('button', { name: 'Stop', exact: true }).click()
  await expect(status(page)).toHaveText('stopped', { timeout: 30_000 })
  expect(await shownStep(page)).toBeLessThan(24)
  await expect(page.getByRole('button', { name: 'Resume', exact: true })).toBeEnabled()
  await expect(page.getByRole('status', { name: 'Notice' }).filter({ hasText: 'Run stopped: e2e-tiny' })).toBeVisible()
  await expectScreenshot(page, 'run-stopped')

  await page.getByRole('button', { name: 'Resume', exact: true }).click()
  await expect(status(page)).toHaveText('finished', { timeout: 60_000 })
  expect(await shownStep(page)).toBe(24)
  await expect(page.getByRole('region', { name: 'Checkpoints', exact: true })).toContainText('step 24')
  await expect(page.getByRole('status', { name: 'Notice' }).filter({ hasText: 'Run finished: e2e-tiny' })).toBeVisible()
  await expectScreenshot(page, 'run-finished')
  expect(await closingIsQuestioned(page), 'nothing trains: the tab closes without a question').toBe(false)

  await page.getByRole('link', { name: /^Runs/ }).first().click()
  await expect(page.getByRole('cell', { name: 'e2e-tiny' })).toBeVisible()
  await expect(page.getByLabel('Queue')).toContainText('0 running, 0 queued')
  await expectScreenshot(page, 'runs-list')
  expect(errors).toEqual([])
})

test('duplicate a run, let the copy finish, delete it with the confirm dialog', async ({ page }) => {
  test.setTimeout(60_000)
  await page.goto(served.url)
  await page.getByRole('link', { name: 'e2e-tiny' }).click()
  await page.getByRole('button', { name: 'Duplicate', exact: true }).click()

  const form = page.getByRole('dialog', { name: 'New run' })
  await expect(field(page, 'name')).toHaveValue('e2e-tiny-copy')
  await expect(field(page, 'batch_size')).toHaveValue('2')
  await field(page, 'steps').fill('2')
  await expect(form.getByText('Config valid')).toBeVisible()
  await form.getByRole('button', { name: 'Launch run' }).click()

  await expect(page.getByRole('heading', { level: 1 })).toContainText('e2e-tiny-copy')
  await expect(status(page)).toHaveText('finished', { timeout: 45_000 })
  await page.getByRole('button', { name: 'Delete', exact: true }).click()
  const confirm = page.getByRole('dialog', { name: /Delete run/ })
  await expect(confirm).toContainText('e2e-tiny-copy')
  await expect(confirm).toContainText(/freeing \d/)
  await expectScreenshot(page, 'run-delete-confirm')
  await confirm.getByRole('button', { name: 'Delete run' }).click()

  await expect(page).toHaveURL(/#\/runs$/)
  await expect(page.getByText('Deleted e2e-tiny-copy')).toBeVisible()
  await expect(page.getByRole('cell', { name: 'e2e-tiny', exact: true })).toBeVisible()
  await expect(page.getByRole('cell', { name: 'e2e-tiny-copy' })).toHaveCount(0)
  await expectScreenshot(page, 'runs-after-delete')
})
