// A LoRA checkpoint of a Hugging Face family in the Checkpoints view, in Chromium against `cwb serve`: a tiny
// random-init qwen3 folder trained two steps of Co-rewarding-II with LoRA by the real `cwb train` (PEFT adapter
// folders with an EMA teacher of the adapters), then the checkpoint's adapter settings (Details) and its adapter
// statistics and merged delta against the base (Weights), and the adapter folder opened as a loose folder.
import { expect, test, type Page } from '@playwright/test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cwb, lastJson, serve, type Served } from '../helpers/cli'
import { writeTinyHfFolder } from '../helpers/hf-folder'
import { TINY_HF_LORA, TINY_HF_RUN } from '../helpers/trainer-job'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }
let base: string
const runName = 'e2e-lora'

test.describe.configure({ mode: 'serial' })
test.use({ viewport: { width: 1280, height: 1500 } })

test.beforeAll(async () => {
  test.setTimeout(120_000)
  workspace = tempDir('cwb-e2e-hf-checkpoints-')
  base = join(workspace.dir, 'models', 'tiny-qwen3')
  writeTinyHfFolder(base, 'qwen3')
  const config = join(workspace.dir, 'run.json')
  writeFileSync(
    config,
    JSON.stringify({
      name: runName,
      mode: 'co_rewarding_ii',
      checkpoint: base,
      lora: TINY_HF_LORA,
      seed: 7,
      ...TINY_HF_RUN,
      validation: { every: 1, questions: 2 },
      checkpoint_every: 1,
    }),
  )
  const trained = cwb(['train', '--config', config, '--workspace', workspace.dir, '--json'], { CWB_DEMO: '' })
  expect(trained.code, trained.stderr).toBe(0)
  const overview = lastJson<{ checkpoints: { step: number }[] }>(
    cwb(['checkpoints', '1', '--workspace', workspace.dir, '--json']).stdout,
  )
  expect(overview.checkpoints.map((c) => c.step)).toEqual([1, 2])
  served = await serve(['--workspace', workspace.dir])
})

test.afterAll(async () => {
  expect(await served?.stop()).toBe(0)
  workspace?.remove()
})

/** Opens the app, then `hash`; the page's errors. */
const open = (page: Page, hash: string): Promise<string[]> => openApp(page, served, hash)

test('a LoRA checkpoint shows its adapter settings and adapter statistics, and its merged change against the base', async ({
  page,
}) => {
  const errors = await open(page, '/checkpoints?run=1&step=2')
  const focus = page.getByRole('region', { name: 'Selected checkpoint' })
  await expect(focus.getByRole('heading', { name: 'Step 2' })).toBeVisible()
  await expect(focus).toContainText('LoRA r=2 α=4')
  await expect(focus).toContainText('384 adapter parameters over')

  const weights = page.getByRole('region', { name: 'Weights' })
  const adapter = weights.getByRole('region', { name: 'Adapter statistics' })
  await expect(adapter).toBeVisible({ timeout: 30_000 })
  await expect(adapter).toContainText('rank 2')
  await expect(adapter).toContainText('3 adapted modules over')
  const modules = adapter.getByRole('table', { name: 'Adapted modules' })
  await expect(modules.locator('tr[data-layer="layers.0"]')).toContainText('3 modules')
  for (const module of ['self_attn.q_proj', 'self_attn.v_proj', 'mlp.down_proj'])
    await expect(modules.locator(`tr[data-module="model.layers.0.${module}"]`)).toContainText('32')
  // The tensors listed are the adapter's own: A and B of each module.
  await expect(weights.getByRole('table', { name: 'Tensors' }).locator('tbody tr')).toHaveCount(6)
  await expect(weights.getByRole('table', { name: 'Tensors' })).toContainText('lora_A.weight')
  // Against the base model: the merged change, per layer.
  await expect(weights).toContainText(`base: ${base}`)
  await expect(weights).toHaveAttribute('data-drawn', 'yes')
  await expectScreenshot(page, 'hf-checkpoints-lora-weights')

  // The previous checkpoint is a LoRA checkpoint of the same base: the adapters compare tensor by tensor.
  await weights.getByRole('button', { name: 'Previous' }).click()
  await expect(weights).toContainText(`previous: ${runName}:1`)
  await expect(weights).toHaveAttribute('data-drawn', 'yes')
  // The EMA teacher's adapters have their own statistics.
  await weights.getByRole('group', { name: 'Statistics of' }).getByRole('button', { name: 'EMA teacher' }).click()
  await expect(weights).toContainText('weights in teacher.safetensors')
  await expect(adapter).toContainText('3 adapted modules over')

  await page.getByRole('button', { name: 'Details' }).click()
  const settings = page.getByRole('region', { name: 'LoRA adapter' })
  await expect(settings).toContainText('rank (r)')
  await expect(settings).toContainText('q_proj, v_proj, down_proj')
  await expect(settings).toContainText(base)
  await expect(settings).toContainText('384')
  await expect(page.getByRole('region', { name: 'Model config' })).toContainText('qwen3')
  await expectScreenshot(page, 'hf-checkpoints-lora-details')
  expect(errors).toEqual([])
})

test('the LoRA checkpoint folder opens as a loose folder with its adapter settings and statistics', async ({ page }) => {
  const errors = await open(page, '/checkpoints')
  await page.getByRole('button', { name: 'Open folder…' }).click()
  await page.getByRole('textbox', { name: 'Checkpoint folder' }).fill(join(workspace.dir, 'runs', '1', 'checkpoints', 'step-2'))
  await page.getByRole('button', { name: 'Open', exact: true }).click()
  const opened = page.getByRole('region', { name: 'Opened folder' })
  await expect(opened).toContainText('LoRA r=2 α=4')
  await expect(opened).toContainText('qwen3')
  await expect(page.getByRole('region', { name: 'LoRA adapter' })).toContainText('alpha')
  const weights = page.getByRole('region', { name: 'Weights' })
  await expect(weights.getByRole('region', { name: 'Adapter statistics' })).toContainText('rank 2')
  // It keeps an EMA teacher, so the change is first shown against it; then against its base folder: the merged delta.
  await expect(weights).toContainText('Against EMA teacher of')
  await weights.getByRole('button', { name: 'Other…' }).click()
  await weights.getByRole('textbox', { name: 'Compare against checkpoint' }).fill(base)
  await weights.getByRole('button', { name: 'Compare', exact: true }).click()
  await expect(weights).toContainText(`Against ${base}`)
  await expect(weights).toHaveAttribute('data-drawn', 'yes')
  await expectScreenshot(page, 'hf-checkpoints-lora-folder')
  expect(errors).toEqual([])
})
