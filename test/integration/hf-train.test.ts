// GRPO on Hugging Face family folders, in-process with the real engine: LoRA runs write PEFT's adapter layout (and
// only adapters train), full fine-tuning writes a Hugging Face folder, Co-rewarding-II's teacher is an EMA of the
// adapters, and every mode resumes exactly (6 steps = 3 + 3) with LoRA. Tiny qwen3 / llama folders written here.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, baseFingerprint } from '../../main/engine/checkpoint/adapter'
import { readSafetensors, readSafetensorsHeader } from '../../main/engine/checkpoint/safetensors'
import { useBackend } from '../../main/engine/backend'
import { emaRate } from '../../main/engine/trainer/ema'
import { rewardModeIds } from '../../main/engine/rewards'
import { defaultRunConfig } from '../../main/engine/run-config'
import type { RunConfigInput } from '../../main/engine/run-config'
import { Trainer } from '../../main/engine/trainer/trainer'
import type { TrainerEvent, TrainerJob } from '../../main/engine/trainer/trainer'
import { writeTinyHfFolder } from '../helpers/hf-folder'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { TINY_HF_LORA, tinyHfJob } from '../helpers/trainer-job'
import type { TinyFamily } from '../helpers/hf-folder'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()
const LORA = TINY_HF_LORA

beforeAll(async () => {
  await useBackend('wasm')
})

/** A 2-step entropy job of the tiny Hugging Face settings (a checkpoint every 3 steps); `overrides` changes any field. */
const job = (dir: string, start: string, overrides: Partial<RunConfigInput>): TrainerJob =>
  tinyHfJob(dir, start, { checkpoint_every: 3, ...overrides })

async function train(j: TrainerJob, stopAt?: number): Promise<TrainerEvent[]> {
  const events: TrainerEvent[] = []
  const trainer = await Trainer.create(j, (event) => events.push(event))
  try {
    const result = await trainer.run(() => stopAt !== undefined && trainer.currentStep >= stopAt)
    expect(result.status).toBe(stopAt === undefined ? 'finished' : 'stopped')
  } finally {
    trainer.dispose()
  }
  return events
}

const steps = (events: TrainerEvent[]): Extract<TrainerEvent, { type: 'step' }>[] =>
  events.filter((e): e is Extract<TrainerEvent, { type: 'step' }> => e.type === 'step')

/** Every metric of every step equal to 1e-6 (timings and memory aside). */
function expectSameMetrics(split: ReturnType<typeof steps>, straight: ReturnType<typeof steps>): void {
  expect(split.map((e) => e.step)).toEqual(straight.map((e) => e.step))
  for (const [i, event] of split.entries()) {
    for (const [key, value] of Object.entries(straight[i]!.metrics)) {
      if (key.startsWith('timing_s/') || key.startsWith('perf/')) continue
      expect(event.metrics[key], `step ${event.step} ${key}`).toBeCloseTo(value, 6)
    }
  }
}

const tensors = (file: string): Record<string, Float32Array> =>
  Object.fromEntries(Object.entries(readSafetensors(file).tensors).map(([name, t]) => [name, t.data as Float32Array]))

const base = (family: TinyFamily = 'qwen3'): string => {
  const dir = join(folder(), `${family}-base`)
  writeTinyHfFolder(dir, family)
  return dir
}

describe('LoRA on a Hugging Face folder', { timeout: 120_000 }, () => {
  it("writes PEFT's adapter layout at every checkpoint: adapter_config.json, PEFT-named A [r, in] and B [out, r], the base's fingerprint", async () => {
    const start = base()
    const dir = folder()
    const events = await train(job(dir, start, { lora: LORA, checkpoint_every: 1 }))
    // Trainable: q (2x32 + 32x2 = 128) + v (2x32 + 16x2 = 96) + down (2x48 + 32x2 = 160) = 384.
    expect(events.find((e) => e.type === 'started')).toMatchObject({ parameters: 384 })
    for (const step of [1, 2]) {
      const checkpoint = join(dir, 'checkpoints', `step-${step}`)
      expect(readdirSync(checkpoint).sort()).toEqual([
        ADAPTER_CONFIG_FILE,
        ADAPTER_WEIGHTS_FILE,
        'optimizer.safetensors',
        'trainer_state.json',
      ])
      const config = JSON.parse(readFileSync(join(checkpoint, ADAPTER_CONFIG_FILE), 'utf8'))
      expect(config).toMatchObject({
        peft_type: 'LORA',
        task_type: 'CAUSAL_LM',
        r: 2,
        lora_alpha: 4,
        lora_dropout: 0,
        target_modules: ['q_proj', 'v_proj', 'down_proj'],
        base_model_name_or_path: start,
      })
      const header = readSafetensorsHeader(join(checkpoint, ADAPTER_WEIGHTS_FILE))
      // hidden 32, 4 heads x 8 = 32 for q, 2 KV heads x 8 = 16 for v, intermediate 48.
      expect(Object.fromEntries(Object.entries(header.tensors).map(([name, t]) => [name, t.shape]))).toEqual({
        'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': [2, 32],
        'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': [32, 2],
        'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight': [2, 32],
        'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight': [16, 2],
        'base_model.model.model.layers.0.mlp.down_proj.lora_A.weight': [2, 48],
        'base_model.model.model.layers.0.mlp.down_proj.lora_B.weight': [32, 2],
      })
      const state = JSON.parse(readFileSync(join(checkpoint, 'trainer_state.json'), 'utf8'))
      expect(state.base).toEqual({ path: start, fingerprint: baseFingerprint(start) })
      // The optimizer keeps moments for the adapters only.
      const moments = Object.keys(readSafetensorsHeader(join(checkpoint, 'optimizer.safetensors')).tensors)
      expect(moments.every((name) => name === 'step' || name.includes('.lora_'))).toBe(true)
    }
    // B starts at zero; after an update it is not, and the base folder is untouched (only read).
    const adapter = tensors(join(dir, 'checkpoints/step-1', ADAPTER_WEIGHTS_FILE))
    expect(adapter['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight']!.some((v) => v !== 0)).toBe(true)
    expect(readdirSync(start).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ])
  })

  it("Co-rewarding-II's teacher is the EMA of the adapters over the shared base (teacher.safetensors holds adapters only)", async () => {
    const start = base()
    const dir = folder()
    await train(job(dir, start, { mode: 'co_rewarding_ii', lora: LORA, steps: 2, checkpoint_every: 1 }))
    const teacher1 = tensors(join(dir, 'checkpoints/step-1/teacher.safetensors'))
    const policy1 = tensors(join(dir, 'checkpoints/step-1', ADAPTER_WEIGHTS_FILE))
    const teacher2 = tensors(join(dir, 'checkpoints/step-2/teacher.safetensors'))
    expect(Object.keys(teacher2).sort()).toEqual(Object.keys(policy1).sort())
    // Step 2 moves the teacher towards the policy after update 1: t2 = (1 - w) t1 + w p1.
    const ema = defaultRunConfig('co_rewarding_ii').ema!
    const w = emaRate(2, 2, ema.alpha_start, ema.alpha_end)
    for (const [name, t1] of Object.entries(teacher1)) {
      const p1 = policy1[name]!
      const t2 = teacher2[name]!
      for (let i = 0; i < t1.length; i++) expect(t2[i]).toBeCloseTo((1 - w) * t1[i]! + w * p1[i]!, 6)
    }
  })

  it.each(rewardModeIds())(
    '%s: resumed after 3 steps, reproduces 6 uninterrupted steps with LoRA (metrics and adapters)',
    async (mode) => {
      const start = base()
      const dir = folder()
      // Dropout on for one mode: its masks must be drawn again the same way after the resume.
      const lora = { ...LORA, dropout: mode === 'entropy' ? 0.2 : 0 }
      const overrides = { mode, steps: 6, lora, checkpoint_every: 3 }
      const straight = steps(await train(job(join(dir, 'straight'), start, overrides)))
      const first = job(join(dir, 'split'), start, overrides)
      const before = steps(await train(first, 3))
      const after = steps(await train({ ...first, resumeFrom: join(dir, 'split/checkpoints/step-3') }))
      const split = [...before, ...after]
      expect(split.map((e) => e.step)).toEqual([0, 1, 2, 3, 4, 5, 6])
      expectSameMetrics(split, straight)
      const a = tensors(join(dir, 'straight/checkpoints/step-6', ADAPTER_WEIGHTS_FILE))
      const b = tensors(join(dir, 'split/checkpoints/step-6', ADAPTER_WEIGHTS_FILE))
      for (const [name, values] of Object.entries(a)) expect([...b[name]!], name).toEqual([...values])
    },
  )

  it("refuses a cwb-gpt checkpoint, and an adapter whose settings are not the run's", async () => {
    const start = base()
    const dir = folder()
    await train(job(dir, start, { lora: LORA, steps: 1 }))
    const gpt = join(folder(), 'gpt')
    writeTinyCheckpoint(gpt)
    await expect(Trainer.create(job(folder(), gpt, { lora: LORA }), () => {})).rejects.toThrow(
      /is a cwb-gpt checkpoint: LoRA trains the Hugging Face families \(qwen2, qwen3, llama\); set "lora" to null/,
    )
    const adapter = join(dir, 'checkpoints/step-1')
    await expect(Trainer.create(job(folder(), adapter, { lora: { ...LORA, rank: 4 } }), () => {})).rejects.toThrow(
      /is a LoRA adapter \(\{"rank": 2, "alpha": 4, "target_modules": \["q_proj","v_proj","down_proj"\]\}\): to train it further set "lora" to those settings/,
    )
    // The same settings continue training the adapter.
    await train(job(folder(), adapter, { lora: LORA, steps: 1 }))
  })
})

describe('full fine-tuning of a Hugging Face folder', { timeout: 120_000 }, () => {
  it('writes a Hugging Face folder (float32, config and tokenizer copied) and resumes exactly: 4 steps = 2 + 2', async () => {
    const start = base('llama')
    const dir = folder()
    const overrides = { mode: 'majority_voting', steps: 4, checkpoint_every: 2 }
    const straight = steps(await train(job(join(dir, 'straight'), start, overrides)))
    const first = job(join(dir, 'split'), start, overrides)
    const split = [
      ...steps(await train(first, 2)),
      ...steps(await train({ ...first, resumeFrom: join(dir, 'split/checkpoints/step-2') })),
    ]
    expectSameMetrics(split, straight)
    const checkpoint = join(dir, 'straight/checkpoints/step-4')
    expect(readdirSync(checkpoint).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'trainer_state.json',
    ])
    expect(JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8'))).toMatchObject({
      model_type: 'llama',
      torch_dtype: 'float32',
    })
    const trained = tensors(join(checkpoint, 'model.safetensors'))
    const initial = tensors(join(start, 'model.safetensors'))
    expect(Object.keys(trained).sort()).toEqual(Object.keys(initial).sort())
    // Projections keep Hugging Face's [out, in] layout, and they moved.
    expect(
      readSafetensorsHeader(join(checkpoint, 'model.safetensors')).tensors['model.layers.0.mlp.down_proj.weight']!.shape,
    ).toEqual([32, 48])
    const moved = (name: string): boolean => trained[name]!.some((v, i) => v !== initial[name]![i])
    expect(moved('model.layers.0.mlp.down_proj.weight')).toBe(true)
    expect(existsSync(join(checkpoint, ADAPTER_CONFIG_FILE))).toBe(false)
  })
})
