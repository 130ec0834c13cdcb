// Weight statistics and deltas on tensors small enough to work out by hand, and the file reader (tensor by
// tensor, large tensors in chunks) agreeing with the in-memory sums on real safetensors files.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeSafetensors, type TensorData } from '../../main/engine/checkpoint/safetensors'
import {
  combineStats,
  fileDelta,
  fileStats,
  layerOf,
  summariseStats,
  tensorDelta,
  tensorStats,
  weightDelta,
} from '../../main/engine/checkpoint/stats'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()
const f32 = (shape: number[], values: number[]): TensorData => ({ dtype: 'F32', shape, data: new Float32Array(values) })

describe('the statistics of one tensor', () => {
  it('are its norm, mean, population std, min, max and an even 32-bin histogram over [min, max]', () => {
    const stats = tensorStats('layers.0.mlp.up.weight', f32([2, 2], [1, 2, 3, 4]))
    expect(stats).toMatchObject({ layer: 'layers.0', dtype: 'F32', shape: [2, 2], count: 4, nonFinite: 0, min: 1, max: 4 })
    expect(stats.norm).toBeCloseTo(Math.sqrt(30), 12)
    expect(stats.mean).toBe(2.5)
    expect(stats.std).toBeCloseTo(Math.sqrt(1.25), 12)
    // Bin width 3/32: 1 -> bin 0, 2 -> 10.67 -> 10, 3 -> 21.3 -> 21, 4 (the maximum) -> the last bin.
    const filled = stats.histogram.counts.flatMap((n, bin) => (n > 0 ? [[bin, n]] : []))
    expect(filled).toEqual([
      [0, 1],
      [10, 1],
      [21, 1],
      [31, 1],
    ])
    expect(stats.histogram).toMatchObject({ min: 1, max: 4 })
    expect(stats.histogram.counts).toHaveLength(32)
  })

  it('leave NaN and infinities out of every statistic and count them', () => {
    const stats = tensorStats('x', f32([4], [1, NaN, Infinity, 3]))
    expect(stats).toMatchObject({ count: 2, nonFinite: 2, mean: 2, min: 1, max: 3, std: 1 })
    expect(stats.histogram.counts.reduce((a, b) => a + b)).toBe(2)
  })

  it('put a constant tensor in the first bin with std 0, and an empty one at zeros', () => {
    const constant = tensorStats('c', f32([3], [5, 5, 5]))
    expect(constant).toMatchObject({ mean: 5, std: 0, min: 5, max: 5 })
    expect(constant.histogram.counts[0]).toBe(3)
    expect(tensorStats('e', f32([0], []))).toMatchObject({ count: 0, norm: 0, mean: 0, std: 0, min: 0, max: 0 })
  })

  it('read half-precision weights as their float values', () => {
    // 0x3c00 is 1.0 in float16, 0xc000 is -2.0; 0x3f80 is 1.0 in bfloat16.
    expect(tensorStats('h', { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) })).toMatchObject({
      mean: -0.5,
      min: -2,
      max: 1,
    })
    expect(tensorStats('b', { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) }).max).toBe(1)
  })
})

describe('statistics per layer', () => {
  it('combine tensors exactly: [1, 2] and [3, 4, 5] are 1..5 with mean 3 and std sqrt(2)', () => {
    const layer = combineStats('layers.0', [tensorStats('a', f32([2], [1, 2])), tensorStats('b', f32([3], [3, 4, 5]))])
    expect(layer).toMatchObject({ layer: 'layers.0', tensors: 2, count: 5, mean: 3, min: 1, max: 5 })
    expect(layer.std).toBeCloseTo(Math.sqrt(2), 12)
    expect(layer.norm).toBeCloseTo(Math.sqrt(55), 12)
  })

  it('group tensors by block, embeddings and final norm, in model order', () => {
    expect(
      ['embed_tokens.weight', 'embed_positions.weight', 'layers.3.attn.qkv.weight', 'ln_f.bias', 'lm_head.weight'].map(layerOf),
    ).toEqual(['embeddings', 'embeddings', 'layers.3', 'final_norm', 'lm_head'])
    expect(
      ['model.layers.12.self_attn.q_proj.weight', 'transformer.h.2.mlp.c_fc.weight', 'model.norm.weight'].map(layerOf),
    ).toEqual(['layers.12', 'layers.2', 'final_norm'])
    const stats = summariseStats(
      ['ln_f.weight', 'layers.10.ln_1.weight', 'layers.2.ln_1.weight', 'embed_tokens.weight'].map((name) =>
        tensorStats(name, f32([1], [1])),
      ),
    )
    expect(stats.layers.map((l) => l.layer)).toEqual(['embeddings', 'layers.2', 'layers.10', 'final_norm'])
    expect(stats.total).toMatchObject({ layer: 'all', tensors: 4, count: 4 })
  })
})

describe('the delta between two tensors', () => {
  it('is ||a-b||, ||a-b||/||b||, max |a-b| and the cosine: a = [1, 2, 2] against b = [1, 0, 0]', () => {
    const delta = tensorDelta('w', f32([3], [1, 2, 2]), f32([3], [1, 0, 0]))
    expect(delta.diffNorm).toBeCloseTo(Math.sqrt(8), 12)
    expect(delta.relative).toBeCloseTo(Math.sqrt(8), 12)
    expect(delta.maxAbs).toBe(2)
    expect(delta.cosine).toBeCloseTo(1 / 3, 12)
  })

  it('is zero with cosine 1 for identical weights, and has no relative change or cosine against zeros', () => {
    expect(tensorDelta('w', f32([2], [3, 4]), f32([2], [3, 4]))).toMatchObject({ diffNorm: 0, relative: 0, maxAbs: 0, cosine: 1 })
    expect(tensorDelta('w', f32([2], [3, 4]), f32([2], [0, 0]))).toMatchObject({ diffNorm: 5, relative: null, cosine: null })
  })

  it('sums per layer exactly, and names tensors only one side has or whose shapes differ', () => {
    const a = {
      'layers.0.a': f32([2], [3, 0]),
      'layers.0.b': f32([1], [4]),
      'layers.1.a': f32([1], [1]),
      'extra.a': f32([1], [1]),
      'ln_f.weight': f32([2], [1, 1]),
    }
    const b = {
      'layers.0.a': f32([2], [0, 0]),
      'layers.0.b': f32([1], [0]),
      'layers.1.a': f32([1], [2]),
      'only.b': f32([1], [1]),
      'ln_f.weight': f32([3], [1, 1, 1]),
    }
    const delta = weightDelta(a, b)
    expect(delta.layers.map((l) => [l.layer, l.tensors, l.diffNorm, l.maxAbs])).toEqual([
      ['layers.0', 2, 5, 4],
      ['layers.1', 1, 1, 1],
    ])
    expect(delta.total).toMatchObject({ tensors: 3, count: 4, maxAbs: 4 })
    expect(delta.total.diffNorm).toBeCloseTo(Math.sqrt(26), 12)
    expect(delta.total.relative).toBeCloseTo(Math.sqrt(26) / 2, 12)
    expect(delta).toMatchObject({ onlyInA: ['extra.a'], onlyInB: ['only.b'], mismatched: ['ln_f.weight: [2] vs [3]'] })
  })
})

describe('statistics and deltas read from safetensors files', () => {
  it('match the in-memory sums, also for a tensor larger than one read chunk', () => {
    const dir = folder()
    const big = new Float32Array((1 << 22) + 5)
    for (let i = 0; i < big.length; i++) big[i] = Math.sin(i) * (1 + (i % 7))
    const moved = big.map((v, i) => (i % 1000 === 0 ? v + 0.5 : v))
    const a: Record<string, TensorData> = {
      'embed_tokens.weight': { dtype: 'F32', shape: [big.length], data: big },
      'layers.0.ln_1.weight': { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc040]) },
    }
    const b: Record<string, TensorData> = { ...a, 'embed_tokens.weight': { dtype: 'F32', shape: [big.length], data: moved } }
    writeSafetensors(join(dir, 'a.safetensors'), a)
    writeSafetensors(join(dir, 'b.safetensors'), b)

    const fromFile = fileStats(join(dir, 'a.safetensors'))
    const inMemory = summariseStats(Object.entries(a).map(([name, tensor]) => tensorStats(name, tensor)))
    for (const [i, stats] of fromFile.tensors.entries()) {
      const expected = inMemory.tensors.find((t) => t.name === stats.name)!
      expect(stats.histogram.counts, stats.name).toEqual(expected.histogram.counts)
      for (const key of ['count', 'min', 'max'] as const) expect(stats[key], `${i} ${key}`).toBe(expected[key])
      for (const key of ['norm', 'mean', 'std'] as const) expect(stats[key], `${i} ${key}`).toBeCloseTo(expected[key], 6)
    }
    expect(fromFile.layers.map((l) => l.layer)).toEqual(['embeddings', 'layers.0'])

    const delta = fileDelta(join(dir, 'b.safetensors'), join(dir, 'a.safetensors'))
    const changed = Math.ceil(big.length / 1000)
    const embeddings = delta.tensors.find((t) => t.name === 'embed_tokens.weight')!
    expect(embeddings.count).toBe(big.length)
    expect(embeddings.maxAbs).toBeCloseTo(0.5, 5)
    expect(delta.total.diffNorm).toBeCloseTo(0.5 * Math.sqrt(changed), 3)
    const unchanged = delta.layers.find((l) => l.layer === 'layers.0')!
    expect(unchanged.diffNorm).toBe(0)
    expect(unchanged.cosine).toBeCloseTo(1, 12)
  })
})
