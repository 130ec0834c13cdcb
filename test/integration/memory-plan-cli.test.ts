// `cwb train --config F --plan`: the memory plan of a run on the shipped demo model as a table (exit 0, it fits), as
// one JSON line with --json, and a run whose lengths are absurd refused (exit 1) with the advice.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cwb, lastJson } from '../helpers/cli'
import { TINY_QWEN3_PLAN_CONFIG } from '../helpers/hf-folder'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()

function runConfig(overrides: Record<string, unknown> = {}): string {
  const defaults = cwb(['train', '--print-config', 'ground_truth'])
  expect(defaults.code).toBe(0)
  const file = join(folder(), 'run.json')
  writeFileSync(file, JSON.stringify({ ...JSON.parse(defaults.stdout), ...overrides }))
  return file
}

describe('cwb train --plan', () => {
  it('prints the plan of a run on the shipped demo model as a table and exits 0', () => {
    const result = cwb(['train', '--config', runConfig(), '--plan'], { CWB_BACKEND: 'wasm' })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^Memory plan: cwb-gpt on wasm\n/)
    expect(result.stdout).toMatch(/^ {2}parameters {2}893,056$/m)
    expect(result.stdout).toMatch(/^ {2}trainable {3}893,056$/m)
    for (const component of [
      'weights',
      'gradients',
      'optimizer state',
      'KL reference',
      'activations',
      'logits',
      'rollout KV cache',
    ])
      expect(result.stdout).toMatch(new RegExp(`^ {2}${component} +\\d+\\.\\d+ (MiB|GiB) `, 'm'))
    expect(result.stdout).toMatch(/^ {2}limit \(wasm\) {2}4\.00 GiB$/m)
    expect(result.stdout).toMatch(/^ {2}fits$/m)
  })

  it('prints the plan object as one JSON line with --json', () => {
    const result = cwb(['train', '--config', runConfig({ mode: 'co_rewarding_ii' }), '--plan', '--json'], { CWB_BACKEND: 'wasm' })
    expect(result.code).toBe(0)
    const plan = lastJson<{ parameters: number; limit: number; fits: boolean; components: { name: string }[] }>(result.stdout)
    expect(plan).toMatchObject({
      model: 'cwb-gpt',
      backend: 'wasm',
      parameters: 893056,
      trainable: 893056,
      limit: 4 * 2 ** 30,
      fits: true,
    })
    expect(plan.components.map((c) => c.name)).toContain('teacher')
  })

  it('refuses a run whose lengths are absurd, exiting 1 with the numbers and the advice', () => {
    const config = runConfig({ max_prompt_tokens: 1024, max_response_tokens: 4096 })
    const result = cwb(['train', '--config', config, '--plan'], { CWB_BACKEND: 'wasm' })
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^ {2}does not fit: \d+ GiB > 4\.00 GiB$/m)
    expect(result.stdout).toContain('To make it fit, change one of:')
    expect(result.stdout).toMatch(/^ {2}- micro_batch_size 1 \(saves \d+ GiB\): total [\d.]+ GiB, still over 4\.00 GiB$/m)
    expect(result.stdout).toMatch(
      /^ {2}- together: micro_batch_size 1, batch_size \d+, max_response_tokens \d+: total [\d.]+ GiB, fits$/m,
    )
    expect(result.stdout).toMatch(/^ {2}- the tensorflow-gpu backend \(GPU memory/m)
    const json = cwb(['train', '--config', config, '--plan', '--json'], { CWB_BACKEND: 'wasm' })
    expect(json.code).toBe(1)
    expect(lastJson<{ fits: boolean; advice: string[] }>(json.stdout)).toMatchObject({
      fits: false,
      advice: expect.arrayContaining([expect.stringMatching(/^together: /)]),
    })
  })

  it("plans a LoRA checkpoint folder on its base's config.json with the adapter's settings", () => {
    // Base: qwen3, hidden 16, 2 heads, 1 KV head, head_dim 8, 2 layers. Adapter: rank 4 on q_proj (16→16) and
    // v_proj (16→8): 4·32 + 4·24 = 224 per layer → 448 trainable.
    const dir = folder()
    const base = join(dir, 'base')
    const adapter = join(dir, 'adapter')
    mkdirSync(base)
    mkdirSync(adapter)
    writeFileSync(join(base, 'config.json'), JSON.stringify(TINY_QWEN3_PLAN_CONFIG))
    writeFileSync(
      join(adapter, 'adapter_config.json'),
      JSON.stringify({
        peft_type: 'LORA',
        base_model_name_or_path: base,
        r: 4,
        lora_alpha: 8,
        target_modules: ['q_proj', 'v_proj'],
      }),
    )
    const result = cwb(['train', '--config', runConfig({ checkpoint: adapter }), '--plan', '--json'], { CWB_BACKEND: 'wasm' })
    expect(result.code).toBe(0)
    expect(lastJson(result.stdout)).toMatchObject({ model: 'qwen3', parameters: 6320, trainable: 448, fits: true })
  })

  it('needs --config', () => {
    const result = cwb(['train', '--plan'])
    expect(result.code).toBe(2)
  })
})
