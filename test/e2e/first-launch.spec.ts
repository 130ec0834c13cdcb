// A new user's first minutes, in Chromium against `cwb serve` on a fresh workspace with the demo: the Runs page
// offers the demo comparison, whose New run form has its own URL; notices sit in the sidebar and fade; Checkpoints
// shows the shipped base model before any run exists.
import { expect, test } from '@playwright/test'
import { serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-first-launch-')
  served = await serve(['--workspace', workspace.dir], { CWB_DEMO: '1' })
})

test.afterAll(async () => {
  expect(await served?.stop()).toBe(0)
  workspace?.remove()
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

test('a toast sits in the sidebar, never over a control, stays while the pointer is on it, and fades', async ({ page }) => {
  await page.clock.install()
  const errors = await openApp(page, served, '/runs/new?preset=no-such-preset')
  const toast = page.getByRole('status', { name: 'Notice' }).filter({ hasText: 'No such preset' })
  await expect(toast).toBeVisible()
  const sidebar = (await page.getByRole('navigation', { name: 'Views' }).boundingBox())!
  // Measured once it has slid in (its entrance moves it 12 px from the left).
  await expect(toast).toHaveCSS('opacity', '1')
  await expect.poll(async () => (await toast.boundingBox())!.x).toBeGreaterThanOrEqual(sidebar.x)
  const box = (await toast.boundingBox())!
  expect(box.x + box.width).toBeLessThanOrEqual(sidebar.x + sidebar.width)
  expect(box.y + box.height).toBeLessThanOrEqual(sidebar.y + sidebar.height)
  await expectScreenshot(page, 'toast-in-sidebar')

  await toast.hover()
  await page.clock.runFor(20_000)
  await expect(toast).toBeVisible() // held while read
  await page.mouse.move(900, 400)
  await page.clock.runFor(5_000)
  await expect(toast).toHaveCount(0)
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
