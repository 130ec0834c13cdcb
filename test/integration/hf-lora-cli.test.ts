// LoRA through the built CLI: `cwb train` with a "lora" block on a Hugging Face folder, then `cwb logprobs RUN:2`
// (both engines) against the float64 reference with the PEFT adapter merged in by the reference's own code; a base
// that changed is refused, a moved one accepted with --base; an adapter trained elsewhere (PEFT layout, no trainer
// state) opens as a model.
import { cpSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeSafetensors } from '../../main/engine/checkpoint/safetensors'
import { Random } from '../../main/random'
import { cwb } from '../helpers/cli'
import { cliLogprobs, cliTrain, LINES, maxDiff } from '../helpers/hf-cli'
import { writeTinyHfFolder } from '../helpers/hf-folder'
import { makeFamilyFolder, referenceAdapterLogprobs, referenceLogprobs, torchAvailable } from '../helpers/reference'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()
const noTorch = torchAvailable()

describe('LoRA runs through the CLI', { timeout: 240_000 }, () => {
  it.skipIf(noTorch !== undefined)(
    `cwb logprobs RUN:2 applies the adapter: both engines match the float64 reference with the PEFT adapter merged, within 2e-3${noTorch ? ` (skipped: ${noTorch})` : ''}`,
    () => {
      const base = join(folder(), 'qwen3-bf16')
      makeFamilyFolder('qwen3', 'bf16-qknorm', base)
      const workspace = folder()
      cliTrain(workspace, base)
      const adapter = join(workspace, 'runs/1/checkpoints/step-2')
      const expected = referenceAdapterLogprobs(base, adapter, LINES)
      for (const engine of ['tfjs', 'onnx']) {
        const got = cliLogprobs('lora:2', LINES, ['--engine', engine, '--workspace', workspace])
        expect(maxDiff(got, expected), engine).toBeLessThan(2e-3)
      }
      // The adapter moved: the base alone gives other numbers.
      expect(maxDiff(referenceLogprobs(base, LINES), expected)).toBeGreaterThan(1e-3)
    },
  )

  it.skipIf(noTorch !== undefined)(
    `an adapter trained elsewhere (PEFT layout, no trainer state) opens as a model${noTorch ? ` (skipped: ${noTorch})` : ''}`,
    () => {
      const base = join(folder(), 'llama-f32')
      makeFamilyFolder('llama', 'f32', base)
      const config = JSON.parse(readFileSync(join(base, 'config.json'), 'utf8'))
      const adapter = join(folder(), 'adapter')
      mkdirSync(adapter)
      const random = new Random(11)
      const rank = 3
      const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {}
      const draw = (shape: number[]): { dtype: 'F32'; shape: number[]; data: Float32Array } => ({
        dtype: 'F32',
        shape,
        data: Float32Array.from({ length: shape[0]! * shape[1]! }, () => random.normal() * 0.2),
      })
      const heads = config.num_attention_heads * (config.head_dim ?? config.hidden_size / config.num_attention_heads)
      for (let layer = 0; layer < config.num_hidden_layers; layer++) {
        const module = `base_model.model.model.layers.${layer}.self_attn.q_proj`
        tensors[`${module}.lora_A.weight`] = draw([rank, config.hidden_size])
        tensors[`${module}.lora_B.weight`] = draw([heads, rank])
      }
      writeSafetensors(join(adapter, 'adapter_model.safetensors'), tensors, { format: 'pt' })
      writeFileSync(
        join(adapter, 'adapter_config.json'),
        JSON.stringify({
          peft_type: 'LORA',
          task_type: 'CAUSAL_LM',
          r: rank,
          lora_alpha: 6,
          target_modules: ['q_proj'],
          base_model_name_or_path: base,
        }),
      )
      const expected = referenceAdapterLogprobs(base, adapter, LINES)
      expect(maxDiff(cliLogprobs(adapter, LINES), expected)).toBeLessThan(2e-3)
      expect(maxDiff(cliLogprobs(adapter, LINES, ['--engine', 'onnx']), expected)).toBeLessThan(2e-3)
    },
  )

  it('refuses a base that changed since training, and accepts a moved one given with --base', () => {
    const workspace = folder()
    const original = join(folder(), 'qwen3')
    writeTinyHfFolder(original, 'qwen3')
    const base = join(folder(), 'qwen3-copy')
    cpSync(original, base, { recursive: true })
    cliTrain(workspace, base)
    const line = [{ prompt_ids: [1, 2, 3], response_ids: [4, 5] }]
    const before = cliLogprobs('lora:2', line, ['--workspace', workspace])

    // Moved: not found where the adapter says, with a way out.
    const moved = join(folder(), 'moved-base')
    renameSync(base, moved)
    const lost = cwb(['logprobs', 'lora:2', '--input', '-', '--workspace', workspace], {}, JSON.stringify(line[0]))
    expect(lost.code).toBe(1)
    expect(lost.stderr).toContain(`the base model of the adapter ${join(workspace, 'runs/1/checkpoints/step-2')} is not found`)
    expect(lost.stderr).toContain('give its folder with --base DIR')
    expect(cliLogprobs('lora:2', line, ['--workspace', workspace, '--base', moved])).toEqual(before)

    // Another model at that path (same shapes, other weights): refused by its fingerprint, not silently used.
    const other = join(folder(), 'other')
    writeTinyHfFolder(other, 'qwen3', 99)
    const changed = cwb(
      ['logprobs', 'lora:2', '--input', '-', '--workspace', workspace, '--base', other],
      {},
      JSON.stringify(line[0]),
    )
    expect(changed.code).toBe(1)
    expect(changed.stderr).toContain(`the base model at ${other} is not the one the adapter`)
    expect(changed.stderr).toContain('Give the original base with --base DIR')
  })
})
