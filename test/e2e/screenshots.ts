import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expect, type Page } from '@playwright/test'
import { PNG } from 'pngjs'

export const screenshotDir = resolve(import.meta.dirname, '../../test-results/screenshots')

/** How much of a screenshot is not its most common colour, and how many colours it has: a blank page scores ~0. */
export function visibleContent(png: Buffer): { inkShare: number; colours: number } {
  const image = PNG.sync.read(png)
  const counts = new Map<number, number>()
  for (let i = 0; i < image.data.length; i += 4) {
    const key = (image.data[i]! << 16) | (image.data[i + 1]! << 8) | image.data[i + 2]!
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const pixels = image.width * image.height
  const background = Math.max(...counts.values())
  return { inkShare: 1 - background / pixels, colours: counts.size }
}

export async function saveScreenshot(page: Page, name: string): Promise<Buffer> {
  mkdirSync(screenshotDir, { recursive: true })
  return page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true })
}

/** Saves a full-page screenshot as `name` and checks that it shows something (`label` names it in a failure). */
export async function expectScreenshot(page: Page, name: string, label = name): Promise<void> {
  const content = visibleContent(await saveScreenshot(page, name))
  expect(content.inkShare, `${label} screenshot looks blank`).toBeGreaterThan(0.15)
  expect(content.colours, `${label} screenshot has too few colours`).toBeGreaterThan(50)
}

/**
 * Opens the app served at `served` (trading the token for its cookie), then the hash route `hash` when given; returns
 * the page errors and console errors seen from then on (those matching `allowed` aside), for the test to expect none.
 */
export async function openApp(
  page: Page,
  served: { url: string; base: string },
  hash: string,
  allowed: RegExp[] = [],
): Promise<string[]> {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error' && !allowed.some((pattern) => pattern.test(message.text()))) errors.push(message.text())
  })
  await page.goto(served.url)
  await expect(page).toHaveURL(/\/#\/runs$/)
  if (hash) await page.goto(`${served.base}#${hash}`)
  return errors
}
