// Beyond one machine, in Chromium against `cwb serve`: import a verl console log as Ray prints it (tags, ANSI colours,
// progress bars, a half-written last line) and follow it as the cluster appends, upload a TRL trainer_state.json,
// export a ground-truth run to verl and read its overrides and launch script, see a self-certainty run refused, and
// carry a run through a bundle: Bundle…, download, Import bundle….
import { spawnSync } from 'node:child_process'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { root, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }
let files: { dir: string; remove: () => void }

test.describe.configure({ mode: 'serial' })

const ray = (text: string): string => `\u001b[36m(TaskRunner pid=48211)\u001b[0m ${text}`
const stepLine = (step: number, score: number): string =>
  ray(
    `step:${step} - critic/score/mean:np.float64(${score}) - response_length/mean:${120 + step}.5 - actor/entropy:${(1 - score / 2).toFixed(3)} - actor/kl_loss:${step === 1 ? 'nan' : 0.001 * step} - timing_s/step:42.0`,
  )

/** Stores finished local runs (config from the host's own defaults) without training them: export needs no training. */
async function addLocalRuns(modes: string[]): Promise<void> {
  const reply = await fetch(`${served.base}api/call/runs.form`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
    body: '{}',
  })
  const { result } = (await reply.json()) as { result: { defaults: Record<string, Record<string, unknown>> } }
  const configs = modes.map((mode) => ({ ...result.defaults[mode], name: `local-${mode}` }))
  // Playwright's loader cannot load better-sqlite3: a plain Node child writes the rows (the host sees the commit).
  const script = `
    const Database = require('better-sqlite3')
    const [file, configs] = process.argv.slice(1)
    const db = new Database(file)
    for (const c of JSON.parse(configs))
      db.prepare("INSERT INTO runs (name, mode, config, status, seed, dataset_id) VALUES (?, ?, ?, 'finished', ?, (SELECT id FROM datasets WHERE name = ?))")
        .run(c.name, c.mode, JSON.stringify(c), c.seed, c.dataset)
    db.close()`
  const child = spawnSync(process.execPath, ['-e', script, join(workspace.dir, 'workbench.db'), JSON.stringify(configs)], {
    cwd: root,
    encoding: 'utf8',
  })
  expect(child.status, child.stderr).toBe(0)
}

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-external-')
  files = tempDir('cwb-e2e-external-files-')
  // The logs and bundles the user picks live outside the workspace: allow their folder (the browser door's paths).
  served = await serve(['--workspace', workspace.dir, '--allow-path', files.dir], { CWB_DEMO: '1' })
  await addLocalRuns(['ground_truth', 'self_certainty']) // runs 1 and 2
})

test.afterAll(async () => {
  expect(await served.stop()).toBe(0)
  workspace.remove()
  files.remove()
})

function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  return errors
}

const row = (page: Page, name: string) => page.locator('tr.run-row', { hasText: name })
const shownStep = async (page: Page): Promise<number> =>
  Number(await page.getByRole('region', { name: 'Live progress' }).getByRole('progressbar').getAttribute('aria-valuenow'))

test('import a verl console log from the cluster, follow it as it grows, and upload a TRL run', async ({ page }) => {
  test.setTimeout(60_000)
  const errors = watchErrors(page)
  const log = join(files.dir, 'cluster-grpo.log')
  writeFileSync(
    log,
    [
      ray('INFO 2026-05-01 12:00:00 Starting vLLM engine'),
      ray('step:0 - val-core/math/reward/mean@1:np.float64(0.31)'),
      'Training Progress:   0%|          | 0/9 [00:00<?, ?it/s]',
      stepLine(1, 0.25),
      'Training Progress:  11%|#1        | 1/9 [00:42<05:36]\r' + stepLine(2, 0.375),
      ray('WARNING: something unrelated: value:3'),
      stepLine(3, 0.5).slice(0, 60), // still being written
    ].join('\n'),
  )

  await page.goto(served.url)
  await page.getByRole('button', { name: 'Import run…' }).click()
  const dialog = page.getByRole('dialog', { name: 'Import a run' })
  await dialog.getByLabel('Log or dumps path').fill(log)
  await dialog.getByLabel('Log or dumps path').press('Enter')
  await expect(dialog.getByLabel('Format')).toHaveValue('auto')
  await dialog.getByLabel('Run name').fill('cluster-grpo')
  await dialog.getByLabel('Follow').check()
  await expectScreenshot(page, 'external-import-dialog')
  await dialog.getByRole('button', { name: 'Import' }).click()
  await expect(dialog).toBeHidden()
  await expect(page.getByText('Imported run 3')).toBeVisible()
  await expect(row(page, 'cluster-grpo').locator('.origin-chip')).toHaveText('verl')
  await expect(row(page, 'local-ground_truth').locator('.origin-chip')).toHaveCount(0)

  // TRL in browser mode: the file is uploaded; the run is named by the uploaded file and marked trl.
  const state = join(files.dir, 'trainer_state.json')
  writeFileSync(
    state,
    JSON.stringify({
      best_metric: null,
      log_history: [
        { step: 10, reward: 0.2, kl: 0.01, 'completions/mean_length': 80 },
        { step: 20, reward: 0.45, kl: 0.02, 'completions/mean_length': 72 },
      ],
    }),
  )
  await page.getByRole('button', { name: 'Import run…' }).click()
  await dialog.getByLabel('Upload log or dumps').setInputFiles(state)
  await expect(dialog.getByText('Uploaded trainer_state.json')).toBeVisible()
  await expect(dialog.getByLabel('Follow')).toBeDisabled()
  await dialog.getByRole('button', { name: 'Import' }).click()
  await expect(dialog).toBeHidden()
  await expect(row(page, 'trainer_state').locator('.origin-chip')).toHaveText('trl')
  await expectScreenshot(page, 'external-runs-imported')

  // The run detail lists the log as its source, followed: the cluster's next lines arrive without a click.
  await row(page, 'cluster-grpo').getByRole('link', { name: 'cluster-grpo' }).click()
  const sources = page.getByRole('region', { name: 'Sources' })
  await expect(sources.getByText(log)).toBeVisible()
  await expect(sources.getByLabel(`Follow ${log}`)).toBeChecked()
  await expect(page.locator('.run-header .origin-chip')).toHaveText('verl')
  expect(await shownStep(page)).toBe(2)
  appendFileSync(log, `${stepLine(3, 0.5).slice(60)}\n${stepLine(4, 0.55)}\n`)
  await expect.poll(() => shownStep(page), { timeout: 15_000 }).toBe(4)
  await expect(page.getByRole('region', { name: 'Latest metrics' }).getByText('critic/score/mean')).toBeVisible()
  await expectScreenshot(page, 'external-run-sources')
  await sources.getByLabel(`Follow ${log}`).uncheck()
  await expect(sources.getByLabel(`Follow ${log}`)).not.toBeChecked()
  expect(errors).toEqual([])
})

test('export a ground-truth run to verl: the fork, the override list and the files to download', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.goto(`${served.base}#/runs/1`)
  await page.getByRole('button', { name: 'Export to verl…' }).click()
  const dialog = page.getByRole('dialog', { name: 'Export “local-ground_truth” to verl' })
  await expect(dialog.getByText('Co-rewarding-II', { exact: true })).toBeVisible()
  await expect(dialog.getByRole('button', { name: 'Export' })).toBeDisabled() // no model yet
  await dialog.getByLabel('Model').fill('Qwen/Qwen3-1.7B-Base')
  await dialog.getByLabel('GPUs per node').fill('4')
  await dialog.getByRole('button', { name: 'Export' }).click()

  const overrides = dialog.getByRole('region', { name: 'Overrides' })
  for (const override of [
    'algorithm.adv_estimator=grpo',
    'reward_model.reward_manager=naive',
    'actor_rollout_ref.model.path=Qwen/Qwen3-1.7B-Base',
    'trainer.n_gpus_per_node=4',
    'data.train_batch_size=128',
  ])
    await expect(overrides.getByText(override, { exact: true })).toBeVisible()
  for (const text of await overrides.locator('li').allTextContents()) expect(text).toMatch(/^[a-z_]+(\.[a-z_0-9]+)+=\S+$/)
  const links = dialog.getByRole('region', { name: 'Files' }).getByRole('link')
  await expect(links).toHaveText(['launch.sh', 'README.md', 'data/train.parquet', 'data/validation.parquet'])
  await expectScreenshot(page, 'external-export-verl')

  const download = page.waitForEvent('download')
  await links.filter({ hasText: 'launch.sh' }).click()
  const script = readFileSync(await (await download).path(), 'utf8')
  expect((await download).suggestedFilename()).toBe('launch.sh')
  expect(script).toContain('python3 -m verl.trainer.main_ppo')
  expect(script).toContain('reward_model.reward_manager=naive')
  await dialog.getByRole('button', { name: 'Done' }).click()

  // Self-certainty: neither fork implements it; the dialog says so and will not export.
  await page.goto(`${served.base}#/runs/2`)
  await page.getByRole('button', { name: 'Export to verl…' }).click()
  const refused = page.getByRole('dialog', { name: 'Export “local-self_certainty” to verl' })
  await expect(refused.getByRole('alert')).toContainText('Neither Co-rewarding fork implements self-certainty rewards')
  await expect(refused.getByRole('button', { name: 'Export' })).toBeDisabled()
  await expectScreenshot(page, 'external-export-refused')
  expect(errors).toEqual([])
})

test('bundle an imported run, download it, and import the bundle as a new run', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.goto(`${served.base}#/runs/3`)
  await page.getByRole('button', { name: 'Bundle…' }).click()
  const dialog = page.getByRole('dialog', { name: 'Bundle “cluster-grpo”' })
  await dialog.getByLabel('no checkpoints').check()
  await dialog.getByRole('button', { name: 'Bundle' }).click()
  const link = dialog.getByRole('link', { name: 'Download cluster-grpo.tgz' })
  await expect(link).toBeVisible()
  await expectScreenshot(page, 'external-bundle')
  const download = page.waitForEvent('download')
  await link.click()
  const bundle = join(files.dir, 'cluster-grpo.tgz')
  await (await download).saveAs(bundle)
  await dialog.getByRole('button', { name: 'Done' }).click()

  await page.goto(`${served.base}#/runs`)
  await page.getByRole('button', { name: 'Import bundle…' }).click()
  const importer = page.getByRole('dialog', { name: 'Import a run bundle' })
  await importer.getByLabel('Upload bundle').setInputFiles(bundle)
  await expect(importer.getByText('Uploaded cluster-grpo.tgz')).toBeVisible()
  await importer.getByRole('button', { name: 'Import' }).click()
  await expect(importer).toBeHidden()
  await expect(page.getByText('Added run 5')).toBeVisible()
  await expect(row(page, 'cluster-grpo')).toHaveCount(2)
  await page.goto(`${served.base}#/runs/5`)
  await expect.poll(() => shownStep(page)).toBe(4)
  await expect(page.locator('.run-header .origin-chip')).toHaveText('verl')
  expect(errors).toEqual([])
})
