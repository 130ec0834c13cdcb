// The Datasets view's ways back to a record, in Chromium against `cwb serve` on a workspace with one imported
// dataset (150 pairs, accepted as an import leaves them; two pages of the list): undo moves to the record it changes
// (loading its page, or offering to clear a filter that hides it), the History names records by their numbers and
// jumps to them, the filter, the search and the selected record live in the URL (reload, back/forward, a pasted
// link), and a bulk reject can include reviewed paraphrases, counted first (issue 17, item 10).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { cwb, lastJson, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp } from './screenshots'
import { pageCall } from './api'

let served: Served
let workspace: { dir: string; remove: () => void }
let dataset: number

test.describe.configure({ mode: 'serial' })

const RECORDS = 150
/** Every 10th record (1, 11, 21, ...) is about a triangle; the others about apples. */
const triangle = (n: number): boolean => n % 10 === 1
const question = (n: number): string =>
  triangle(n)
    ? `A triangle has sides ${n}, ${n + 1} and ${n + 2}. What is its perimeter?`
    : `Sam has ${n} apples and buys ${n + 3} more. How many apples does Sam have now?`
const rewrite = (n: number): string =>
  triangle(n)
    ? `The sides of a triangle measure ${n}, ${n + 1} and ${n + 2}. Find the perimeter.`
    : `A baker bakes ${n} loaves and then ${n + 3} more. How many loaves are there?`
const answer = (n: number): string => String(triangle(n) ? 3 * n + 3 : 2 * n + 3)
const triangles = Array.from({ length: RECORDS }, (_, i) => i + 1).filter(triangle).length

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-datasets-nav-')
  const file = join(workspace.dir, 'review.jsonl')
  const rows = Array.from({ length: RECORDS }, (_, i) => ({
    original_question: question(i + 1),
    rephrased_question: rewrite(i + 1),
    solution: answer(i + 1),
  }))
  writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  const ws = join(workspace.dir, 'ws')
  const imported = cwb(['import', file, '--name', 'review', '--workspace', ws, '--json'])
  expect(imported.code, imported.stderr).toBe(0)
  dataset = lastJson<{ dataset: number }>(imported.stdout).dataset
  served = await serve(['--workspace', ws, '--no-demo'])
})

test.afterAll(async () => {
  expect(await served.stop()).toBe(0)
  workspace.remove()
})

/** Asks the host directly, through the same API the page uses (the page's cookie authenticates it). */
const call = <T>(page: Page, method: string, params: object): Promise<T> => pageCall<T>(page, served.base, method, params)
const statusOf = async (page: Page, n: number): Promise<string> =>
  (
    await call<{ rows: { paraphrases: { status: string }[] }[] }>(page, 'datasets.records', {
      dataset,
      offset: n - 1,
      limit: 1,
    })
  ).rows[0]!.paraphrases[0]!.status

const recordList = (page: Page) => page.getByRole('listbox', { name: 'Records' })
const selectedRow = (page: Page) => recordList(page).getByRole('option', { selected: true })
const pair = (page: Page) => page.getByRole('region', { name: 'Pair' })
const filters = (page: Page) => page.getByRole('search', { name: 'Filter records' })
const notice = (page: Page, text: string | RegExp) => page.getByRole('status', { name: 'Notice' }).filter({ hasText: text })

/** Scrolls the list to record n (the list renders only the rows in view) and clicks it. */
async function clickRecord(page: Page, n: number): Promise<void> {
  await recordList(page).evaluate((el, top) => (el.scrollTop = top), (n - 3) * 58)
  const row = recordList(page)
    .getByRole('option')
    .filter({ has: page.locator('.row-pos', { hasText: new RegExp(`^${n}$`) }) })
  await row.click()
  await expect(selectedRow(page).locator('.row-pos')).toHaveText(String(n))
}

test('undo moves to the record it changes, on another page, and offers to clear a filter that hides it', async ({ page }) => {
  const errors = await openApp(page, served, `/datasets/${dataset}`)
  await expect(page.getByTestId('filter-total')).toHaveText(`${RECORDS} records`)
  await clickRecord(page, 3)
  await page.keyboard.press('r') // reject record 3's paraphrase, on to record 4
  await expect(selectedRow(page).locator('.row-pos')).toHaveText('4')
  await expect.poll(() => statusOf(page, 3)).toBe('rejected')

  // Far away, on the list's second page: u undoes record 3's reject and goes back there.
  await clickRecord(page, 142)
  await expect(pair(page)).toContainText('Record 142')
  await page.keyboard.press('u')
  await expect(selectedRow(page).locator('.row-pos')).toHaveText('3')
  await expect(pair(page)).toContainText('Record 3')
  await expect(notice(page, 'Undone')).toContainText('The status edit of a paraphrase of record 3')
  await expect.poll(() => statusOf(page, 3)).toBe('accepted')
  await expect(recordList(page).getByRole('option', { selected: true })).toBeInViewport()

  // An undo whose record the filter hides says so, and the toast's button clears the filter and goes there.
  await clickRecord(page, 5)
  await page.keyboard.press('r')
  await expect.poll(() => statusOf(page, 5)).toBe('rejected')
  await filters(page).getByLabel('Search').fill('triangle')
  await expect(page.getByTestId('filter-total')).toHaveText(`${triangles} records`)
  await page.keyboard.press('Escape') // out of the search box, where u is a letter
  await page.keyboard.press('u')
  const hidden = notice(page, 'hides record 5')
  await expect(hidden).toContainText('The status edit of a paraphrase of record 5')
  await expect(hidden).toContainText('The filter (matching “triangle”) hides record 5.')
  await expect.poll(() => statusOf(page, 5)).toBe('accepted')
  await expectScreenshot(page, 'datasets-undo-hidden')
  await hidden.getByRole('button', { name: 'Clear the filter' }).click()
  await expect(page.getByTestId('filter-total')).toHaveText(`${RECORDS} records`)
  await expect(filters(page).getByLabel('Search')).toHaveValue('')
  await expect(selectedRow(page).locator('.row-pos')).toHaveText('5')
  await expect(pair(page)).toContainText('Record 5')
  expect(errors).toEqual([])
})

test('History names each edit by its record number and a click selects that record', async ({ page }) => {
  const errors = await openApp(page, served, `/datasets/${dataset}`)
  await clickRecord(page, 120)
  await page.keyboard.press('r')
  await expect.poll(() => statusOf(page, 120)).toBe('rejected')
  await clickRecord(page, 7)
  await page.keyboard.press('r')
  await expect.poll(() => statusOf(page, 7)).toBe('rejected')
  await clickRecord(page, 2)

  await page.getByRole('button', { name: 'History' }).click()
  const history = page.getByRole('dialog', { name: 'History' })
  const entries = history.getByRole('listitem')
  await expect(entries).toHaveCount(2)
  await expect(entries.nth(0)).toContainText('Record 7 · status')
  await expect(entries.nth(1)).toContainText('Record 120 · status')
  await expect(entries.nth(1)).toContainText('accepted → rejected')
  // The stored ids are in the tooltip only.
  await expect(entries.nth(1).getByRole('button')).toHaveAttribute('title', /paraphrase id \d+, record id \d+/)
  await expect(history).not.toContainText(/paraphrase \d/)
  await expectScreenshot(page, 'datasets-history')

  await entries.nth(1).getByRole('button').click()
  await expect(selectedRow(page).locator('.row-pos')).toHaveText('120')
  await expect(pair(page)).toContainText('Record 120')
  await expect(pair(page)).toContainText(`Sam has 120 apples`)

  // The History's undo button goes to the record as u does.
  await history.getByRole('button', { name: /Undo last step/ }).click()
  await expect(selectedRow(page).locator('.row-pos')).toHaveText('7')
  await expect(entries).toHaveCount(1)
  await history.getByRole('button', { name: /Undo last step/ }).click()
  await expect(selectedRow(page).locator('.row-pos')).toHaveText('120')
  await expect(history).toContainText('No edits yet')
  expect(errors).toEqual([])
})

test('the filter, the search and the selected record are in the URL: reload, back/forward and a pasted link restore them', async ({
  page,
}) => {
  const errors = await openApp(page, served, `/datasets/${dataset}`)
  await expect(page.getByTestId('filter-total')).toHaveText(`${RECORDS} records`)
  await expect(page).toHaveURL(new RegExp(`#/datasets/${dataset}$`))

  await filters(page).getByLabel('Status').selectOption('accepted')
  await expect(page).toHaveURL(/\?status=accepted$/)
  await filters(page).getByLabel('Search').fill('triangle')
  await expect(page).toHaveURL(/\?q=triangle&status=accepted$/)
  await expect(page.getByTestId('filter-total')).toHaveText(`${triangles} records`)
  await recordList(page).getByRole('option').nth(3).click() // record 31
  await expect(pair(page)).toContainText('Record 31')
  await expect(page).toHaveURL(/\?q=triangle&status=accepted&record=31$/)

  // Reload: the same filter, search and record.
  await page.reload()
  await expect(page.getByTestId('filter-total')).toHaveText(`${triangles} records`)
  await expect(filters(page).getByLabel('Search')).toHaveValue('triangle')
  await expect(filters(page).getByLabel('Status')).toHaveValue('accepted')
  await expect(selectedRow(page).locator('.row-pos')).toHaveText('31')
  await expect(pair(page)).toContainText('Record 31')

  // Back: starting the search was a step (refining it replaces that entry as it is typed), so back goes to the
  // status alone; forward returns to the search and its record.
  await page.goBack()
  await expect(page).toHaveURL(/\?status=accepted$/)
  await expect(filters(page).getByLabel('Search')).toHaveValue('')
  await expect(page.getByTestId('filter-total')).toHaveText(`${RECORDS} records`)
  await page.goForward()
  await expect(filters(page).getByLabel('Search')).toHaveValue('triangle')
  await expect(page.getByTestId('filter-total')).toHaveText(`${triangles} records`)
  await expect(selectedRow(page).locator('.row-pos')).toHaveText('31')
  await page.goBack()
  await page.goBack()
  await expect(page).toHaveURL(new RegExp(`#/datasets/${dataset}$`))
  await expect(filters(page).getByLabel('Status')).toHaveValue('')

  // A pasted link in a new tab: severity and a record on the list's second page.
  const pasted = await page.context().newPage()
  await pasted.goto(`${served.base}#/datasets/${dataset}?q=apples&record=140`)
  await expect(pasted.getByTestId('filter-total')).toHaveText(`${RECORDS - triangles} records`)
  await expect(pasted.getByLabel('Search')).toHaveValue('apples')
  await expect(pasted.getByRole('region', { name: 'Pair' })).toContainText('Record 140')
  await expect(recordList(pasted).getByRole('option', { selected: true })).toBeInViewport()
  await expectScreenshot(pasted, 'datasets-url-record')
  // A link to a record its filter hides says so.
  await pasted.goto(`${served.base}#/datasets/${dataset}?q=apples&record=141`)
  await expect(notice(pasted, 'hides record 141')).toBeVisible()
  await pasted.close()
  expect(errors).toEqual([])
})

test('a bulk reject can include reviewed paraphrases, counted first, and one undo reverts it', async ({ page }) => {
  const errors = await openApp(page, served, `/datasets/${dataset}?q=triangle`)
  await expect(page.getByTestId('filter-total')).toHaveText(`${triangles} records`)
  // The import left every paraphrase accepted: the pending-only reject would change nothing.
  await page.getByRole('button', { name: 'Reject filter…' }).click()
  const confirm = page.getByRole('dialog', { name: `Reject the pending paraphrases of ${triangles} records?` })
  await expect(confirm.getByTestId('bulk-count')).toHaveText(
    `This changes 0 paraphrases (${triangles} paraphrases with reviewed ones included).`,
  )
  await expect(confirm.getByRole('button', { name: 'Reject all' })).toBeDisabled()
  const include = confirm.getByLabel(/Include reviewed \(accepted\/rejected\) paraphrases/)
  await expect(confirm).toContainText(`(${triangles} accepted)`)
  await include.check()
  const all = page.getByRole('dialog', { name: `Reject the paraphrases of ${triangles} records?` })
  await expect(all.getByTestId('bulk-count')).toHaveText(`This changes ${triangles} paraphrases (${triangles} accepted).`)
  await expectScreenshot(page, 'datasets-bulk-include-reviewed')
  await all.getByRole('button', { name: 'Reject all' }).click()
  await expect(notice(page, `Rejected ${triangles} paraphrases (${triangles} were accepted)`)).toBeVisible()
  await expect.poll(() => statusOf(page, 11)).toBe('rejected')
  await expect.poll(() => statusOf(page, 12)).toBe('accepted')

  // One undo step puts all of them back.
  await page.keyboard.press('u')
  await expect(notice(page, 'Undone')).toContainText(`The status change of ${triangles} paraphrases of records 1, 11, 21 and`)
  await expect.poll(() => statusOf(page, 11)).toBe('accepted')
  await expect.poll(() => statusOf(page, 141)).toBe('accepted')
  expect(errors).toEqual([])
})
