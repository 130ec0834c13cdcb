// Clicks through the workbench in Chromium against `cwb serve` on a fresh, bare workspace.
import { expect, test } from '@playwright/test'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { root, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, saveScreenshot } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-')
  served = await serve(['--workspace', workspace.dir, '--no-demo'])
})

test.afterAll(async () => {
  expect(await served.stop()).toBe(0)
  workspace.remove()
})

const views = [
  { nav: 'Datasets', heading: 'No datasets in this workspace' },
  { nav: 'Runs', heading: 'No runs yet' },
  { nav: 'Compare', heading: 'Nothing to compare yet' },
  { nav: 'Checkpoints', heading: 'No checkpoints yet' },
]

test('a request without the token is refused, the page included', async ({ page }) => {
  const response = await page.goto(served.base)
  expect(response?.status()).toBe(401)
  await expect(page.locator('body')).toContainText('needs its access token')
})

test('each view opens from the sidebar and shows its empty state', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()))
  await page.goto(served.url)
  await expect(page).toHaveURL(/\/#\/runs$/) // the token has been traded for a cookie and left the address bar
  for (const view of views) {
    await page
      .getByRole('navigation', { name: 'Views' })
      .getByRole('link', { name: new RegExp(`^${view.nav}`) })
      .click()
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(view.nav)
    await expect(page.getByRole('status').getByRole('heading', { name: view.heading })).toBeVisible()
    await expect(page.getByText('wasm', { exact: false }).first()).toBeVisible()
    await expectScreenshot(page, `empty-${view.nav.toLowerCase()}`, view.nav)
    // Without the demo dataset (--no-demo) the Runs page does not offer the demo comparison; it says what to do.
    if (view.nav === 'Runs')
      await expect(page.getByRole('status')).toContainText(
        'This workspace has no demo dataset: import a dataset, then press New run',
      )
  }
  expect(errors).toEqual([])
})

test('the status bar says which backends were found and why the others are missing', async ({ page }) => {
  await page.goto(served.url)
  const status = page.locator('footer.status')
  await expect(status.locator('.chip.ok', { hasText: 'tfjs wasm' })).toBeVisible()
  await expect(status.locator('.chip.missing', { hasText: 'tfjs tensorflow-gpu' })).toBeVisible()
  await status.getByRole('button').click()
  const panel = page.getByRole('dialog', { name: 'Compute backends' })
  await expect(panel.locator('tr', { hasText: 'tensorflow-gpu' })).toContainText('npm run setup:gpu')
  await expect(panel.locator('tr', { hasText: 'onnxruntime cpu' })).toContainText('found')
  await expect(status).toContainText(`workspace ${workspace.dir}`)
  await saveScreenshot(page, 'status-backends')
})

test('a run stored by another process appears in the open Runs view without a reload', async ({ page }) => {
  await page.goto(`${served.url}`)
  await expect(page.getByRole('heading', { name: 'No runs yet' })).toBeVisible()
  const insert = `new (require('better-sqlite3'))(process.argv[1]).prepare("INSERT INTO runs (name, mode, config, status) VALUES ('mv-from-cli', 'majority_voting', '{}', 'running')").run()`
  const writer = spawnSync(process.execPath, ['-e', insert, join(workspace.dir, 'workbench.db')], { cwd: root, encoding: 'utf8' })
  expect(writer.stderr).toBe('')
  await expect(page.getByRole('cell', { name: 'mv-from-cli' })).toBeVisible()
  // The mode by its display name; its id in the tooltip.
  await expect(page.getByRole('cell', { name: 'Majority voting', exact: true }).getByTitle('majority_voting')).toBeVisible()
  await saveScreenshot(page, 'runs-live')
})
