// Importing a file with a bad row in Chromium against `cwb serve`: without "Skip bad rows" the import fails naming the
// file, data row, file line and field; with it the other rows are stored, the dialog says how many were skipped and
// offers them as a CSV to download. A file uploaded for an import the user abandons is removed from the host.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }
let quiz: string
let other: string
let broken: string

test.describe.configure({ mode: 'serial' })

// Data row 2 spans file lines 3-4 (a quoted line break); data row 3, on file line 5, has no question.
const CSV = 'question,answer\nWhat is 1 + 1?,2\n"Two lines:\nwhat is 2 + 2?",4\n,6\nWhat is 3 + 3?,6\nWhat is 4 + 4?,8\n'

const uploads = (): string[] => {
  try {
    return readdirSync(join(workspace.dir, 'ws', 'uploads'))
  } catch {
    return []
  }
}

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-import-skip-')
  quiz = join(workspace.dir, 'quiz.csv')
  writeFileSync(quiz, CSV)
  other = join(workspace.dir, 'other.jsonl')
  writeFileSync(other, '{"question": "What is 9 - 1?", "answer": "8"}\n')
  broken = join(workspace.dir, 'broken.jsonl')
  writeFileSync(
    broken,
    '{"question": "What is 1 + 1?", "answer": "2"}\n{"question": "What is\n{"question": "What is 5 + 5?", "answer": "10"}\n',
  )
  served = await serve(['--workspace', join(workspace.dir, 'ws'), '--no-demo'])
})

test.afterAll(async () => {
  expect(await served.stop()).toBe(0)
  workspace.remove()
})

test('a CSV with a bad row imports with "Skip bad rows": the count and the skipped rows to download', async ({ page }) => {
  // The refused import answers 400, which Chromium logs as a failed resource.
  const errors = await openApp(page, served, '/datasets', [/status of 400/])
  await page.getByRole('button', { name: 'Import…', exact: true }).first().click()
  const dialog = page.getByRole('dialog', { name: 'Import a dataset' })
  await dialog.getByLabel('Choose a file to import').setInputFiles(quiz)
  await expect(dialog).toContainText('5 rows')
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  await expect(dialog.getByRole('alert')).toHaveText(
    'quiz.csv: data row 3 (file line 5): field "question" is empty; every row needs a question. Fix it, or skip bad rows ' +
      '(`cwb import --skip-bad-rows`, or "Skip bad rows" in the import dialog) to import the other rows.',
  )

  await dialog.getByLabel('Skip bad rows').check()
  await expectScreenshot(page, 'datasets-import-bad-row')
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  await expect(dialog.getByRole('status')).toContainText(
    'Imported quiz: 4 records, 0 paraphrases. Skipped 1 bad row of quiz.csv.',
  )
  await expect(dialog).toContainText('data row 3 (file line 5): field "question" is empty; every row needs a question.')
  const link = dialog.getByRole('link', { name: 'Download the skipped rows (CSV)' })
  await expect(link).toBeVisible()
  await expectScreenshot(page, 'datasets-import-skipped')
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
  expect(download.suggestedFilename()).toBe('quiz-skipped-rows.csv')
  expect(readFileSync(await download.path(), 'utf8')).toBe(
    'file,data_row,file_line,field,reason\nquiz.csv,3,5,question,is empty; every row needs a question.\n',
  )
  // The upload went with the stored import.
  expect(uploads()).toEqual([])

  await dialog.getByRole('button', { name: 'Open the dataset' }).click()
  await expect(page).toHaveURL(/#\/datasets\/\d+$/)
  await expect(page.getByRole('region', { name: 'Counts' })).toContainText('4 records')
  expect(errors).toEqual([])
})

test('an upload is removed from the host when another file replaces it and when the dialog is cancelled', async ({ page }) => {
  const errors = await openApp(page, served, '/datasets')
  await page.getByRole('button', { name: 'Import…', exact: true }).first().click()
  const dialog = page.getByRole('dialog', { name: 'Import a dataset' })
  await dialog.getByLabel('Choose a file to import').setInputFiles(quiz)
  await expect(dialog).toContainText('5 rows')
  expect(uploads()).toEqual([expect.stringMatching(/^[0-9a-f]{16}-quiz\.csv$/)])

  await dialog.getByLabel('Choose a file to import').setInputFiles(other)
  await expect(dialog).toContainText('1 row')
  await expect.poll(uploads).toEqual([expect.stringMatching(/^[0-9a-f]{16}-other\.jsonl$/)])

  await dialog.getByRole('button', { name: 'Cancel' }).click()
  await expect(dialog).toBeHidden()
  await expect.poll(uploads).toEqual([])
  expect(errors).toEqual([])
})

test('the preview says which rows cannot be read, and "Skip bad rows" imports the others', async ({ page }) => {
  const errors = await openApp(page, served, '/datasets')
  await page.getByRole('button', { name: 'Import…', exact: true }).first().click()
  const dialog = page.getByRole('dialog', { name: 'Import a dataset' })
  await dialog.getByLabel('Choose a file to import').setInputFiles(broken)
  await expect(dialog.getByRole('note')).toContainText(
    '1 row cannot be read; the first: broken.jsonl: data row 2 (file line 2): not valid JSON (',
  )
  await expect(dialog.getByRole('note')).toContainText('Check “Skip bad rows” below to import the others.')
  await dialog.getByLabel('Skip bad rows').check()
  await expectScreenshot(page, 'datasets-import-unreadable')
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  await expect(dialog.getByRole('status')).toContainText(
    'Imported broken: 2 records, 0 paraphrases. Skipped 1 bad row of broken.jsonl.',
  )
  await dialog.getByRole('button', { name: 'Open the dataset' }).click()
  await expect(page.getByRole('region', { name: 'Counts' })).toContainText('2 records')
  expect(errors).toEqual([])
})
