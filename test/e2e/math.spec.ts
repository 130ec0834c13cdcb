// Math in the Datasets views, in Chromium against `cwb serve`: formulas in the record list and the review pane are
// rendered by KaTeX (dollar amounts too), one that KaTeX cannot read shows its source, key m shows the source (and is
// remembered), and the review pane's diff switches between math-aware tokens, words and off. The rollout viewer renders
// a stored run's question and responses. Then the released MATH pairs, where they are present.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import { parquetWriteFile } from 'hyparquet-writer'
import { cwb, lastJson, root, serve, type Served } from '../helpers/cli'
import { hasSharedData, needsSharedData, sharedData } from '../helpers/shared-data'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp } from './screenshots'

interface Pair {
  original: string
  rewrite: string
  solution: string
}

const CEIL = '$\\left\\lceil\\frac{7}{4}\\right\\rceil$'
/** Record 1 re-typesets its formula (same formula, other spacing); record 3's has a `^^` KaTeX refuses. */
const PAIRS: Pair[] = [
  { original: `What is ${CEIL}?`, rewrite: 'Evaluate $\\left\\lceil \\frac{7}{4} \\right\\rceil$ for me.', solution: '2' },
  {
    original: 'A pen costs $\\$$3 and a book $\\$$12. What do 2 pens and a book cost?',
    rewrite: 'Pens sell for $\\$$3 each and a book for $\\$$12; how much are two pens and one book?',
    solution: '18',
  },
  { original: 'Given $x^^2 = 4$ and $x>0$, find $x$.', rewrite: 'If $x^^2 = 4$ with $x$ positive, what is $x$?', solution: '2' },
]

let served: Served
let workspace: { dir: string; remove: () => void }

function writePairs(file: string, pairs: Pair[]): void {
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'idx', data: pairs.map((_, i) => i), type: 'INT32' },
      { name: 'original_question', data: pairs.map((p) => p.original), type: 'STRING' },
      { name: 'rephrased_question', data: pairs.map((p) => p.rewrite), type: 'STRING' },
      { name: 'solution', data: pairs.map((p) => p.solution), type: 'STRING' },
    ],
  })
}

/** Imports `pairs` as dataset `name` with the CLI; answers the dataset's id. */
function importPairs(name: string, pairs: Pair[]): number {
  const file = join(workspace.dir, `${name}.parquet`)
  writePairs(file, pairs)
  const result = cwb(['import', file, '--workspace', join(workspace.dir, 'ws'), '--name', name, '--pending', '--json'])
  expect(result.code, result.stderr).toBe(0)
  return lastJson<{ dataset: number }>(result.stdout).dataset
}

/** The first 30 released MATH pairs (among them Sam's $\$$60 wage, record 5, and a piecewise function, record 1). */
async function releasedPairs(): Promise<Pair[]> {
  const file = await asyncBufferFromFile(join(sharedData, 'co-rewarding', 'math', 'train_pairs.parquet'))
  const rows = (await parquetReadObjects({ file, rowEnd: 30 })) as Record<string, unknown>[]
  return rows.map((row) => ({
    original: String(row.original_question),
    rewrite: String(row.rephrased_question),
    solution: String(row.solution),
  }))
}

let latex: number
let released: number | undefined

test.describe.configure({ mode: 'serial' })

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-math-')
  latex = importPairs('latex', PAIRS)
  if (hasSharedData) released = importPairs('math-pairs', await releasedPairs())
  served = await serve(['--workspace', join(workspace.dir, 'ws'), '--no-demo'])
  await storeRun()
})

/** A finished majority-voting run whose step 1 holds one question group with LaTeX, written straight into the store. */
async function storeRun(): Promise<void> {
  const reply = await fetch(`${served.base}api/call/runs.form`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
    body: '{}',
  })
  const { result } = (await reply.json()) as { result: { defaults: Record<string, Record<string, unknown>> } }
  const config = { ...result.defaults.majority_voting, name: 'latex-run', mode: 'majority_voting', steps: 1 }
  const samples = ['2', '2', '1'].map((answer) => ({
    text: `We need $\\left\\lceil\\frac{7}{4}\\right\\rceil$, so the answer is \\boxed{${answer}}.`,
    answer,
  }))
  const script = `
    const Database = require('better-sqlite3')
    const [file, data] = process.argv.slice(1)
    const { config, samples } = JSON.parse(data)
    const db = new Database(file)
    db.transaction(() => {
      db.prepare("INSERT INTO runs (name, mode, config, status, seed) VALUES (?, ?, ?, 'finished', 1)").run(config.name, config.mode, JSON.stringify(config))
      for (const s of samples)
        db.prepare(
          'INSERT INTO samples (run_id, step, group_index, view, prompt, text, answer, pseudo_label, reward, advantage, gt) VALUES (1, 1, 0, ?, ?, ?, ?, ?, ?, ?, ?)',
        ).run('original', ${JSON.stringify(`What is ${CEIL}?`)}, s.text, s.answer, '2', s.answer === '2' ? 1 : 0, 0, '2')
    })()
    db.close()`
  const child = spawnSync(
    process.execPath,
    ['-e', script, join(workspace.dir, 'ws', 'workbench.db'), JSON.stringify({ config, samples })],
    { cwd: root, encoding: 'utf8' },
  )
  expect(child.status, child.stderr).toBe(0)
}

test.afterAll(async () => {
  expect(await served.stop()).toBe(0)
  workspace.remove()
})

const recordList = (page: Page) => page.getByRole('listbox', { name: 'Records' })
const pair = (page: Page) => page.getByRole('region', { name: 'Pair' })
const original = (page: Page) => pair(page).getByTestId('original-text')
const paraphrase = (page: Page) => pair(page).getByTestId('paraphrase-text')
const diffButton = (page: Page, name: string) => pair(page).getByRole('group', { name: 'Diff' }).getByRole('button', { name })

test('formulas render in the list and the review pane; m shows the source; the diff has three modes', async ({ page }) => {
  const errors = await openApp(page, served, `/datasets/${latex}`)
  await expect(pair(page)).toContainText('Record 1')

  // Rendered: every row's formulas, and both sides of the pair.
  await expect(recordList(page).getByRole('option').first().locator('.katex')).toHaveCount(1)
  await expect(recordList(page).locator('.katex')).toHaveCount(1 + 2 + 2)
  await expect(original(page).locator('.katex')).toHaveCount(1)
  await expect(paraphrase(page).locator('.katex')).toHaveCount(1)
  await expect(original(page).locator('.katex-error')).toHaveCount(0)
  // KaTeX's fonts come with the build (its CSS is bundled), not from a CDN the page's policy would refuse.
  const fonts = await page.evaluate(async () => {
    await document.fonts.ready
    return [...document.fonts].filter((font) => font.family.startsWith('KaTeX') && font.status === 'loaded').map((f) => f.family)
  })
  expect(fonts).toContain('KaTeX_Main')
  expect(fonts).toContain('KaTeX_Math')

  // Math-aware diff (the default): the re-typeset formula is one unchanged token; the changed words are marked.
  await expect(diffButton(page, 'math-aware')).toHaveAttribute('aria-pressed', 'true')
  await expect(original(page).locator('.diff-removed')).toHaveText(['What is', '?'])
  await expect(original(page).locator('.math.diff-removed')).toHaveCount(0)
  await expect(paraphrase(page).locator('.diff-added').first()).toHaveText('Evaluate')
  await expectScreenshot(page, 'datasets-math')

  // Words: the source, word by word, so the formula's pieces are marked.
  await diffButton(page, 'words').click()
  await expect(original(page).locator('.katex')).toHaveCount(0)
  await expect(original(page)).toHaveText(`What is ${CEIL}?`)
  await expect(paraphrase(page)).toHaveText('Evaluate $\\left\\lceil \\frac{7}{4} \\right\\rceil$ for me.')
  await expect(paraphrase(page).locator('.diff-added').first()).toContainText('Evaluate')
  // Off: rendered, nothing marked; d steps through the modes.
  await diffButton(page, 'off').click()
  await expect(pair(page).locator('.diff-added, .diff-removed')).toHaveCount(0)
  await expect(paraphrase(page).locator('.katex')).toHaveCount(1)
  await page.keyboard.press('d')
  await expect(diffButton(page, 'math-aware')).toHaveAttribute('aria-pressed', 'true')

  // m: the source everywhere, remembered over a reload; m again renders.
  await page.keyboard.press('m')
  await expect(pair(page).getByRole('button', { name: /Source/ })).toHaveAttribute('aria-pressed', 'true')
  await expect(page.locator('.katex')).toHaveCount(0)
  await expect(original(page)).toHaveText(`What is ${CEIL}?`)
  await expect(recordList(page).getByRole('option').nth(1)).toContainText('A pen costs $\\$$3')
  await page.reload()
  await expect(original(page)).toHaveText(`What is ${CEIL}?`)
  await expect(page.locator('.katex')).toHaveCount(0)
  await page.keyboard.press('m')
  await expect(original(page).locator('.katex')).toHaveCount(1)

  // Dollar amounts: `$\$$3` is a rendered dollar sign, `\$` never a delimiter.
  await recordList(page).getByRole('option').nth(1).click()
  await expect(original(page).locator('.katex')).toHaveCount(2)
  await expect(original(page).locator('.katex-html')).toHaveText(['$', '$'])

  // A formula KaTeX cannot read shows as written, with the reason, beside the ones it can.
  await recordList(page).getByRole('option').nth(2).click()
  const unparsed = original(page).locator('.math-unparsed')
  await expect(unparsed).toHaveText('$x^^2 = 4$')
  await expect(unparsed).toHaveAttribute('title', /KaTeX cannot read it \(Expected group after '\^' at position 2: x\^\^2 = 4\)/)
  await expect(original(page).locator('.katex')).toHaveCount(2)
  await expect(page.locator('.katex-error')).toHaveCount(0)
  expect(errors).toEqual([])
})

test('the rollout viewer renders a question and its responses, \\boxed{} answers included; m shows the source', async ({
  page,
}) => {
  const errors = await openApp(page, served, '/runs/1/rollouts?step=1')
  const card = page.locator('.group-card')
  await expect(card.locator('.group-question .katex')).toHaveCount(1)
  // The one-line preview and the full response each render the ceiling and the boxed answer.
  await expect(card.locator('.rollout-text').first().locator('.katex')).toHaveCount(2)
  await card.locator('details.rollout summary').first().click()
  const full = card.locator('.rollout-full').first()
  await expect(full.locator('.katex')).toHaveCount(2)
  await expect(full.locator('.katex-html').last()).toHaveText('2')
  await expectScreenshot(page, 'rollouts-math')
  await page.keyboard.press('m')
  await expect(card.locator('.katex')).toHaveCount(0)
  await expect(full).toHaveText(`We need ${CEIL}, so the answer is \\boxed{2}.`)
  expect(errors).toEqual([])
})

test(needsSharedData('the released MATH pairs render without fallbacks'), async ({ page }) => {
  test.skip(released === undefined, `needs the released MATH pairs in ${sharedData}`)
  const errors = await openApp(page, served, `/datasets/${released}`)
  await expect(pair(page)).toContainText('Record 1')
  // Record 1: a piecewise function in \[…\] beside its rewrite's $$…$$.
  await expect(original(page).locator('.katex-display')).toHaveCount(1)
  await expect(paraphrase(page).locator('.katex-display')).toHaveCount(1)
  await expect(pair(page).locator('.math-unparsed')).toHaveCount(0)
  // In the one-line list the piecewise function is shown as written; the rest of the row is rendered.
  const first = recordList(page).getByRole('option').first()
  await expect(first.locator('.math-unparsed')).toHaveAttribute('title', /multi-line formula/)
  await expect(first.locator('.katex')).not.toHaveCount(0)
  await expectScreenshot(page, 'datasets-math-released')
  // Record 5: Sam's wage, $\$$60.
  await recordList(page).getByRole('option').nth(4).click()
  await expect(original(page)).toContainText('he earns')
  await expect(original(page).locator('.katex')).toHaveCount(3)
  await expect(pair(page).locator('.math-unparsed')).toHaveCount(0)
  expect(errors).toEqual([])
})
