// Clicks through the workbench in Chromium against `cwb serve` on a fresh, bare workspace.
import { expect, test } from '@playwright/test'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { root, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp, saveScreenshot } from './screenshots'

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
    await page.getByRole('link', { name: new RegExp(`^${view.nav}`) }).click()
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(view.nav)
    await expect(page.getByRole('status').getByRole('heading', { name: view.heading })).toBeVisible()
    await expect(page.getByText('wasm', { exact: false }).first()).toBeVisible()
    await expectScreenshot(page, `empty-${view.nav.toLowerCase()}`, view.nav)
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

test('on first launch the Runs page offers the demo comparison, whose form has its own URL', async ({ page }) => {
  const errors = await openApp(page, served, '')
  const offer = page.getByRole('region', { name: 'Demo comparison' })
  await expect(offer).toContainText('The six reward modes, 60 steps each')
  await expect(offer).toContainText('about 5 minutes')
  await offer.getByRole('button', { name: 'Set up the demo comparison…' }).click()
  await expect(page).toHaveURL(/#\/runs\/new\?preset=demo-comparison$/)
  const form = page.getByRole('dialog', { name: 'New run' })
  await expect(form.getByRole('region', { name: 'Runs in this preset' })).toBeVisible()
  await expect(form.getByRole('button', { name: 'Launch 6 runs' })).toBeVisible()
  await expectScreenshot(page, 'runs-new-demo-preset')

  // The URL is the form: a reload (or a bookmark) opens it with the preset; Clear drops the preset from the URL.
  await page.reload()
  await expect(form.getByRole('button', { name: 'Launch 6 runs' })).toBeVisible()
  await form.getByRole('button', { name: 'Clear' }).click()
  await expect(page).toHaveURL(/#\/runs\/new$/)
  await form.getByRole('button', { name: /quick smoke test/ }).click()
  await expect(page).toHaveURL(/preset=smoke-test/)
  // A one-run preset's description names the mode the form has, also after the user switches it.
  await expect(form.locator('.preset-description').first()).toContainText('One tiny Co-rewarding-I run')
  await form.getByLabel('mode', { exact: true }).selectOption('entropy')
  await expect(form.locator('.preset-description').first()).toContainText('One tiny Entropy run')
  await page.goBack() // preset changes replace the address; Back closes the form
  await expect(page).toHaveURL(/#\/runs$/)
  await expect(form).toHaveCount(0)

  await page.goto(`${served.base}#/runs/new?preset=no-such-preset`)
  await expect(page.getByText('"no-such-preset" is not a preset')).toBeVisible()
  expect(errors).toEqual([])
})

test('Checkpoints shows the shipped base model before any run', async ({ page }) => {
  const errors = await openApp(page, served, '/checkpoints')
  await page.getByRole('button', { name: 'Inspect the shipped base model' }).click()
  await expect(page).toHaveURL(/folder=.*base-model/)
  const panel = page.getByRole('region', { name: 'Opened folder' })
  await expect(panel.getByText('shipped base model', { exact: true })).toBeVisible()
  await expect(panel).toContainText('893,056 parameters')
  await expect(page.getByRole('button', { name: 'Base model' })).toHaveClass(/selected/)
  await expectScreenshot(page, 'checkpoints-base-model')
  expect(errors).toEqual([])
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
