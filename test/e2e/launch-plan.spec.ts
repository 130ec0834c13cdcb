// The launch form's memory plan and LoRA switch in Chromium against `cwb serve` on a workspace with the demo dataset
// and a tiny random-init qwen3 folder: the demo defaults fit; absurd lengths do not (the advice shows and Launch stays
// disabled); a Hugging Face folder typed as the checkpoint plans on its own config, LoRA switched on shrinks the
// trainable parameters, and the LoRA run launches.
import { expect, test, type Page } from '@playwright/test'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { cwb, serve, type Served } from '../helpers/cli'
import { writeTinyHfFolder } from '../helpers/hf-folder'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }
let model: string

test.describe.configure({ mode: 'serial' })
test.use({ viewport: { width: 1280, height: 1000 } })

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-launch-plan-')
  model = join(workspace.dir, 'models', 'tiny-qwen3')
  writeTinyHfFolder(model, 'qwen3')
  served = await serve(['--workspace', workspace.dir], { CWB_DEMO: '1' })
})

test.afterAll(async () => {
  expect(await served?.stop()).toBe(0)
  workspace?.remove()
})

/** A launch-form field by its config key. */
const field = (page: Page, key: string) => page.getByRole('dialog', { name: 'New run' }).getByLabel(key, { exact: true })

async function openForm(page: Page): Promise<string[]> {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  await page.goto(served.url)
  await page.getByRole('button', { name: 'New run' }).first().click()
  await expect(page.getByRole('dialog', { name: 'New run' }).getByText('Config valid')).toBeVisible()
  return errors
}

test('the memory plan of the demo defaults fits; absurd lengths do not, with advice, and Launch stays disabled', async ({
  page,
}) => {
  const errors = await openForm(page)
  const form = page.getByRole('dialog', { name: 'New run' })
  const panel = form.getByRole('region', { name: 'Memory plan' })
  await expect(panel.getByLabel('Parameters', { exact: true })).toHaveText('893,056')
  await expect(panel.getByLabel('Trainable parameters')).toContainText('893,056')
  await expect(panel.getByRole('status')).toHaveText('Fits')
  // Browser mode has no folder picker (the desktop app's checkpoint field has one): the path is typed.
  await expect(page.getByRole('button', { name: 'Choose folder…' })).toHaveCount(0)
  await expect(panel).toContainText(
    /Peak [\d.]+ (MiB|GiB) \(during the (rollouts|update|log-prob pass)\) within the \S+ backend's/,
  )
  for (const part of ['weights', 'gradients', 'optimizer state', 'activations', 'rollout KV cache'])
    await expect(panel.getByRole('cell', { name: part, exact: true })).toBeVisible()
  await expect(form.getByRole('button', { name: 'Launch run' })).toBeEnabled()
  await panel.scrollIntoViewIfNeeded()
  await expectScreenshot(page, 'launch-plan-fits')

  await field(page, 'max_prompt_tokens').fill('4096')
  await field(page, 'max_response_tokens').fill('60000')
  await expect(panel.getByRole('status')).toHaveText('Does not fit')
  await expect(panel).toContainText(/over the \S+ backend's [\d.]+ GiB/)
  const advice = panel.getByRole('list', { name: 'Advice' })
  await expect(advice.getByRole('listitem').first()).toBeVisible()
  await expect(advice).toContainText(/together: .*, fits/)
  await expect(form.getByText('Does not fit in memory (see the memory plan)')).toBeVisible()
  const launch = form.getByRole('button', { name: 'Launch run' })
  await expect(launch).toBeDisabled()
  await expect(launch).toHaveAttribute('title', /^The run does not fit in memory: the run needs [\d.]+ GiB at its peak/)
  // The refusal reads in the panel, not twice: the footer's issue list does not repeat it.
  await expect(form.getByRole('alert').filter({ hasText: 'memory:' })).toHaveCount(0)
  await panel.scrollIntoViewIfNeeded()
  await expectScreenshot(page, 'launch-plan-does-not-fit')

  // Back to lengths that fit: Launch is offered again.
  await field(page, 'max_prompt_tokens').fill('48')
  await field(page, 'max_response_tokens').fill('32')
  await expect(panel.getByRole('status')).toHaveText('Fits')
  await expect(form.getByText('Config valid')).toBeVisible()
  await expect(launch).toBeEnabled()
  expect(errors).toEqual([])
})

test('a dataset the model cannot read is refused in the form with the numbers, before launch, and the demo fits again', async ({
  page,
}) => {
  // Two MATH-style questions: LaTeX the demo model's word-level tokenizer cannot read, longer than its 80 tokens.
  const file = join(workspace.dir, 'math.jsonl')
  const rows = [
    {
      question:
        'Let $f(x) = \\left\\lceil\\dfrac{1}{x+2}\\right\\rceil$ for $x > -2$, and $f(x) = \\left\\lfloor\\dfrac{1}{x+2}\\right\\rfloor$ for $x < -2$. ($f(x)$ is not defined at $x = -2$.) Which integer is not in the range of $f(x)$?',
      answer: '0',
      split: 'train',
    },
    { question: 'If $x^2+y^2=1$, what is the largest possible value of $|x|+|y|$?', answer: '\\sqrt{2}', split: 'test' },
  ]
  writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  const imported = cwb(['import', file, '--name', 'math-mini', '--workspace', workspace.dir, '--json'])
  expect(imported.code, imported.stderr).toBe(0)

  const errors = await openForm(page)
  const form = page.getByRole('dialog', { name: 'New run' })
  await field(page, 'dataset').selectOption('math-mini')
  await field(page, 'validation_split').fill('test')
  // Each refusal sits at the field to change, with the numbers and what would help.
  await expect(form).toContainText(/% of the training questions' tokens \(\d+ of \d+\) are unknown to the model's tokenizer/)
  await expect(form).toContainText(/is a \d+-token prompt, and the model reads at most 80 tokens: choose a model that reads it/)
  await expect(form.getByText('Config valid')).toHaveCount(0)
  const launch = form.getByRole('button', { name: 'Launch run' })
  await expect(launch).toBeDisabled()
  await expect(launch).toHaveAttribute('title', /^Fix first: .*dataset: .*unknown to the model's tokenizer/)
  await field(page, 'dataset').scrollIntoViewIfNeeded()
  await expectScreenshot(page, 'launch-dataset-unreadable')

  // The demo dataset fits the same model: the form is valid again.
  await field(page, 'dataset').selectOption('demo-arithmetic')
  await field(page, 'validation_split').fill('validation')
  await expect(form.getByText('Config valid')).toBeVisible()
  await expect(launch).toBeEnabled()

  // cross_view is Co-rewarding-I's alone: the field shows for that mode only, and is not sent for another.
  await expect(field(page, 'cross_view')).toHaveCount(0)
  await field(page, 'mode').selectOption('co_rewarding_i')
  await expect(field(page, 'cross_view')).toBeChecked()
  await field(page, 'mode').selectOption('majority_voting')
  await expect(field(page, 'cross_view')).toHaveCount(0)
  await expect(form.getByText('Config valid')).toBeVisible()
  expect(errors).toEqual([])
})

test('a malformed number is refused at its field, not read as another number, and refusals read as plain words', async ({
  page,
}) => {
  const errors = await openForm(page)
  const form = page.getByRole('dialog', { name: 'New run' })
  const launch = form.getByRole('button', { name: 'Launch run' })
  const rate = field(page, 'learning_rate')
  await rate.fill('1e-3.5')
  await expect(form).toContainText('must be a number, not "1e-3.5"')
  await expect(rate).toHaveValue('1e-3.5') // kept as typed, not rewritten as 1e-35
  await expect(launch).toBeDisabled()
  await expectScreenshot(page, 'launch-malformed-number')
  await rate.fill('0')
  await expect(form).toContainText('must be more than 0')
  await field(page, 'rollouts').fill('1')
  await expect(form).toContainText('must be at least 2')
  await expect(form).not.toContainText(/Too small|expected number/)
  await field(page, 'rollouts').fill('8')
  await rate.fill('3e-5')
  await expect(form.getByText('Config valid')).toBeVisible()
  await expect(launch).toBeEnabled()
  expect(errors).toEqual([])
})

test('LoRA on a Hugging Face folder: the switch, its fields, fewer trainable parameters, and the run launches', async ({
  page,
}) => {
  test.setTimeout(90_000)
  const errors = await openForm(page)
  const form = page.getByRole('dialog', { name: 'New run' })
  const panel = form.getByRole('region', { name: 'Memory plan' })

  // A typed Hugging Face folder is the checkpoint: the plan reads its config (qwen3), everything trains.
  await field(page, 'checkpoint').fill(model)
  await expect(panel).toContainText('qwen3')
  const parameters = (await panel.getByLabel('Parameters', { exact: true }).textContent())!.trim()
  expect(Number(parameters.replace(/,/g, ''))).toBeGreaterThan(10_000)
  await expect(panel.getByLabel('Trainable parameters')).toHaveText(`${parameters} · all`)

  // LoRA starts off (full fine-tuning); switched on, it shows rank 16, alpha 32, q/k/v/o and dropout 0.
  const lora = form.getByRole('region', { name: 'lora' })
  const toggle = lora.getByRole('switch', { name: 'lora' })
  await expect(toggle).not.toBeChecked()
  await expect(field(page, 'rank')).toHaveCount(0)
  await toggle.check()
  await expect(field(page, 'rank')).toHaveValue('16')
  await expect(field(page, 'alpha')).toHaveValue('32')
  await expect(field(page, 'dropout')).toHaveValue('0')
  const modules = lora.getByRole('group', { name: 'target_modules' })
  for (const name of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) await expect(modules.getByLabel(name)).toBeChecked()
  for (const name of ['gate_proj', 'up_proj', 'down_proj', 'all-linear']) await expect(modules.getByLabel(name)).not.toBeChecked()
  // rank 16 × ((32+32) + (32+16) + (32+16) + (32+32)) over one layer.
  await expect(panel.getByLabel('Trainable parameters')).toContainText('3,584 · ')
  await expect(panel.getByLabel('Parameters', { exact: true })).toHaveText(parameters)
  await expect(panel.getByRole('status')).toHaveText('Fits')

  // all-linear covers every module and goes alone; unticking it brings the list back.
  await modules.getByLabel('all-linear').check()
  await expect(modules.getByLabel('gate_proj')).toBeDisabled()
  await expect(modules.getByLabel('gate_proj')).toBeChecked()
  await expect
    .poll(async () => Number((await panel.getByLabel('Trainable parameters').textContent())!.split('·')[0]!.replace(/\D/g, '')))
    .toBeGreaterThan(3584)
  await modules.getByLabel('all-linear').uncheck()
  await expect(form.locator('#field-lora-target_modules-help')).toHaveAttribute('role', 'alert')
  await expect(form.getByRole('button', { name: 'Launch run' })).toBeDisabled()
  await modules.getByLabel('q_proj').check()
  await modules.getByLabel('v_proj').check()
  await field(page, 'rank').fill('2')
  await field(page, 'alpha').fill('4')
  // rank 2 × ((32+32) + (32+16)) over one layer.
  await expect(panel.getByLabel('Trainable parameters')).toContainText('224 · ')

  // Switching off returns to full fine-tuning; on again brings back what was set.
  await toggle.uncheck()
  await expect(panel.getByLabel('Trainable parameters')).toHaveText(`${parameters} · all`)
  await toggle.check()
  await expect(field(page, 'rank')).toHaveValue('2')
  await expect(panel.getByLabel('Trainable parameters')).toContainText('224 · ')
  await lora.scrollIntoViewIfNeeded()
  await expectScreenshot(page, 'launch-plan-lora')

  // A tiny run, launched: it appears with its own page and trains.
  await field(page, 'name').fill('e2e-plan-lora')
  await field(page, 'steps').fill('1')
  await field(page, 'batch_size').fill('2')
  await field(page, 'rollouts').fill('2')
  await field(page, 'max_prompt_tokens').fill('240')
  await field(page, 'max_response_tokens').fill('6')
  await field(page, 'micro_batch_size').fill('2')
  await field(page, 'checkpoint_every').fill('1')
  await form.locator('summary', { hasText: 'validation' }).click()
  await field(page, 'every').fill('1')
  await field(page, 'questions').fill('2')
  await expect(form.getByText('Config valid')).toBeVisible()
  await form.getByRole('button', { name: 'Launch run' }).click()
  await expect(page).toHaveURL(/#\/runs\/\d+$/)
  await expect(page.getByRole('heading', { level: 1 })).toContainText('e2e-plan-lora')
  await expect(page.locator('.run-header .badge').first()).toHaveText(/queued|running|finished/)
  await expect(page.locator('.run-header .badge').first()).toHaveText('finished', { timeout: 60_000 })
  await expectScreenshot(page, 'launch-plan-lora-run')

  // Duplicating the run brings its LoRA settings back into the form, switched on.
  await page.getByRole('button', { name: 'Duplicate' }).click()
  await expect(form.getByRole('region', { name: 'lora' }).getByRole('switch', { name: 'lora' })).toBeChecked()
  await expect(field(page, 'rank')).toHaveValue('2')
  await expect(
    form.getByRole('region', { name: 'lora' }).getByRole('group', { name: 'target_modules' }).getByLabel('k_proj'),
  ).not.toBeChecked()
  await expect(panel.getByLabel('Trainable parameters')).toContainText('224 · ')
  expect(errors).toEqual([])
})
