// The Checkpoints view in Chromium against `cwb serve`, on a real run trained here by `cwb train` (three steps of the
// shipped base model under majority voting, a checkpoint every step): open the run's checkpoints from its page, read
// the best-by-GT / best-by-self-reward callout (absent on the trained run's 8 questions a validation, within sampling
// error; shown on a run written into the store at 60/200 vs 30/200 held-out, whose checkpoints reuse the trained
// folders), tag a checkpoint, view the weight deltas per layer and a tensor's
// histogram, run a behaviour diff (checked against `cwb diff`), evaluate and export, open folders (one refused for its
// model_type), delete a checkpoint, and branch a run from one.
import { spawnSync } from 'node:child_process'
import { expect, test, type Page } from '@playwright/test'
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cwb, lastJson, root, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, visibleContent, openApp } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }
const runName = 'e2e-ckpt'
/** Run 2: held-out best at step 2 (60/200), training score best at step 3 (held-out 30/200): beyond sampling error. */
const hackedName = 'e2e-hacked'

interface Overview {
  bestGt: number | null
  bestSelf: number | null
  warning: string | null
  checkpoints: { step: number; tags: string[] }[]
}
let overview: Overview

const readOverview = (run = 1): Overview => {
  const result = cwb(['checkpoints', String(run), '--workspace', workspace.dir, '--json'])
  expect(result.code, result.stderr).toBe(0)
  return lastJson<Overview>(result.stdout)
}

/** Writes run 2 (a plain Node child: Playwright's loader cannot load better-sqlite3): run 1's config, base, dataset and folders. */
function storeHackedRun(): void {
  const config = { name: hackedName, mode: 'majority_voting', validation: { every: 1, questions: 200 } }
  const points = [
    [1, 0.2, 0.3],
    [2, 0.3, 0.6],
    [3, 0.15, 0.9],
  ].map(([step, heldOut, score]) => ({ step, heldOut, score, path: join(workspace.dir, `runs/1/checkpoints/step-${step}`) }))
  const script = `
    const Database = require('better-sqlite3')
    const [file, data] = process.argv.slice(1)
    const { config, points } = JSON.parse(data)
    const db = new Database(file)
    db.transaction(() => {
      const run = db.prepare("INSERT INTO runs (name, mode, config, status, seed, environment, dataset_id) SELECT ?, ?, json_patch(config, ?), 'finished', 1, environment, dataset_id FROM runs WHERE id = 1")
        .run(config.name, config.mode, JSON.stringify(config)).lastInsertRowid
      const metric = db.prepare('INSERT INTO metrics (run_id, step, key, value, wall_time, tokens) VALUES (?, ?, ?, ?, ?, ?)')
      for (const p of points) {
        metric.run(run, p.step, 'val-core/demo-arithmetic/reward/mean@1', p.heldOut, p.step, 100 * p.step)
        metric.run(run, p.step, 'critic/score/mean', p.score, p.step, 100 * p.step)
        db.prepare('INSERT INTO checkpoints (run_id, step, path) VALUES (?, ?, ?)').run(run, p.step, p.path)
      }
    })()
    db.close()`
  const child = spawnSync(
    process.execPath,
    ['-e', script, join(workspace.dir, 'workbench.db'), JSON.stringify({ config, points })],
    { cwd: root, encoding: 'utf8' },
  )
  expect(child.status, child.stderr).toBe(0)
}

test.describe.configure({ mode: 'serial' })
// Tall enough that the selected checkpoint's panels are in the (full-page) screenshots.
test.use({ viewport: { width: 1280, height: 1300 } })

test.beforeAll(async () => {
  test.setTimeout(90_000)
  workspace = tempDir('cwb-e2e-checkpoints-')
  const config = join(workspace.dir, 'run.json')
  writeFileSync(
    config,
    JSON.stringify({
      name: runName,
      mode: 'majority_voting',
      seed: 4,
      steps: 3,
      batch_size: 2,
      rollouts: 4,
      max_response_tokens: 28,
      validation: { every: 1, questions: 8 },
      checkpoint_every: 1,
      micro_batch_size: 8,
    }),
  )
  const trained = cwb(['train', '--config', config, '--workspace', workspace.dir], { CWB_DEMO: '' })
  expect(trained.code, trained.stderr).toBe(0)
  overview = readOverview()
  expect(overview.checkpoints.map((c) => c.step)).toEqual([1, 2, 3])
  storeHackedRun()
  served = await serve(['--workspace', workspace.dir])
})

test.afterAll(async () => {
  expect(await served?.stop()).toBe(0)
  workspace?.remove()
})

/** Opens the app, then `hash`; the page's errors (those matching `allowed` aside). */
const open = (page: Page, hash: string, allowed: RegExp[] = []): Promise<string[]> => openApp(page, served, hash, allowed)

const table = (page: Page) => page.getByRole('table', { name: 'Checkpoints of the run' })
const row = (page: Page, step: number) => table(page).locator(`tr[data-step="${step}"]`)
const focus = (page: Page) => page.getByRole('region', { name: 'Selected checkpoint' })

test("a run's checkpoints open from its page: metrics, computed tags, the reward-hacking callout, user tags", async ({
  page,
}) => {
  const errors = await open(page, '/runs/1')
  await page.getByRole('link', { name: /weights and behaviour/ }).click()
  await expect(page).toHaveURL(/#\/checkpoints\?run=1$/)
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Checkpoints')
  await expect(table(page).locator('tbody tr')).toHaveCount(3)

  // The computed tags sit where the CLI puts them.
  for (const c of overview.checkpoints) {
    const chips = row(page, c.step).locator('.tag-chip.auto')
    await expect(chips).toHaveCount(c.tags.length)
    if (c.tags.includes('best-gt')) await expect(row(page, c.step)).toContainText('best GT')
    if (c.tags.includes('best-self')) await expect(row(page, c.step)).toContainText('best self-reward')
    if (c.tags.includes('latest')) await expect(row(page, c.step)).toContainText('latest')
  }
  // The view opens on the best checkpoint by held-out GT, or the latest when the base model or a tie is best.
  const opened = overview.checkpoints.some((c) => c.step === overview.bestGt) ? overview.bestGt : 3
  await expect(focus(page).getByRole('heading', { name: `Step ${opened}` })).toBeVisible()

  // 8 questions a validation: whatever the two bests, their gap is within sampling error, so no callout.
  const callout = page.getByRole('note', { name: 'Reward hacking made visible' })
  expect(overview.warning).toBeNull()
  await expect(callout).toHaveCount(0)

  // A user tag is stored (the CLI sees it) and can be removed again.
  await row(page, 2).getByLabel('Add tag').fill('keep-me')
  await row(page, 2).getByLabel('Add tag').press('Enter')
  await expect(row(page, 2).locator('.tag-chip', { hasText: 'keep-me' })).toBeVisible()
  await expect.poll(() => readOverview().checkpoints.find((c) => c.step === 2)?.tags).toContain('keep-me')
  await expectScreenshot(page, 'checkpoints-list')
  await row(page, 2).getByRole('button', { name: 'Remove tag keep-me' }).click()
  await expect(row(page, 2).locator('.tag-chip', { hasText: 'keep-me' })).toHaveCount(0)
  // What is left are the computed tags step 2 had before (e.g. best-self), whichever the base model gives.
  const computed = overview.checkpoints.find((c) => c.step === 2)?.tags
  await expect.poll(() => readOverview().checkpoints.find((c) => c.step === 2)?.tags).toEqual(computed)
  expect(errors).toEqual([])
})

test('the reward-hacking callout names the two validated bests, their held-out counts and the test beyond sampling error', async ({
  page,
}) => {
  const hacked = readOverview(2)
  expect(hacked).toMatchObject({ bestGt: 2, bestSelf: 3, warning: expect.stringContaining('possible reward hacking') })
  const errors = await open(page, '/checkpoints?run=2')
  const callout = page.getByRole('note', { name: 'Reward hacking made visible' })
  await expect(callout).toContainText('The training reward peaked at step 3')
  await expect(callout).toContainText('held-out 30/200')
  await expect(callout).toContainText('step 2, at 60/200')
  await expect(callout).toContainText('two-proportion z = 3.59 > 1.96, 95%')
  await expect(callout).toContainText('judged on 3 validated step(s) of 200 question(s) each')
  expect(errors).toEqual([])
})

test('weight deltas per layer against the base model and the previous checkpoint, and a tensor histogram', async ({ page }) => {
  const errors = await open(page, '/checkpoints?run=1')
  await row(page, 3).click()
  await expect(page).toHaveURL(/step=3/)
  const weights = page.getByRole('region', { name: 'Weights' })
  await expect(weights).toHaveAttribute('data-drawn', 'yes')
  await expect(weights).toContainText('base: the shipped base model')
  const chart = weights.locator('.echart canvas').first()
  await expect(chart).toBeVisible()
  const drawn = visibleContent(await chart.screenshot())
  expect(drawn.inkShare, 'the per-layer chart looks empty').toBeGreaterThan(0.03)

  // The six layers of the base model: embeddings, four blocks, the final norm; 52 tensors.
  await expect(weights.getByRole('table', { name: 'Tensors' }).locator('tbody tr')).toHaveCount(52)
  await weights.getByRole('row', { name: /layers\.2\.mlp\.up\.weight/ }).click()
  const histogram = weights.getByRole('complementary', { name: 'Tensor histogram' })
  await expect(histogram.getByRole('heading', { name: 'layers.2.mlp.up.weight' })).toBeVisible()
  await expect(histogram.locator('rect.bin')).toHaveCount(32)
  await expect(histogram).toContainText('128×512')
  await expectScreenshot(page, 'checkpoints-weights')

  await weights.getByRole('button', { name: 'Previous' }).click()
  await expect(weights).toContainText(`previous: ${runName}:2`)
  await expect(weights).toHaveAttribute('data-drawn', 'yes')
  // Majority voting keeps no EMA teacher: the option is not offered.
  await expect(weights.getByRole('button', { name: 'EMA teacher' })).toHaveCount(0)
  expect(errors).toEqual([])
})

test('a behaviour diff of the two bests on a small probe matches `cwb diff`, with flip filters', async ({ page }) => {
  const errors = await open(page, '/checkpoints?run=2&tab=diff')
  const diff = page.getByRole('region', { name: 'Behaviour diff' })
  // Opened on its own, the diff sets the selected checkpoint against the run's base: what RL changed.
  await expect(diff.getByLabel('Checkpoint A')).toHaveValue('start')
  await page.getByRole('button', { name: 'Diff step 2 → step 3' }).click()
  await expect(page).toHaveURL(/tab=diff/)
  await expect(diff.getByLabel('Checkpoint A')).toHaveValue(/^id:/)
  await diff.getByLabel('Probe size N').fill('4')
  await diff.getByLabel('Samples G').fill('2')
  await diff.getByRole('button', { name: 'Run diff' }).click()
  const summary = diff.getByLabel('Diff summary')
  await expect(summary).toBeVisible({ timeout: 30_000 })
  const rows = diff.getByRole('table', { name: 'Questions, A and B side by side' }).locator('tbody tr:not(.detail-row)')
  await expect(rows).toHaveCount(4)
  await expect(diff).toContainText(`${hackedName}:2 → ${hackedName}:3`)

  // The same seeds give the same answers from the CLI.
  const cli = cwb(['diff', '2:2', '2:3', '--probe', '4', '--samples', '2', '--workspace', workspace.dir, '--json'])
  expect(cli.code, cli.stderr).toBe(0)
  const expected = lastJson<{
    summary: { a: { correct: number }; b: { correct: number }; correctToWrong: number; wrongToCorrect: number; labelled: number }
    rows: { a: { greedy: { answer: string } }; b: { greedy: { answer: string } } }[]
  }>(cli.stdout)
  const card = (label: string) => summary.locator('.card', { hasText: label }).locator('.card-value')
  await expect(card('A correct')).toHaveText(`${expected.summary.a.correct}/${expected.summary.labelled}`)
  await expect(card('B correct')).toHaveText(`${expected.summary.b.correct}/${expected.summary.labelled}`)
  await expect(card('Correct → wrong')).toHaveText(String(expected.summary.correctToWrong))
  await expect(card('Wrong → correct')).toHaveText(String(expected.summary.wrongToCorrect))
  await expect(rows.first().locator('td.side-a').first()).toContainText(expected.rows[0]!.a.greedy.answer || '(none)')
  await expect(rows.first().locator('td.side-b').first()).toContainText(expected.rows[0]!.b.greedy.answer || '(none)')

  // A row opens to the full greedy completions.
  await rows.first().click()
  await expect(diff.locator('tr.detail-row pre')).toHaveCount(2)
  await expectScreenshot(page, 'checkpoints-diff')

  await diff.getByRole('button', { name: /^Correct → wrong/ }).click()
  await expect(rows).toHaveCount(Math.max(1, expected.summary.correctToWrong)) // the empty filter says so in one row
  await diff.getByRole('button', { name: /^Wrong → correct/ }).click()
  await expect(rows).toHaveCount(Math.max(1, expected.summary.wrongToCorrect))
  await diff.getByRole('button', { name: /^All/ }).click()
  await expect(rows).toHaveCount(4)
  expect(errors).toEqual([])
})

test('evaluate a checkpoint, export it to ONNX (checked) and as a Hugging Face folder, then open that folder', async ({
  page,
}) => {
  const errors = await open(page, '/checkpoints?run=1&step=2', [/status of 400/])
  const panel = focus(page)
  await expect(panel.getByRole('heading', { name: 'Step 2' })).toBeVisible()

  await panel.getByRole('button', { name: 'Evaluate…' }).click()
  await panel.getByLabel('Questions to evaluate').fill('4')
  await panel.getByLabel('Samples K').fill('2')
  await panel.getByRole('button', { name: 'Evaluate', exact: true }).click()
  const evaluation = panel.getByLabel('Evaluation result')
  await expect(evaluation).toContainText(/pass@1 \d+\.\d%/, { timeout: 30_000 })
  await expect(evaluation).toContainText('maj@2')
  await expect(evaluation).toContainText('on 4 questions of demo-arithmetic')

  await panel.getByRole('button', { name: 'Export ONNX…' }).click()
  await panel.getByRole('button', { name: 'Export and check' }).click()
  const onnx = panel.getByLabel('ONNX export result')
  await expect(onnx).toContainText('✓ matches the engine', { timeout: 30_000 })
  const onnxFile = join(workspace.dir, 'exports', `${runName}-step-2.onnx`)
  await expect(onnx).toContainText(onnxFile)
  expect(existsSync(onnxFile)).toBe(true)

  await panel.getByRole('button', { name: 'Export HF folder…' }).click()
  const hfFolder = join(workspace.dir, 'exports', `${runName}-step-2-hf`)
  await expect(panel.getByLabel('Export folder')).toHaveAttribute('placeholder', hfFolder)
  await panel.getByRole('button', { name: 'Export', exact: true }).click()
  await expect(panel.getByLabel('Hugging Face export result')).toContainText(hfFolder)
  expect(JSON.parse(readFileSync(join(hfFolder, 'config.json'), 'utf8'))).toMatchObject({ model_type: 'cwb-gpt' })
  await expectScreenshot(page, 'checkpoints-actions')

  // The exported folder opens for inspection: its config, files and weights.
  await page.getByRole('button', { name: 'Open folder…' }).click()
  await page.getByRole('textbox', { name: 'Checkpoint folder' }).fill(hfFolder)
  await page.getByRole('button', { name: 'Open', exact: true }).click()
  const opened = page.getByRole('region', { name: 'Opened folder' })
  await expect(opened).toContainText('893,056 parameters')
  await expect(opened).toContainText("No run's checkpoint")
  await expect(page.getByRole('region', { name: 'Model config' })).toContainText('num_hidden_layers')
  const weights = page.getByRole('region', { name: 'Weights' })
  await expect(weights.getByRole('table', { name: 'Tensors' }).locator('tbody tr')).toHaveCount(52)
  // A loose folder has no run (no base, no previous): it is compared with a checkpoint the user names.
  await weights.getByRole('textbox', { name: 'Compare against checkpoint' }).fill('1:1')
  await weights.getByRole('button', { name: 'Compare', exact: true }).click()
  await expect(weights).toContainText(`Against ${runName}:1`)
  await expect(weights).toHaveAttribute('data-drawn', 'yes')
  await expectScreenshot(page, 'checkpoints-folder')

  // An architecture the engine does not run is refused, naming it and the supported ones.
  const foreign = join(workspace.dir, 'foreign-model')
  cpSync(join(root, 'resources', 'base-model'), foreign, { recursive: true })
  const config = JSON.parse(readFileSync(join(foreign, 'config.json'), 'utf8')) as Record<string, unknown>
  writeFileSync(join(foreign, 'config.json'), JSON.stringify({ ...config, model_type: 'gpt2' }))
  await page.getByRole('textbox', { name: 'Checkpoint folder' }).fill(foreign)
  await page.getByRole('button', { name: 'Open', exact: true }).click()
  await expect(page.getByRole('alert')).toContainText('model_type "gpt2"')
  await expect(page.getByRole('alert')).toContainText('supported: "cwb-gpt", "qwen2", "qwen3", "llama"')
  expect(errors).toEqual([])
})

test('delete a checkpoint with confirmation, and branch a new run from another that records its parent', async ({ page }) => {
  const errors = await open(page, '/checkpoints?run=1&step=2')
  const panel = focus(page)
  await panel.getByRole('button', { name: 'Delete…' }).click()
  const confirm = page.getByRole('dialog', { name: `Delete ${runName}:2?` })
  await expect(confirm).toContainText(join(workspace.dir, 'runs', '1', 'checkpoints', 'step-2'))
  await confirm.getByRole('button', { name: 'Delete checkpoint' }).click()
  await expect(table(page).locator('tbody tr')).toHaveCount(2)
  await expect.poll(() => readOverview().checkpoints.map((c) => c.step)).toEqual([1, 3])
  expect(existsSync(join(workspace.dir, 'runs', '1', 'checkpoints', 'step-2'))).toBe(false)

  await row(page, 1).click()
  await panel.getByRole('button', { name: 'Branch run…' }).click()
  await panel.getByLabel('Branch name').fill('e2e-branch')
  await panel.getByLabel('Branch steps').fill('1')
  await panel.getByRole('button', { name: 'Queue run' }).click()
  await expect(page).toHaveURL(/#\/runs\/3$/)
  await expect(page.getByRole('heading', { name: 'e2e-branch' })).toBeVisible()

  await page.getByRole('link', { name: /^Runs/ }).first().click()
  await expect(page.getByRole('row', { name: /e2e-branch/ })).toBeVisible()
  await expect(page.getByRole('row', { name: /e2e-branch/ })).toContainText('finished', { timeout: 30_000 })

  // The source checkpoint lists the branch; the branch's own checkpoints point back to it.
  await page.goto(`${served.base}#/checkpoints?run=1&step=1`)
  await expect(focus(page)).toContainText('#3 e2e-branch')
  await page.goto(`${served.base}#/checkpoints?run=3`)
  await expect(focus(page)).toContainText('This run branched from run #1 step 1')
  await expect(page.getByRole('region', { name: 'Weights' })).toHaveAttribute('data-drawn', 'yes')
  await expectScreenshot(page, 'checkpoints-branch')
  expect(errors).toEqual([])
})
