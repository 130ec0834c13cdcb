// What is in a checkpoint's weights and how far they moved: per tensor norm, mean, std, min, max and a histogram,
// and the change between two weight files (||a-b||, ||a-b||/||b||, max |a-b|, cosine), each also summed up per
// layer for a per-layer chart. Files are read tensor by tensor, and large tensors in chunks, so a model far bigger
// than memory can be inspected and two of them are never held whole.
import { closeSync, openSync, readSync } from 'node:fs'
import { readSafetensorsHeader, toFloat32, viewTensor } from './safetensors'
import type { Dtype, TensorData, TensorInfo } from './safetensors'

export const HISTOGRAM_BINS = 32
/** Elements read at a time from one tensor: 4M floats, 16 MB. */
const CHUNK_ELEMENTS = 1 << 22

export interface Histogram {
  /** The range the bins split evenly (the finite min and max); `counts[i]` covers [min + i*w, min + (i+1)*w). */
  min: number
  max: number
  counts: number[]
}

/** What a tensor's and a layer's statistics both say of their values. */
export interface ValueSummary {
  /** Finite values (NaN and infinities are counted in `nonFinite` and left out of every statistic). */
  count: number
  nonFinite: number
  norm: number
  mean: number
  std: number
  min: number
  max: number
}

export interface TensorStats extends ValueSummary {
  name: string
  layer: string
  dtype: Dtype
  shape: number[]
  histogram: Histogram
}

export interface LayerStats extends ValueSummary {
  layer: string
  tensors: number
}

export interface WeightStats {
  tensors: TensorStats[]
  layers: LayerStats[]
  /** Every tensor together. */
  total: LayerStats
}

export interface TensorDelta {
  name: string
  layer: string
  count: number
  /** ||a - b|| */
  diffNorm: number
  /** ||a - b|| / ||b||; null when b is all zeros. */
  relative: number | null
  /** max |a - b| */
  maxAbs: number
  /** a.b / (||a|| ||b||); null when either is all zeros. */
  cosine: number | null
  /** Positions where a or b is not finite (left out of the sums). */
  nonFinite: number
}

export type LayerDelta = Omit<TensorDelta, 'name' | 'layer'> & { layer: string; tensors: number }

export interface WeightDelta {
  tensors: TensorDelta[]
  layers: LayerDelta[]
  total: LayerDelta
  /** Tensors only one of the two files has. */
  onlyInA: string[]
  onlyInB: string[]
  /** Tensors both have with different shapes, as "name: [a] vs [b]"; they are not compared. */
  mismatched: string[]
}

const LAYER_INDEX = /(?:^|\.)(?:layers|layer|h|blocks)\.(\d+)\./
const EMBEDDING = /(?:^|\.)(?:embed_tokens|embed_positions|wte|wpe|word_embeddings|position_embeddings|embeddings?)(?:\.|$)/
const FINAL_NORM = /(?:^|\.)(?:ln_f|norm|final_layer_norm|final_layernorm)\.[^.]+$/
const HEAD = /(?:^|\.)lm_head\./

/**
 * The layer a tensor belongs to, for per-layer charts: `layers.N` for a transformer block (also the Hugging Face
 * spellings `model.layers.N`, `h.N`, `blocks.N`), `embeddings`, `final_norm`, `lm_head`, else `other`.
 */
export function layerOf(name: string): string {
  const block = LAYER_INDEX.exec(name)
  if (block) return `layers.${block[1]}`
  if (EMBEDDING.test(name)) return 'embeddings'
  if (HEAD.test(name)) return 'lm_head'
  if (FINAL_NORM.test(name)) return 'final_norm'
  return 'other'
}

/** Chart order: embeddings, the blocks by index, the final norm, the head, the rest. */
function layerRank(layer: string): [number, number] {
  if (layer === 'embeddings') return [0, 0]
  if (layer.startsWith('layers.')) return [1, Number(layer.slice('layers.'.length))]
  if (layer === 'final_norm') return [2, 0]
  if (layer === 'lm_head') return [3, 0]
  return [4, 0]
}

export function compareLayers(a: string, b: string): number {
  const [ga, ia] = layerRank(a)
  const [gb, ib] = layerRank(b)
  return ga - gb || ia - ib || (a < b ? -1 : a > b ? 1 : 0)
}

/** Running sums for mean, norm, min and max, and (second pass) the squared deviations and the histogram. */
interface Moments {
  count: number
  nonFinite: number
  sum: number
  sumSq: number
  min: number
  max: number
  /** Sum of (x - mean)^2, from the second pass (exact, no cancellation). */
  m2: number
}

const emptyMoments = (): Moments => ({ count: 0, nonFinite: 0, sum: 0, sumSq: 0, min: Infinity, max: -Infinity, m2: 0 })

function addValues(moments: Moments, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (!Number.isFinite(v)) {
      moments.nonFinite += 1
      continue
    }
    moments.count += 1
    moments.sum += v
    moments.sumSq += v * v
    if (v < moments.min) moments.min = v
    if (v > moments.max) moments.max = v
  }
}

function binOf(value: number, min: number, width: number, bins: number): number {
  if (width === 0) return 0
  return Math.min(bins - 1, Math.floor((value - min) / width))
}

function addDeviations(moments: Moments, counts: number[], values: Float32Array): void {
  const mean = moments.count === 0 ? 0 : moments.sum / moments.count
  const width = (moments.max - moments.min) / counts.length
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (!Number.isFinite(v)) continue
    moments.m2 += (v - mean) * (v - mean)
    counts[binOf(v, moments.min, width, counts.length)]! += 1
  }
}

/** Statistics of one tensor's values held in memory (the file reader feeds the same sums chunk by chunk). */
export function tensorStats(name: string, tensor: TensorData, bins = HISTOGRAM_BINS): TensorStats {
  const values = toFloat32(tensor)
  const moments = emptyMoments()
  addValues(moments, values)
  const counts = new Array<number>(bins).fill(0)
  addDeviations(moments, counts, values)
  return finishStats(name, tensor.dtype, tensor.shape, moments, counts)
}

function finishStats(name: string, dtype: Dtype, shape: number[], m: Moments, counts: number[]): TensorStats {
  const empty = m.count === 0
  return {
    name,
    layer: layerOf(name),
    dtype,
    shape,
    count: m.count,
    nonFinite: m.nonFinite,
    norm: Math.sqrt(m.sumSq),
    mean: empty ? 0 : m.sum / m.count,
    std: empty ? 0 : Math.sqrt(m.m2 / m.count),
    min: empty ? 0 : m.min,
    max: empty ? 0 : m.max,
    histogram: { min: empty ? 0 : m.min, max: empty ? 0 : m.max, counts },
  }
}

/** Combines tensors' statistics exactly: counts and sums add, squared deviations add with the shift of each mean. */
export function combineStats(layer: string, parts: readonly TensorStats[]): LayerStats {
  const count = parts.reduce((n, p) => n + p.count, 0)
  const mean = count === 0 ? 0 : parts.reduce((s, p) => s + p.mean * p.count, 0) / count
  const m2 = parts.reduce((s, p) => s + p.std * p.std * p.count + p.count * (p.mean - mean) ** 2, 0)
  const finite = parts.filter((p) => p.count > 0)
  return {
    layer,
    tensors: parts.length,
    count,
    nonFinite: parts.reduce((n, p) => n + p.nonFinite, 0),
    norm: Math.sqrt(parts.reduce((s, p) => s + p.norm * p.norm, 0)),
    mean,
    std: count === 0 ? 0 : Math.sqrt(m2 / count),
    min: finite.length === 0 ? 0 : Math.min(...finite.map((p) => p.min)),
    max: finite.length === 0 ? 0 : Math.max(...finite.map((p) => p.max)),
  }
}

function groupByLayer<T extends { layer: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) groups.set(item.layer, [...(groups.get(item.layer) ?? []), item])
  return new Map([...groups].sort(([a], [b]) => compareLayers(a, b)))
}

export function summariseStats(tensors: TensorStats[]): WeightStats {
  const layers = [...groupByLayer(tensors)].map(([layer, parts]) => combineStats(layer, parts))
  return { tensors, layers, total: combineStats('all', tensors) }
}

/** Sums behind a delta: they add across tensors, so a layer's (or the model's) delta is exact. */
interface DeltaSums {
  count: number
  nonFinite: number
  diffSq: number
  aSq: number
  bSq: number
  dot: number
  maxAbs: number
}

const emptyDelta = (): DeltaSums => ({ count: 0, nonFinite: 0, diffSq: 0, aSq: 0, bSq: 0, dot: 0, maxAbs: 0 })

function addPairs(sums: DeltaSums, a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      sums.nonFinite += 1
      continue
    }
    const d = x - y
    sums.count += 1
    sums.diffSq += d * d
    sums.aSq += x * x
    sums.bSq += y * y
    sums.dot += x * y
    if (Math.abs(d) > sums.maxAbs) sums.maxAbs = Math.abs(d)
  }
}

function addSums(into: DeltaSums, from: DeltaSums): void {
  into.count += from.count
  into.nonFinite += from.nonFinite
  into.diffSq += from.diffSq
  into.aSq += from.aSq
  into.bSq += from.bSq
  into.dot += from.dot
  into.maxAbs = Math.max(into.maxAbs, from.maxAbs)
}

function finishDelta(sums: DeltaSums): Omit<TensorDelta, 'name' | 'layer'> {
  const diffNorm = Math.sqrt(sums.diffSq)
  const bNorm = Math.sqrt(sums.bSq)
  const aNorm = Math.sqrt(sums.aSq)
  return {
    count: sums.count,
    diffNorm,
    relative: bNorm === 0 ? null : diffNorm / bNorm,
    maxAbs: sums.maxAbs,
    // Rounding can carry a cosine of identical tensors a hair past 1.
    cosine: aNorm === 0 || bNorm === 0 ? null : Math.max(-1, Math.min(1, sums.dot / (aNorm * bNorm))),
    nonFinite: sums.nonFinite,
  }
}

/** The change from b to a of one tensor held in memory (same shape). */
export function tensorDelta(name: string, a: TensorData, b: TensorData): TensorDelta {
  const sums = emptyDelta()
  addPairs(sums, toFloat32(a), toFloat32(b))
  return { name, layer: layerOf(name), ...finishDelta(sums) }
}

interface NamedSums {
  name: string
  layer: string
  sums: DeltaSums
}

function summariseDelta(parts: NamedSums[], extra: Pick<WeightDelta, 'onlyInA' | 'onlyInB' | 'mismatched'>): WeightDelta {
  const combine = (layer: string, group: NamedSums[]): LayerDelta => {
    const sums = emptyDelta()
    for (const part of group) addSums(sums, part.sums)
    return { layer, tensors: group.length, ...finishDelta(sums) }
  }
  return {
    tensors: parts.map((p) => ({ name: p.name, layer: p.layer, ...finishDelta(p.sums) })),
    layers: [...groupByLayer(parts)].map(([layer, group]) => combine(layer, group)),
    total: combine('all', parts),
    ...extra,
  }
}

/** The change from weights b to weights a, both held in memory (tests, small models). */
export function weightDelta(a: Record<string, TensorData>, b: Record<string, TensorData>): WeightDelta {
  const { common, ...extra } = pairUp(
    Object.fromEntries(Object.entries(a).map(([name, t]) => [name, t.shape])),
    Object.fromEntries(Object.entries(b).map(([name, t]) => [name, t.shape])),
  )
  return summariseDelta(
    common.map((name) => {
      const sums = emptyDelta()
      addPairs(sums, toFloat32(a[name]!), toFloat32(b[name]!))
      return { name, layer: layerOf(name), sums }
    }),
    extra,
  )
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`

function pairUp(
  a: Record<string, number[]>,
  b: Record<string, number[]>,
): { common: string[] } & Pick<WeightDelta, 'onlyInA' | 'onlyInB' | 'mismatched'> {
  const common: string[] = []
  const mismatched: string[] = []
  for (const name of Object.keys(a)) {
    if (!(name in b)) continue
    if (shapeText(a[name]!) === shapeText(b[name]!)) common.push(name)
    else mismatched.push(`${name}: ${shapeText(a[name]!)} vs ${shapeText(b[name]!)}`)
  }
  return {
    common,
    onlyInA: Object.keys(a).filter((name) => !(name in b)),
    onlyInB: Object.keys(b).filter((name) => !(name in a)),
    mismatched,
  }
}

/** A safetensors file opened for reading tensor by tensor. */
class TensorFile {
  private readonly fd: number
  readonly tensors: Record<string, TensorInfo>
  private readonly dataStart: number

  constructor(readonly path: string) {
    const header = readSafetensorsHeader(path)
    this.tensors = header.tensors
    this.dataStart = header.dataStart
    this.fd = openSync(path, 'r')
  }

  /** Tensor names in file order, so reads move forward through the file. */
  names(): string[] {
    return Object.keys(this.tensors).sort((a, b) => this.tensors[a]!.dataOffsets[0] - this.tensors[b]!.dataOffsets[0])
  }

  /** Elements `start` to `start + length` of a tensor, as 32-bit floats. */
  read(name: string, start: number, length: number): Float32Array {
    const info = this.tensors[name]!
    const width = bytesPerElement(info)
    const bytes = Buffer.alloc(length * width)
    let done = 0
    const position = this.dataStart + info.dataOffsets[0] + start * width
    while (done < bytes.length) {
      const read = readSync(this.fd, bytes, done, bytes.length - done, position + done)
      if (read === 0) throw new Error(`${this.path}: the file ended inside tensor "${name}"; it was cut short, save it again.`)
      done += read
    }
    // A fresh Buffer.alloc starts at offset 0 of its own memory, so the typed view is aligned.
    return toFloat32(viewTensor(info.dtype, bytes, length))
  }

  /** Calls `visit` with consecutive chunks of the tensor's values. */
  forEachChunk(name: string, visit: (values: Float32Array, start: number) => void): void {
    const total = elements(this.tensors[name]!)
    for (let start = 0; start < total; start += CHUNK_ELEMENTS)
      visit(this.read(name, start, Math.min(CHUNK_ELEMENTS, total - start)), start)
  }

  close(): void {
    closeSync(this.fd)
  }
}

const elements = (info: TensorInfo): number => info.shape.reduce((n, size) => n * size, 1)
const bytesPerElement = (info: TensorInfo): number => {
  const count = elements(info)
  return count === 0 ? 1 : (info.dataOffsets[1] - info.dataOffsets[0]) / count
}

function withFile<T>(path: string, use: (file: TensorFile) => T): T {
  const file = new TensorFile(path)
  try {
    return use(file)
  } finally {
    file.close()
  }
}

/**
 * Statistics of every tensor of a safetensors file, read tensor by tensor. A tensor that fits one chunk is read
 * once; a larger one twice (sums, then deviations and histogram), so memory stays at one chunk.
 */
export function fileStats(path: string, bins = HISTOGRAM_BINS): WeightStats {
  return withFile(path, (file) => {
    const tensors = file.names().map((name) => {
      const info = file.tensors[name]!
      const moments = emptyMoments()
      const counts = new Array<number>(bins).fill(0)
      if (elements(info) <= CHUNK_ELEMENTS) {
        const values = file.read(name, 0, elements(info))
        addValues(moments, values)
        addDeviations(moments, counts, values)
      } else {
        file.forEachChunk(name, (values) => addValues(moments, values))
        file.forEachChunk(name, (values) => addDeviations(moments, counts, values))
      }
      return finishStats(name, info.dtype, info.shape, moments, counts)
    })
    return summariseStats(tensors)
  })
}

/** The change from the weights in file b to those in file a, reading one chunk of each at a time. */
export function fileDelta(pathA: string, pathB: string): WeightDelta {
  return withFile(pathA, (a) =>
    withFile(pathB, (b) => {
      const shapes = (file: TensorFile): Record<string, number[]> =>
        Object.fromEntries(file.names().map((name) => [name, file.tensors[name]!.shape]))
      const { common, ...extra } = pairUp(shapes(a), shapes(b))
      const parts = common.map((name) => {
        const sums = emptyDelta()
        a.forEachChunk(name, (values, start) => addPairs(sums, values, b.read(name, start, values.length)))
        return { name, layer: layerOf(name), sums }
      })
      return summariseDelta(parts, extra)
    }),
  )
}
