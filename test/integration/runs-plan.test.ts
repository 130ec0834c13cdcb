// `runs.plan` through the workbench host, as the launch form calls it while the user edits: the memory plan of a
// config from its starting checkpoint (the shipped base model by default, or a Hugging Face folder, full or LoRA),
// field issues instead of a plan for an invalid config, and the same refusal `runs.validate` gives at `memory`.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hostOnWorkspace } from '../helpers/host'
import { writeTinyHfFolder } from '../helpers/hf-folder'
import { cleanupsAfterEach, tempDir } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()

function setUp() {
  const workbench = hostOnWorkspace(cleanups, { demo: true })
  const demo = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    name: 'plan',
    mode: 'ground_truth',
    ...overrides,
  })
  return { ...workbench, demo }
}

describe('runs.plan', () => {
  it("plans the demo defaults on the shipped base model: every part, within the backend's limit", async () => {
    const { call, demo } = setUp()
    const { plan, issues } = await call('runs.plan', { config: demo() })
    expect(issues).toEqual([])
    expect(plan).toMatchObject({ model: 'cwb-gpt', parameters: 893056, trainable: 893056, fits: true, advice: [] })
    expect(plan!.components.map((c) => c.name)).toEqual(
      expect.arrayContaining(['weights', 'gradients', 'optimizer state', 'KL reference', 'activations', 'rollout KV cache']),
    )
    expect(plan!.total).toBeGreaterThan(0)
    if (plan!.limit !== null) expect(plan!.total).toBeLessThanOrEqual(plan!.limit)
    // Co-rewarding-II holds the EMA teacher instead of a frozen KL reference.
    const teacher = await call('runs.plan', { config: demo({ mode: 'co_rewarding_ii' }) })
    expect(teacher.plan!.components.map((c) => c.name)).toContain('teacher')
  })

  it('says a run with absurd lengths does not fit, with advice, and runs.validate refuses it at `memory`', async () => {
    const { call, refuse, demo } = setUp()
    const config = demo({ max_prompt_tokens: 4096, max_response_tokens: 60000 })
    const { plan, issues } = await call('runs.plan', { config })
    expect(issues).toEqual([])
    expect(plan).toMatchObject({ fits: false })
    expect(plan!.limit).not.toBeNull()
    expect(plan!.total).toBeGreaterThan(plan!.limit!)
    expect(plan!.advice.length).toBeGreaterThan(0)
    expect(plan!.advice).toEqual(expect.arrayContaining([expect.stringMatching(/^together: .*, fits$/)]))
    const checked = await call('runs.validate', { config })
    expect(checked.config).toBeNull()
    expect(checked.issues).toEqual([
      { path: 'memory', message: expect.stringMatching(/^the run needs [\d.]+ GiB at its peak/) },
      // The demo model reads 80 tokens: responses of 60000 are beyond it whatever the memory.
      {
        path: 'max_response_tokens',
        message: expect.stringMatching(/the model reads at most 80 tokens: lower max_response_tokens/),
      },
    ])
    const launch = await refuse('runs.launch', { configs: [config] })
    expect(launch).toMatchObject({
      code: 'invalid_request',
      issues: [{ path: 'configs.0.memory' }, { path: 'configs.0.max_response_tokens' }],
    })
  })

  it('plans a Hugging Face folder fully and through LoRA: only the adapters train', async () => {
    const { call, dir, demo } = setUp()
    const folder = join(dir, 'models', 'tiny-qwen3')
    writeTinyHfFolder(folder, 'qwen3')
    const full = await call('runs.plan', { config: demo({ checkpoint: folder }) })
    expect(full.issues).toEqual([])
    expect(full.plan).toMatchObject({ model: 'qwen3', fits: true })
    expect(full.plan!.trainable).toBe(full.plan!.parameters)
    const lora = { rank: 16, alpha: 32, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], dropout: 0 }
    const adapted = await call('runs.plan', { config: demo({ checkpoint: folder, lora }) })
    expect(adapted.issues).toEqual([])
    expect(adapted.plan!.parameters).toBe(full.plan!.parameters)
    // hidden 32, 4 heads and 2 KV heads of 8, one layer: rank 16 × ((32+32) + (32+16) + (32+16) + (32+32)) = 3584.
    expect(adapted.plan!.trainable).toBe(3584)
    const size = (plan: typeof full.plan, name: string): number => plan!.components.find((c) => c.name === name)!.bytes
    expect(size(adapted.plan, 'optimizer state')).toBe(2 * 3584 * 4)
    expect(size(adapted.plan, 'optimizer state')).toBeLessThan(size(full.plan, 'optimizer state'))
    const all = await call('runs.plan', {
      config: demo({ checkpoint: folder, lora: { ...lora, target_modules: ['all-linear'] } }),
    })
    expect(all.plan!.trainable).toBeGreaterThan(3584)
  })

  it('answers field issues and no plan for an invalid config or a checkpoint that is not there', async () => {
    const { call, refuse, dir, demo } = setUp()
    const bad = await call('runs.plan', { config: demo({ learning_rate: -1, lora: { rank: 0, alpha: 32, target_modules: [] } }) })
    expect(bad.plan).toBeNull()
    expect(bad.issues.map((issue) => issue.path).sort()).toEqual(['learning_rate', 'lora.rank', 'lora.target_modules'])
    const missing = await call('runs.plan', { config: demo({ checkpoint: join(dir, 'no-such-model') }) })
    expect(missing.plan).toBeNull()
    expect(missing.issues).toEqual([{ path: 'checkpoint', message: expect.any(String) }])
    const run = await call('runs.plan', { config: demo({ checkpoint: '7:3' }) })
    expect(run).toMatchObject({ plan: null, issues: [{ path: 'checkpoint' }] })
    expect(await refuse('runs.plan', { config: demo(), extra: true })).toMatchObject({ code: 'invalid_request' })
    expect(await refuse('runs.plan', {})).toMatchObject({ code: 'invalid_request' })
  })

  it('reads only checkpoint folders the path policy allows: one elsewhere is a field issue, not a plan', async () => {
    const { dir, remove } = tempDir('cwb-plan-paths-')
    cleanups.push(remove)
    const [ws, allowed, outside] = ['ws', 'allowed', 'outside'].map((name) => join(dir, name))
    for (const folder of [ws!, allowed!, outside!]) mkdirSync(folder)
    writeTinyHfFolder(join(allowed!, 'qwen3'), 'qwen3')
    writeTinyHfFolder(join(outside!, 'qwen3'), 'qwen3')
    const { call } = hostOnWorkspace(cleanups, { workspace: ws, demo: true, allowedPaths: [allowed!] })
    const config = (checkpoint: string) => ({ name: 'p', mode: 'ground_truth', checkpoint })
    expect((await call('runs.plan', { config: config(join(allowed!, 'qwen3')) })).plan).toMatchObject({ model: 'qwen3' })
    expect(await call('runs.plan', { config: config(join(outside!, 'qwen3')) })).toEqual({
      plan: null,
      issues: [{ path: 'checkpoint', message: expect.stringMatching(/is outside the folders this workbench may use/) }],
    })
  })
})
