// A reviewer's round trip through the Datasets views in Chromium against `cwb serve` on a bare workspace: import a
// pairs Parquet file through the dialog (uploaded, previewed, named), review pairs with the keyboard (j/k, a, r),
// edit one (e, type, Enter), undo it (u), bulk-accept a filter, export the accepted pairs, and delete the dataset.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { parquetWriteFile } from 'hyparquet-writer'
import { serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot } from './screenshots'
import { pageCall } from './api'

let served: Served
let workspace: { dir: string; remove: () => void }
let fixture: string
let datasetUrl: string

test.describe.configure({ mode: 'serial' })

/**
 * 30 pairs: most are sound rewrites; every 7th drops a number (records 7, 14, ...), record 5 gives the answer away, record 6
 * is a near copy, record 9 repeats record 1's question, record 10 has no answer, and the last 5 are the test split.
 */
const numbers = (i: number): [number, number] => [12 + i, 5 + ((i * 7) % 11)]
const pairs0 = 'Sam has 12 apples and buys 5 more at the market. How many apples does Sam have now?'

function pairs(): { original: string; rewrite: string; solution: string; split: string }[] {
  return Array.from({ length: 30 }, (_, i) => {
    const [a, b] = numbers(i)
    const original = `Sam has ${a} apples and buys ${b} more at the market. How many apples does Sam have now?`
    let rewrite = `A baker bakes ${a} loaves in the morning and ${b} more in the afternoon. How many loaves are there in total?`
    if (i === 3 || i % 7 === 6)
      rewrite = `A baker bakes ${a} loaves in the morning and a few more later. How many loaves are there?`
    if (i === 4) rewrite = `A baker bakes ${a} loaves and then ${b} more, ${a + b} in all. How many loaves are there?`
    if (i === 5) rewrite = original.replace('market', 'shop')
    return {
      original: i === 8 ? pairs0 : original,
      rewrite,
      solution: i === 9 ? '' : String(a + b),
      split: i >= 25 ? 'test' : 'train',
    }
  })
}
function writePairs(file: string): void {
  const rows = pairs()
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'idx', data: rows.map((_, i) => i), type: 'INT32' },
      { name: 'original_question', data: rows.map((r) => r.original), type: 'STRING' },
      { name: 'rephrased_question', data: rows.map((r) => r.rewrite), type: 'STRING' },
      { name: 'solution', data: rows.map((r) => r.solution), type: 'STRING' },
      { name: 'level', data: rows.map(() => 'Level 1'), type: 'STRING' },
      { name: 'type', data: rows.map(() => 'Prealgebra'), type: 'STRING' },
      { name: 'split', data: rows.map((r) => r.split), type: 'STRING' },
    ],
  })
}

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-datasets-')
  fixture = join(workspace.dir, 'apples-pairs.parquet')
  writePairs(fixture)
  served = await serve(['--workspace', join(workspace.dir, 'ws'), '--no-demo'])
})

test.afterAll(async () => {
  expect(await served.stop()).toBe(0)
  workspace.remove()
})

const datasetId = (): number => Number(datasetUrl.split('/').pop())

/** Asks the host directly, through the same API the page uses (the page's cookie authenticates it). */
const call = <T>(page: Page, method: string, params: object): Promise<T> => pageCall<T>(page, served.base, method, params)

type RecordPage = { total: number; rows: { position: number; paraphrases: { status: string; text: string }[] }[] }
/** The host's view of the records' paraphrases. */
const records = (page: Page, filter: object = {}): Promise<RecordPage> =>
  call<RecordPage>(page, 'datasets.records', { dataset: datasetId(), filter, limit: 100 })

const recordList = (page: Page) => page.getByRole('listbox', { name: 'Records' })
const selectedRow = (page: Page) => recordList(page).getByRole('option', { selected: true })
const pair = (page: Page) => page.getByRole('region', { name: 'Pair' })

function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()))
  return errors
}

test('a pairs Parquet file is uploaded, previewed and imported through the dialog', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.getByRole('link', { name: /^Datasets/ }).click()
  await expect(page.getByRole('heading', { name: 'No datasets in this workspace' })).toBeVisible()

  await page.getByRole('button', { name: 'Import…', exact: true }).click()
  const dialog = page.getByRole('dialog', { name: 'Import a dataset' })
  await dialog.getByLabel('Choose a file to import').setInputFiles(fixture)
  await expect(dialog).toContainText('Recognised as paraphrase pairs')
  await expect(dialog).toContainText('30 rows')
  await expect(dialog.getByRole('columnheader', { name: 'rephrased_question' })).toBeVisible()
  await expect(dialog.getByRole('cell', { name: pairs0 }).first()).toBeVisible()
  await expect(dialog.getByLabel('Dataset name')).toHaveValue(/apples-pairs/)
  await dialog.getByLabel('Dataset name').fill('apples')
  await dialog.getByLabel('Paraphrase status').selectOption('pending')
  await expectScreenshot(page, 'datasets-import-preview')

  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  await expect(page).toHaveURL(/#\/datasets\/\d+$/)
  datasetUrl = page.url()
  await expect(page.getByRole('heading', { level: 1 })).toContainText('apples')
  const counts = page.getByRole('region', { name: 'Counts' })
  await expect(counts).toContainText('30 records')
  await expect(counts).toContainText('29 with answer')
  await expect(counts).toContainText('30 pending')
  await expect(counts).toContainText('2 duplicates')
  await expect(page.getByTestId('filter-total')).toHaveText('30 records')
  await expect(pair(page)).toContainText('Record 1')
  await expectScreenshot(page, 'datasets-editor')

  await page.getByRole('link', { name: '← Datasets' }).click()
  await expect(page.getByRole('cell', { name: 'apples', exact: true })).toBeVisible()
  await expect(page.getByRole('row', { name: /apples/ })).toContainText('30')
  await expectScreenshot(page, 'datasets-list')
  expect(errors).toEqual([])
})

test('pairs are reviewed, edited and undone with the keyboard', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.goto(datasetUrl)
  await expect(selectedRow(page)).toContainText('Sam has 12 apples')
  const panel = pair(page)
  // Findings are spelled out with their severity: record 7 drops a number and record 5 leaks the answer (errors),
  // record 6 copies the question (a note).
  const checkList = panel.getByRole('list', { name: 'Checks' })
  await recordList(page).getByRole('option').nth(6).click()
  await expect(checkList.locator('[data-severity="error"][data-check="numbers"]')).toContainText(
    `The original's “${numbers(6)[1]}” is not in the paraphrase`,
  )
  await expect(checkList.locator('[data-severity="error"]').first()).toContainText('error')
  await recordList(page).getByRole('option').nth(4).click()
  await expect(checkList.locator('[data-severity="error"][data-check="answer_leak"]')).toContainText(
    `answer ${numbers(4)[0] + numbers(4)[1]} appears in the paraphrase`,
  )
  await recordList(page).getByRole('option').nth(5).click()
  await expect(checkList.locator('[data-severity="note"][data-check="too_similar"]')).toContainText('nearly copies the original')
  await expect(checkList.locator('[data-severity="error"]')).toHaveCount(0)
  await recordList(page).getByRole('option').nth(0).click()

  await page.keyboard.press('a') // accept record 1, on to record 2
  await expect(selectedRow(page)).toContainText('Sam has 13 apples')
  await page.keyboard.press('r') // reject record 2, on to record 3
  await expect(selectedRow(page)).toContainText('Sam has 14 apples')
  await page.keyboard.press('k')
  await expect(selectedRow(page)).toContainText('Sam has 13 apples')
  await expect(panel.locator('h3 .status-chip')).toHaveText('rejected')
  await page.keyboard.press('j')
  await page.keyboard.press('ArrowDown')
  await page.keyboard.press('ArrowUp')
  await expect(selectedRow(page)).toContainText('Sam has 14 apples')
  await expect
    .poll(async () => (await records(page)).rows.slice(0, 3).map((r) => r.paraphrases[0]!.status))
    .toEqual(['accepted', 'rejected', 'pending'])

  // Edit record 3's paraphrase in place: e, type, Enter; the diff marks the new words.
  const [a, b] = numbers(2)
  const edited = `A farmer picks ${a} pears and then ${b} more. How many pears has the farmer picked?`
  await page.keyboard.press('e')
  const editor = panel.getByLabel('Paraphrase text')
  await expect(editor).toBeFocused()
  await editor.fill(edited)
  await page.keyboard.press('Enter')
  await expect(panel.getByTestId('paraphrase-text')).toHaveText(edited)
  await expect(panel.locator('.diff-added').first()).toBeVisible()
  await expect(panel.locator('.diff-removed').first()).toBeVisible()
  await expectScreenshot(page, 'datasets-review')

  await page.keyboard.press('u')
  await expect(panel.getByTestId('paraphrase-text')).toHaveText(
    `A baker bakes ${a} loaves in the morning and ${b} more in the afternoon. How many loaves are there in total?`,
  )
  // Escape leaves an edit unsaved.
  await page.keyboard.press('e')
  await editor.fill(`something else entirely, ${a} and ${b}`)
  await page.keyboard.press('Escape')
  await expect(panel.getByTestId('paraphrase-text')).toContainText(`A baker bakes ${a} loaves`)
  expect((await records(page)).rows[2]!.paraphrases[0]!.text).toContain(`A baker bakes ${a} loaves`)

  // The history lists the steps; / focuses the search, which narrows the list.
  await page.getByRole('button', { name: 'History' }).click()
  const history = page.getByRole('dialog', { name: 'History' })
  await expect(history).toContainText('rejected')
  await history.getByRole('button', { name: 'Close' }).click()
  await page.keyboard.press('/')
  await expect(page.getByLabel('Search')).toBeFocused()
  await page.keyboard.type('market')
  await expect(page.getByTestId('filter-total')).toHaveText('30 records')
  await page.getByLabel('Search').fill('shop')
  await expect(page.getByTestId('filter-total')).toHaveText('1 record')
  expect(errors).toEqual([])
})

test('findings are filtered by severity and check, and a bulk reject on that filter is undone in one step', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.goto(datasetUrl)
  await expect(page.getByTestId('filter-total')).toHaveText('30 records')
  // Errors: records 7, 14, 21 and 28 drop a number (record 4 drops one equal to its other, so keeps it), record 5
  // gives the answer away, record 9's rewrite is of another question (the duplicate's numbers are not its own).
  const erroneous = [4, 6, 8, 13, 20, 27]
  const counts = page.getByRole('region', { name: 'Counts' })
  await expect(counts.locator('[data-severity="error"]')).toHaveText(`✖ ${erroneous.length} with errors`)
  await expect(counts.locator('[data-severity="note"]')).toBeVisible()

  const filters = page.getByRole('search', { name: 'Filter records' })
  await filters.getByLabel('Severity').selectOption('error')
  await expect(page.getByTestId('filter-total')).toHaveText(`${erroneous.length} records`)
  expect((await records(page, { severity: 'error' })).rows.map((r) => r.position)).toEqual(erroneous)
  // The list marks each row with its worst severity and the checks that found something, worst first.
  await expect(recordList(page).getByRole('option').nth(0)).toContainText('✖ answer leaked')
  await expect(recordList(page).getByRole('option').nth(1)).toContainText('✖ numbers missing')
  await expect(recordList(page).getByRole('option').nth(2)).toContainText('✖ numbers missing, new numbers')
  await recordList(page).getByRole('option').nth(1).click()
  await expect(pair(page).locator('.check-list li.error').first()).toContainText(/error\s+numbers missing: The original/)
  // Severity and check together: the one error of "answer leaked".
  await filters.getByLabel('Check').selectOption('answer_leak')
  await expect(page.getByTestId('filter-total')).toHaveText('1 record')
  await expect(selectedRow(page)).toContainText(`Sam has ${numbers(4)[0]} apples`)
  await expectScreenshot(page, 'datasets-severity')
  await filters.getByLabel('Check').selectOption('')
  await expect(page.getByTestId('filter-total')).toHaveText(`${erroneous.length} records`)

  await page.getByRole('button', { name: 'Reject filter…' }).click()
  const confirm = page.getByRole('dialog', { name: `Reject the pending paraphrases of ${erroneous.length} records?` })
  await expect(confirm).toContainText('with error findings')
  await confirm.getByRole('button', { name: 'Reject all' }).click()
  await expect(page.getByText(`Rejected ${erroneous.length} paraphrases`)).toBeVisible()
  expect((await records(page, { severity: 'error', status: 'rejected' })).total).toBe(erroneous.length)
  // Nothing else: the rejected ones are those, and record 2 rejected in review.
  expect((await records(page, { status: 'rejected' })).total).toBe(erroneous.length + 1)

  // One undo step (u) puts them all back to pending, as the next test expects.
  await recordList(page).getByRole('option').first().click()
  await page.keyboard.press('u')
  await expect.poll(async () => (await records(page, { severity: 'error', status: 'pending' })).total).toBe(erroneous.length)
  await filters.getByLabel('Severity').selectOption('')
  await expect(page.getByTestId('filter-total')).toHaveText('30 records')
  expect(errors).toEqual([])
})

test('a filter is bulk-accepted in one step and the accepted pairs are exported', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.goto(datasetUrl)
  await expect(page.getByTestId('filter-total')).toHaveText('30 records')

  // The labelled test split becomes the audit set (GT quarantine); the pair panel marks its records.
  await page.getByLabel('Audit/validation split').selectOption('test')
  await expect
    .poll(async () => (await call<{ auditSplit: string | null }>(page, 'datasets.get', { dataset: datasetId() })).auditSplit)
    .toBe('test')

  const filters = page.getByRole('search', { name: 'Filter records' })
  await filters.getByLabel('Split', { exact: true }).selectOption('train')
  await filters.getByLabel('Status').selectOption('pending')
  await expect(page.getByTestId('filter-total')).toHaveText('23 records')
  await page.getByRole('button', { name: 'Accept filter…' }).click()
  const confirm = page.getByRole('dialog', { name: /Accept the pending paraphrases of 23 records/ })
  await expect(confirm).toContainText('in split train')
  await confirm.getByRole('button', { name: 'Accept all' }).click()
  await expect(page.getByText('Accepted 23 paraphrases')).toBeVisible()
  await expect(page.getByTestId('filter-total')).toHaveText('0 records')
  expect((await records(page, { status: 'accepted' })).total).toBe(24)

  await page.getByRole('button', { name: 'Export' }).click()
  const drawer = page.getByRole('dialog', { name: 'Export' })
  await drawer.getByLabel(/pairs Parquet/).check()
  await expect(drawer.getByLabel('accepted paraphrases only')).toBeChecked()
  await drawer.getByRole('button', { name: 'Export', exact: true }).click()
  const files = drawer.getByRole('status').locator('li')
  await expect(files.first()).toContainText('.parquet')
  await expect(drawer.getByRole('status')).toContainText('Wrote')
  for (const file of await files.allTextContents()) expect(existsSync(file), file).toBe(true)
  await expectScreenshot(page, 'datasets-export')

  // Deleting asks first, naming what goes.
  await drawer.getByRole('button', { name: 'Close' }).click()
  await page.getByRole('link', { name: '← Datasets' }).click()
  await page.getByRole('button', { name: 'Delete apples' }).click()
  const question = page.getByRole('dialog', { name: 'Delete apples?' })
  await expect(question).toContainText('30 records, 30 paraphrases')
  await question.getByRole('button', { name: 'Delete' }).click()
  await expect(page.getByRole('heading', { name: 'No datasets in this workspace' })).toBeVisible()
  expect(errors).toEqual([])
})
