// Hugging Face family checkpoints (qwen3 here) in the Checkpoints services and `cwb diff`, on real files: a tiny
// random-init base folder (F32, one file), the same base as BF16 shards, a full fine-tuning checkpoint and LoRA
// checkpoints (Co-rewarding-II, so with an EMA teacher of the adapters) written by a real 1-2 step training run,
// through the workbench host's real dispatch, worker thread, engine and onnxruntime (build first).
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { ADAPTER_WEIGHTS_FILE } from '../../main/engine/checkpoint/adapter'
import { readSafetensors, toFloat32, writeSafetensors } from '../../main/engine/checkpoint/safetensors'
import type { TensorData } from '../../main/engine/checkpoint/safetensors'
import { productNorm, tensorStats, weightDelta } from '../../main/engine/checkpoint/stats'
import type { RunConfigInput } from '../../main/engine/run-config'
import { Trainer } from '../../main/engine/trainer/trainer'
import type { TrainerJob } from '../../main/engine/trainer/trainer'
import { cwb, lastJson } from '../helpers/cli'
import { writeTinyHfFolder } from '../helpers/hf-folder'
import { hostOnWorkspace } from '../helpers/host'
import type { HostOnWorkspace } from '../helpers/host'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { TINY_HF_LORA, tinyHfJob } from '../helpers/trainer-job'
import type { Cleanup } from '../helpers/workspace'

let made = 0
/** A fresh folder inside the workspace (the host serves only folders there). */
const folder = (): string => {
  const dir = join(ws.dir, 'folders', String(++made))
  mkdirSync(dir, { recursive: true })
  return dir
}
const LORA = TINY_HF_LORA

/** A 2-step entropy job of the tiny Hugging Face settings (a checkpoint every step); `overrides` changes any field. */
const job = (dir: string, start: string, overrides: Partial<RunConfigInput>): TrainerJob =>
  tinyHfJob(dir, start, { checkpoint_every: 1, ...overrides })

async function train(j: TrainerJob): Promise<void> {
  const trainer = await Trainer.create(j, () => {})
  try {
    expect((await trainer.run(() => false)).status).toBe('finished')
  } finally {
    trainer.dispose()
  }
}

const arrays = (file: string): Record<string, TensorData> => readSafetensors(file).tensors

/** float32 -> bfloat16 bits, rounded to nearest even. */
function bf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length)
  return Uint16Array.from(bits, (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16)
}

/** The base as BF16 in two shards with model.safetensors.index.json, as big checkpoints ship. */
function writeShardedBf16(from: string, to: string): Record<string, TensorData> {
  writeTinyHfFolder(to, 'qwen3')
  const tensors = arrays(join(from, 'model.safetensors'))
  const names = Object.keys(tensors)
  const shards: Record<string, TensorData>[] = [{}, {}]
  const weightMap: Record<string, string> = {}
  const converted: Record<string, TensorData> = {}
  names.forEach((name, i) => {
    const t = tensors[name]!
    converted[name] = { dtype: 'BF16', shape: t.shape, data: bf16(toFloat32(t)) }
    shards[i % 2]![name] = converted[name]!
    weightMap[name] = `model-0000${(i % 2) + 1}-of-00002.safetensors`
  })
  rmSync(join(to, 'model.safetensors')) // a sharded folder has no single file
  shards.forEach((shard, i) => writeSafetensors(join(to, `model-0000${i + 1}-of-00002.safetensors`), shard))
  writeFileSync(join(to, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }))
  return converted
}

const cleanups: Cleanup[] = []
let ws: HostOnWorkspace
let jobs = 0
const job_ = (): string => `job-${++jobs}`
let base: string
let sharded: string
let shardedTensors: Record<string, TensorData>
let full: string
let lora1: string
let lora2: string

beforeAll(async () => {
  await useBackend('wasm')
  ws = hostOnWorkspace(cleanups, { demo: true })
  base = join(folder(), 'qwen3-base')
  writeTinyHfFolder(base, 'qwen3')
  sharded = join(folder(), 'qwen3-bf16-sharded')
  mkdirSync(sharded, { recursive: true })
  shardedTensors = writeShardedBf16(base, sharded)
  const fullRun = folder()
  await train(job(fullRun, base, { mode: 'majority_voting', steps: 2, checkpoint_every: 2 }))
  full = join(fullRun, 'checkpoints/step-2')
  const loraRun = folder()
  await train(job(loraRun, base, { mode: 'co_rewarding_ii', lora: LORA }))
  lora1 = join(loraRun, 'checkpoints/step-1')
  lora2 = join(loraRun, 'checkpoints/step-2')
}, 240_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

describe('a Hugging Face folder in the Checkpoints view', { timeout: 60_000 }, () => {
  it('opens with its config, files and parameter count', async () => {
    const detail = await ws.call('checkpoints.openFolder', { path: base })
    const tensors = arrays(join(base, 'model.safetensors'))
    expect(detail).toMatchObject({ modelType: 'qwen3', path: base, hasTeacher: false, run: null })
    expect(detail.adapter).toBeUndefined()
    expect(detail.parameters).toBe(Object.values(tensors).reduce((n, t) => n + t.data.length, 0))
    expect(detail.config).toMatchObject({ model_type: 'qwen3', hidden_size: 32 })
    expect(detail.files.map((f) => f.name)).toContain('model.safetensors')
    const shardedDetail = await ws.call('checkpoints.openFolder', { path: sharded })
    expect(shardedDetail).toMatchObject({ modelType: 'qwen3', parameters: detail.parameters })
    expect(shardedDetail.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['model.safetensors.index.json', 'model-00001-of-00002.safetensors']),
    )
  })

  it('has weight statistics per tensor and per layer, from one F32 file and from BF16 shards', async () => {
    const stats = await ws.call('checkpoints.stats', { checkpoint: base, weights: 'model' })
    const tensors = arrays(join(base, 'model.safetensors'))
    expect(stats.file).toBe('model.safetensors')
    expect(stats.adapter).toBeUndefined()
    expect(stats.tensors.map((t) => t.name).sort()).toEqual(Object.keys(tensors).sort())
    for (const t of stats.tensors) {
      const expected = tensorStats(t.name, tensors[t.name]!)
      expect(t.norm, t.name).toBeCloseTo(expected.norm, 4)
      expect(t.std, t.name).toBeCloseTo(expected.std, 5)
      expect(t.histogram.counts).toEqual(expected.histogram.counts)
    }
    expect(stats.layers.map((l) => l.layer)).toEqual(['embeddings', 'layers.0', 'final_norm'])

    const fromShards = await ws.call('checkpoints.stats', { checkpoint: sharded, weights: 'model' })
    expect(fromShards.file).toBe('model.safetensors.index.json')
    expect(fromShards.tensors.map((t) => t.name).sort()).toEqual(Object.keys(tensors).sort())
    for (const t of fromShards.tensors) {
      expect(t.dtype).toBe('BF16')
      expect(t.norm, t.name).toBeCloseTo(tensorStats(t.name, shardedTensors[t.name]!).norm, 4)
    }
    // BF16 keeps 8 bits of mantissa: the shards differ from the F32 file by at most 2^-9 relative.
    const delta = await ws.call('checkpoints.delta', { checkpoint: sharded, against: base })
    expect(delta.tensors).toHaveLength(Object.keys(tensors).length)
    expect(delta.onlyInA).toEqual([])
    expect(delta.total.relative!).toBeGreaterThan(0)
    expect(delta.total.relative!).toBeLessThan(2 ** -8)
  })

  it('a full fine-tuning checkpoint compares with its base tensor by tensor', async () => {
    const detail = await ws.call('checkpoints.openFolder', { path: full })
    expect(detail).toMatchObject({ modelType: 'qwen3' })
    expect(detail.adapter).toBeUndefined()
    const delta = await ws.call('checkpoints.delta', { checkpoint: full, against: base })
    expect(delta.tensors.length).toBe(Object.keys(arrays(join(base, 'model.safetensors'))).length)
    expect(delta.mismatched).toEqual([])
    const expected = weightDelta(arrays(join(full, 'model.safetensors')), arrays(join(base, 'model.safetensors')))
    expect(delta.total.diffNorm).toBeGreaterThan(0)
    expect(delta.total.diffNorm).toBeCloseTo(expected.total.diffNorm, 6)
  })
})

describe('a LoRA checkpoint in the Checkpoints view', { timeout: 60_000 }, () => {
  it("opens with its adapter's settings, base folder and parameters (the base's config and parameters besides)", async () => {
    const detail = await ws.call('checkpoints.openFolder', { path: lora2 })
    const baseDetail = await ws.call('checkpoints.openFolder', { path: base })
    expect(detail).toMatchObject({
      modelType: 'qwen3',
      parameters: baseDetail.parameters,
      hasTeacher: true,
      adapter: { rank: 2, alpha: 4, dropout: 0, targetModules: ['q_proj', 'v_proj', 'down_proj'], base, parameters: 384 },
    })
    expect(detail.config).toEqual(baseDetail.config)
    expect(detail.files.map((f) => f.name)).toEqual(expect.arrayContaining(['adapter_config.json', ADAPTER_WEIGHTS_FILE]))
  })

  it('has adapter statistics: norms of A, B and scale·B·A per module, relative to the base weight, by layer', async () => {
    const stats = await ws.call('checkpoints.stats', { checkpoint: lora2, weights: 'model' })
    const adapter = arrays(join(lora2, ADAPTER_WEIGHTS_FILE))
    const baseTensors = arrays(join(base, 'model.safetensors'))
    expect(stats.file).toBe(ADAPTER_WEIGHTS_FILE)
    expect(stats.tensors.map((t) => t.name).sort()).toEqual(Object.keys(adapter).sort())
    const a = stats.adapter!
    expect(a).toMatchObject({ rank: 2, alpha: 4, scale: 2, base })
    expect(a.modules.map((m) => m.module)).toEqual(
      expect.arrayContaining([
        'model.layers.0.self_attn.q_proj',
        'model.layers.0.self_attn.v_proj',
        'model.layers.0.mlp.down_proj',
      ]),
    )
    const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0))
    for (const m of a.modules) {
      const A = toFloat32(adapter[`base_model.model.${m.module}.lora_A.weight`]!)
      const B = toFloat32(adapter[`base_model.model.${m.module}.lora_B.weight`]!)
      const W = toFloat32(baseTensors[`${m.module}.weight`]!)
      const [out, inFeatures] = baseTensors[`${m.module}.weight`]!.shape as [number, number]
      // scale · B · A formed in full, the slow way.
      const update = new Float64Array(out * inFeatures)
      for (let i = 0; i < out; i++)
        for (let j = 0; j < inFeatures; j++)
          for (let r = 0; r < 2; r++) update[i * inFeatures + j]! += 2 * B[i * 2 + r]! * A[r * inFeatures + j]!
      expect(m.shape).toEqual([out, inFeatures])
      expect(m.normA).toBeCloseTo(norm(A), 5)
      expect(m.normB).toBeCloseTo(norm(B), 5)
      expect(m.normUpdate).toBeGreaterThan(0)
      expect(m.normUpdate / norm(update)).toBeCloseTo(1, 6)
      expect(m.baseNorm).toBeCloseTo(norm(W), 4)
      expect(m.relative!).toBeCloseTo(norm(update) / norm(W), 6)
    }
    expect(a.layers.map((l) => l.layer)).toEqual(['layers.0'])
    expect(a.layers[0]!.modules).toBe(3)
    expect(a.total.normUpdate).toBeCloseTo(Math.sqrt(a.modules.reduce((s, m) => s + m.normUpdate ** 2, 0)), 8)
    // The EMA teacher's adapters have their own statistics over the same base.
    const teacher = await ws.call('checkpoints.stats', { checkpoint: lora2, weights: 'teacher' })
    expect(teacher.file).toBe('teacher.safetensors')
    expect(teacher.adapter!.modules).toHaveLength(3)
    expect(teacher.adapter!.total.normUpdate).not.toBe(a.total.normUpdate)
  })

  it('productNorm is ‖B·A‖ without forming B·A', () => {
    const A = Float32Array.from([1, 2, 3, -1, 0, 2]) // [2, 3]
    const B = Float32Array.from([1, 0, 0.5, -2]) // [2, 2]
    // B·A = [[1, 2, 3], [0.5 + 2, 1, 1.5 - 4]] = [[1, 2, 3], [2.5, 1, -2.5]]
    expect(productNorm(A, B, 2)).toBeCloseTo(Math.sqrt(1 + 4 + 9 + 6.25 + 1 + 6.25), 10)
  })

  it('compares with another LoRA checkpoint of the same base by adapter tensors, with its teacher, and with its base merged', async () => {
    const step = await ws.call('checkpoints.delta', { checkpoint: lora2, against: lora1 })
    expect(step.tensors.map((t) => t.name).sort()).toEqual(Object.keys(arrays(join(lora2, ADAPTER_WEIGHTS_FILE))).sort())
    const expected = weightDelta(arrays(join(lora2, ADAPTER_WEIGHTS_FILE)), arrays(join(lora1, ADAPTER_WEIGHTS_FILE)))
    expect(step.total.diffNorm).toBeCloseTo(expected.total.diffNorm, 6)
    const teacher = await ws.call('checkpoints.delta', { checkpoint: lora2, against: 'teacher' })
    expect(teacher.tensors).toHaveLength(6)
    expect(teacher.against.kind).toBe('teacher')

    // Against the base: every base tensor, the adapted ones moved by exactly their update scale·B·A.
    const merged = await ws.call('checkpoints.delta', { checkpoint: lora2, against: base })
    const stats = await ws.call('checkpoints.stats', { checkpoint: lora2, weights: 'model' })
    const baseNames = Object.keys(arrays(join(base, 'model.safetensors')))
    expect(merged.tensors.map((t) => t.name).sort()).toEqual([...baseNames].sort())
    for (const t of merged.tensors) {
      const module = stats.adapter!.modules.find((m) => `${m.module}.weight` === t.name)
      if (module) {
        expect(t.diffNorm / module.normUpdate, t.name).toBeCloseTo(1, 4)
        expect(t.relative! / module.relative!, t.name).toBeCloseTo(1, 4)
      } else expect(t.diffNorm, t.name).toBe(0)
    }
    // And against a full fine-tuning checkpoint of the same base: merged weights against its weights.
    const againstFull = await ws.call('checkpoints.delta', { checkpoint: lora2, against: full })
    expect(againstFull.tensors).toHaveLength(baseNames.length)
  })

  it('names a cached hub model by its id (ORG/NAME) in statistics and deltas', async () => {
    const cache = join(ws.dir, 'hub-cache')
    cpSync(base, join(cache, 'models--tiny--qwen3/snapshots/0123abc'), { recursive: true })
    const before = process.env.HF_HUB_CACHE
    process.env.HF_HUB_CACHE = cache
    try {
      const stats = await ws.call('checkpoints.stats', { checkpoint: 'tiny/qwen3', weights: 'model' })
      expect(stats.path).toBe(join(cache, 'models--tiny--qwen3/snapshots/0123abc'))
      expect(stats.layers.map((l) => l.layer)).toEqual(['embeddings', 'layers.0', 'final_norm'])
      const delta = await ws.call('checkpoints.delta', { checkpoint: full, against: 'tiny/qwen3' })
      expect(delta.against.path).toBe(stats.path)
      expect(delta.total.diffNorm).toBeGreaterThan(0)
    } finally {
      if (before === undefined) delete process.env.HF_HUB_CACHE
      else process.env.HF_HUB_CACHE = before
    }
  })

  it('refuses to compare weights across architectures, naming both', async () => {
    const llama = join(folder(), 'llama')
    writeTinyHfFolder(llama, 'llama')
    const gpt = join(folder(), 'gpt')
    writeTinyCheckpoint(gpt)
    const acrossFamilies = await ws.refuse('checkpoints.delta', { checkpoint: lora2, against: llama })
    expect(acrossFamilies.message).toMatch(
      /is a qwen3 model and .*llama.* a llama model: weight deltas compare checkpoints of one architecture/,
    )
    const againstGpt = await ws.refuse('checkpoints.delta', { checkpoint: full, against: gpt })
    expect(againstGpt.message).toMatch(/qwen3 model and .* a cwb-gpt model/)
  })
})

describe('probing Hugging Face checkpoints: behaviour diff, evaluate, `cwb diff`', { timeout: 120_000 }, () => {
  const probe = { dataset: 'demo-arithmetic', probe: 2, samples: 1, maxNewTokens: 4, temperature: 1, seed: 3 }

  it('diffs a LoRA checkpoint against its base and its EMA teacher, on tfjs and onnx alike', async () => {
    const tfjs = await ws.call('checkpoints.diff', { job: job_(), a: lora2, b: base, ...probe, engine: 'tfjs' })
    expect(tfjs.rows).toHaveLength(2)
    expect(tfjs.summary.questions).toBe(2)
    expect(tfjs.a).toMatchObject({ path: lora2 })
    expect(tfjs.rows.every((r) => r.a.greedy.tokens > 0 && r.b.greedy.tokens > 0)).toBe(true)
    const onnx = await ws.call('checkpoints.diff', { job: job_(), a: lora2, b: base, ...probe, engine: 'onnx' })
    // The KV-cached graph with the adapter merged gives the same greedy continuations as tfjs.
    expect(onnx.rows.map((r) => [r.a.greedy.text, r.b.greedy.text])).toEqual(
      tfjs.rows.map((r) => [r.a.greedy.text, r.b.greedy.text]),
    )
    const teacher = await ws.call('checkpoints.diff', { job: job_(), a: lora2, teacher: true, ...probe, engine: 'tfjs' })
    expect(teacher.b.label).toMatch(/^EMA teacher of /)
    expect(teacher.rows).toHaveLength(2)
  })

  it('evaluates a LoRA and a full fine-tuning checkpoint', async () => {
    for (const checkpoint of [lora2, full]) {
      const result = await ws.call('checkpoints.evaluate', {
        job: job_(),
        checkpoint,
        dataset: 'demo-arithmetic',
        limit: 2,
        samples: 0,
        maxNewTokens: 4,
        temperature: 1,
        seed: 0,
      })
      expect(result).toMatchObject({ path: checkpoint, questions: 2, samples: 0 })
      expect(result.pass1).toBeGreaterThanOrEqual(0)
    }
  })

  it("previews a paraphrase pair's agreement with a LoRA checkpoint (its own template and system message)", async () => {
    const { agreementPreview } = await import('../../main/data/paraphrase/agreement')
    const results = await agreementPreview(
      [{ record: 1, question: 'What is 2 + 3?', paraphrases: [{ id: 7, text: 'Add 3 to 2.' }] }],
      { folder: lora2, samples: 2, maxNewTokens: 4 },
    )
    expect(results).toHaveLength(1)
    expect(results[0]).toMatchObject({ record: 1, paraphrase: 7 })
  })

  it('`cwb diff --weights` compares full checkpoints, LoRA adapters of one base, a LoRA checkpoint with its base merged, and refuses other architectures', () => {
    const run = (...args: string[]): ReturnType<typeof cwb> => cwb(['diff', ...args, '--weights', '--workspace', ws.dir])
    type Delta = { tensors: { name: string; diffNorm: number }[]; total: { diffNorm: number }; against: { path: string } }
    const fullDelta = run(full, base, '--json')
    expect(fullDelta.code, fullDelta.stderr).toBe(0)
    const expected = weightDelta(arrays(join(full, 'model.safetensors')), arrays(join(base, 'model.safetensors')))
    expect(lastJson<Delta>(fullDelta.stdout).total.diffNorm).toBeCloseTo(expected.total.diffNorm, 6)

    const adapters = run(lora2, lora1, '--json')
    expect(adapters.code, adapters.stderr).toBe(0)
    expect(lastJson<Delta>(adapters.stdout).tensors.every((t) => t.name.includes('.lora_'))).toBe(true)

    const merged = run(lora2, base)
    expect(merged.code, merged.stderr).toBe(0)
    expect(merged.stdout).toMatch(/^A: .*step-2\nB: .*qwen3-base\nCompared: \d+ tensor\(s\), [\d,]+ weights\n/)
    expect(merged.stdout).toMatch(/\nlayers\.0 +\d+ /)
    expect(merged.stdout).toMatch(/\nembeddings +1 +0 +0 +0\n/)

    const teacher = run(lora2, '--teacher', '--json')
    expect(teacher.code, teacher.stderr).toBe(0)
    expect(lastJson<Delta>(teacher.stdout).tensors).toHaveLength(6)

    const llama = join(folder(), 'llama')
    writeTinyHfFolder(llama, 'llama')
    const refused = run(lora2, llama)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/is a qwen3 model and .* a llama model: weight deltas compare checkpoints of one architecture/)
  })

  it('`cwb diff` compares two Hugging Face checkpoints (full and LoRA) on held-out questions', () => {
    const result = cwb([
      'diff',
      full,
      lora2,
      '--dataset',
      'demo-arithmetic',
      '--probe',
      '2',
      '--samples',
      '0',
      '--max-new-tokens',
      '4',
      '--workspace',
      ws.dir,
      '--json',
    ])
    expect(result.code, result.stderr).toBe(0)
    const diff = lastJson<{ a: { path: string }; b: { path: string }; rows: unknown[]; summary: { questions: number } }>(
      result.stdout,
    )
    expect(diff.a.path).toBe(full)
    expect(diff.b.path).toBe(lora2)
    expect(diff.summary.questions).toBe(2)
    const plain = cwb([
      'diff',
      lora1,
      lora2,
      '--dataset',
      'demo-arithmetic',
      '--probe',
      '1',
      '--samples',
      '0',
      '--max-new-tokens',
      '3',
      '--workspace',
      ws.dir,
    ])
    expect(plain.code, plain.stderr).toBe(0)
    expect(plain.stdout).toMatch(/^A: .*step-1\nB: .*step-2\n/)
  })
})
