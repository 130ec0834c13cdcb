// What is in a checkpoint's weights and how far they moved: per tensor norm, mean, std, min, max and a histogram,
// and the change between two weight files (||a-b||, ||a-b||/||b||, max |a-b|, cosine), each also summed up per
// layer for a per-layer chart. Files are read tensor by tensor, and large tensors in chunks, so a model far bigger
// than memory can be inspected and two of them are never held whole.
import { closeSync, existsSync, openSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { INDEX_FILE, readShardIndex, SINGLE_FILE } from './hf-weights'
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

/** Tensors read a slice at a time: one safetensors file, a model folder's files, or an adapter merged into its base. */
export interface TensorSet {
  /** Where the tensors come from, for errors. */
  readonly label: string
  /** Tensor names in reading order. */
  names(): string[]
  info(name: string): { dtype: Dtype; shape: number[] }
  /** Elements `start` to `start + length` of a tensor, as 32-bit floats. */
  read(name: string, start: number, length: number): Float32Array
  close(): void
}

/** A safetensors file opened for reading tensor by tensor. */
class TensorFile implements TensorSet {
  private readonly fd: number
  readonly tensors: Record<string, TensorInfo>
  private readonly dataStart: number

  constructor(readonly path: string) {
    const header = readSafetensorsHeader(path)
    this.tensors = header.tensors
    this.dataStart = header.dataStart
    this.fd = openSync(path, 'r')
  }

  get label(): string {
    return this.path
  }

  /** Tensor names in file order, so reads move forward through the file. */
  names(): string[] {
    return Object.keys(this.tensors).sort((a, b) => this.tensors[a]!.dataOffsets[0] - this.tensors[b]!.dataOffsets[0])
  }

  info(name: string): { dtype: Dtype; shape: number[] } {
    const info = this.tensors[name]
    if (!info) throw new Error(`${this.path} has no tensor "${name}"`)
    return info
  }

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

  close(): void {
    closeSync(this.fd)
  }
}

/** The weights of a model folder: one model.safetensors, or the shards its model.safetensors.index.json lists. */
class FolderTensors implements TensorSet {
  private readonly files = new Map<string, TensorFile>()
  private readonly owner = new Map<string, TensorFile>()

  constructor(readonly label: string) {
    const index = join(label, INDEX_FILE)
    const paths = existsSync(index) ? readShardIndex(label) : undefined
    if (!paths && !existsSync(join(label, SINGLE_FILE)))
      throw new Error(`${label} has neither ${SINGLE_FILE} nor ${INDEX_FILE}: no weights to read`)
    try {
      for (const path of paths ? [...new Set(paths.values())].sort() : [join(label, SINGLE_FILE)]) {
        if (!existsSync(path)) throw new Error(`${path} is missing (named by ${index})`)
        this.files.set(path, new TensorFile(path))
      }
      for (const file of this.files.values()) {
        for (const name of file.names()) {
          if (paths && paths.get(name) !== file.path) continue
          this.owner.set(name, file)
        }
      }
      for (const [name, path] of paths ?? []) {
        if (!this.owner.has(name)) throw new Error(`${path} has no tensor "${name}", though ${INDEX_FILE} places it there`)
      }
    } catch (error) {
      this.close()
      throw error
    }
  }

  names(): string[] {
    return [...this.owner.keys()]
  }

  info(name: string): { dtype: Dtype; shape: number[] } {
    const file = this.owner.get(name)
    if (!file) throw new Error(`${this.label} has no tensor "${name}"`)
    return file.info(name)
  }

  read(name: string, start: number, length: number): Float32Array {
    return this.owner.get(name)!.read(name, start, length)
  }

  close(): void {
    for (const file of this.files.values()) file.close()
  }
}

/** An adapted module of a PEFT adapter file: its base weight's name and its A [r, in] and B [out, r]. */
interface AdapterPair {
  module: string
  weight: string
  a: { shape: number[]; data: Float32Array }
  b: { shape: number[]; data: Float32Array }
}

const LORA_SUFFIX = /\.lora_([AB])(?:\.default)?\.weight$/

/** The pairs of A and B in a PEFT adapter file (`base_model.model.<module>.lora_A.weight`), read whole (they are small). */
function adapterPairs(path: string): AdapterPair[] {
  return withFile(path, (file) => {
    const parts = new Map<string, Partial<Pick<AdapterPair, 'a' | 'b'>>>()
    for (const name of file.names()) {
      const match = LORA_SUFFIX.exec(name)
      if (!match) continue
      const module = name.slice(0, match.index).replace(/^base_model\.model\./, '')
      const info = file.info(name)
      const entry = parts.get(module) ?? {}
      entry[match[1] === 'A' ? 'a' : 'b'] = { shape: info.shape, data: file.read(name, 0, elements(info as TensorInfo)) }
      parts.set(module, entry)
    }
    const pairs: AdapterPair[] = []
    for (const [module, { a, b }] of parts) {
      if (!a || !b) throw new Error(`${path}: ${module} has lora_${a ? 'A' : 'B'} but no lora_${a ? 'B' : 'A'}`)
      if (a.shape.length !== 2 || b.shape.length !== 2 || a.shape[0] !== b.shape[1])
        throw new Error(`${path}: ${module}'s lora_A ${shapeText(a.shape)} and lora_B ${shapeText(b.shape)} do not multiply`)
      pairs.push({ module, weight: `${module}.weight`, a, b })
    }
    return pairs
  })
}

/** `scale * (B A)` at flat positions start .. start + out.length of the [out, in] product, added into `out`. */
function addUpdate(pair: AdapterPair, scale: number, start: number, out: Float32Array): void {
  const [rank, inFeatures] = pair.a.shape as [number, number]
  const A = pair.a.data
  const B = pair.b.data
  for (let k = 0; k < out.length;) {
    const flat = start + k
    const row = Math.floor(flat / inFeatures)
    const from = flat - row * inFeatures
    const to = Math.min(inFeatures, from + out.length - k)
    for (let r = 0; r < rank; r++) {
      const coefficient = scale * B[row * rank + r]!
      if (coefficient === 0) continue
      const offset = r * inFeatures
      for (let j = from; j < to; j++) out[k + j - from]! += coefficient * A[offset + j]!
    }
    k += to - from
  }
}

/** A base model's weights with a LoRA adapter merged in (W + scale B A), computed a slice at a time. */
class MergedAdapter implements TensorSet {
  private readonly pairs: Map<string, AdapterPair>

  constructor(
    private readonly base: TensorSet,
    adapterFile: string,
    private readonly scale: number,
  ) {
    this.pairs = new Map(adapterPairs(adapterFile).map((pair) => [pair.weight, pair]))
    for (const pair of this.pairs.values()) {
      const shape = base.names().includes(pair.weight) ? base.info(pair.weight).shape : undefined
      if (!shape || shape[0] !== pair.b.shape[0] || shape[1] !== pair.a.shape[1]) {
        base.close()
        throw new Error(
          `${adapterFile} adapts ${pair.weight} as [${pair.b.shape[0]}, ${pair.a.shape[1]}], but the base ${base.label} ${shape ? `has it as ${shapeText(shape)}` : 'has no such weight'}: the adapter belongs to another model`,
        )
      }
    }
  }

  get label(): string {
    return this.base.label
  }

  names(): string[] {
    return this.base.names()
  }

  info(name: string): { dtype: Dtype; shape: number[] } {
    return { ...this.base.info(name), dtype: this.pairs.has(name) ? 'F32' : this.base.info(name).dtype }
  }

  read(name: string, start: number, length: number): Float32Array {
    const values = this.base.read(name, start, length)
    const pair = this.pairs.get(name)
    if (pair) addUpdate(pair, this.scale, start, values)
    return values
  }

  close(): void {
    this.base.close()
  }
}

/** Where a checkpoint's weights are: one safetensors file, a model folder (one file or shards), or a LoRA adapter file over its base folder. */
export type WeightSource =
  | { kind: 'file'; file: string }
  | { kind: 'folder'; dir: string }
  | { kind: 'adapter'; file: string; base: string; rank: number; alpha: number }

/** Opens a source; an adapter reads as its base with the update merged in. */
export function openTensors(source: WeightSource): TensorSet {
  if (source.kind === 'file') return new TensorFile(source.file)
  if (source.kind === 'folder') return new FolderTensors(source.dir)
  return new MergedAdapter(new FolderTensors(source.base), source.file, source.alpha / source.rank)
}

const elements = (info: { shape: number[] }): number => info.shape.reduce((n, size) => n * size, 1)
const bytesPerElement = (info: TensorInfo): number => {
  const count = elements(info)
  return count === 0 ? 1 : (info.dataOffsets[1] - info.dataOffsets[0]) / count
}

/** Calls `visit` with consecutive chunks of a tensor's values. */
function forEachChunk(set: TensorSet, name: string, visit: (values: Float32Array, start: number) => void): void {
  const total = elements(set.info(name))
  for (let start = 0; start < total; start += CHUNK_ELEMENTS)
    visit(set.read(name, start, Math.min(CHUNK_ELEMENTS, total - start)), start)
}

function withSet<T, S extends TensorSet>(set: S, use: (set: S) => T): T {
  try {
    return use(set)
  } finally {
    set.close()
  }
}

const withFile = <T>(path: string, use: (file: TensorFile) => T): T => withSet(new TensorFile(path), use)

/** One tensor's statistics, read in chunks: once when it fits one chunk, else twice (sums, then deviations). */
function setTensorStats(set: TensorSet, name: string, bins: number): TensorStats {
  const info = set.info(name)
  const moments = emptyMoments()
  const counts = new Array<number>(bins).fill(0)
  if (elements(info) <= CHUNK_ELEMENTS) {
    const values = set.read(name, 0, elements(info))
    addValues(moments, values)
    addDeviations(moments, counts, values)
  } else {
    forEachChunk(set, name, (values) => addValues(moments, values))
    forEachChunk(set, name, (values) => addDeviations(moments, counts, values))
  }
  return finishStats(name, info.dtype, info.shape, moments, counts)
}

/**
 * Statistics of every tensor of a safetensors file, read tensor by tensor. A tensor that fits one chunk is read
 * once; a larger one twice (sums, then deviations and histogram), so memory stays at one chunk.
 */
export function fileStats(path: string, bins = HISTOGRAM_BINS): WeightStats {
  return withFile(path, (file) => summariseStats(file.names().map((name) => setTensorStats(file, name, bins))))
}

/** Statistics of every tensor of a source (a file, a folder's files or shards, a merged adapter), tensor by tensor. */
export function sourceStats(source: WeightSource, bins = HISTOGRAM_BINS): WeightStats {
  return withSet(openTensors(source), (set) => summariseStats(set.names().map((name) => setTensorStats(set, name, bins))))
}

/** The change from the weights of b to those of a, reading one chunk of each at a time. */
function setDelta(a: TensorSet, b: TensorSet): WeightDelta {
  const shapes = (set: TensorSet): Record<string, number[]> =>
    Object.fromEntries(set.names().map((name) => [name, set.info(name).shape]))
  const { common, ...extra } = pairUp(shapes(a), shapes(b))
  const parts = common.map((name) => {
    const sums = emptyDelta()
    forEachChunk(a, name, (values, start) => addPairs(sums, values, b.read(name, start, values.length)))
    return { name, layer: layerOf(name), sums }
  })
  return summariseDelta(parts, extra)
}

/** The change from the weights in file b to those in file a, reading one chunk of each at a time. */
export function fileDelta(pathA: string, pathB: string): WeightDelta {
  return sourceDelta({ kind: 'file', file: pathA }, { kind: 'file', file: pathB })
}

/** The change from source b to source a (an adapter compares merged: base + its update). */
export function sourceDelta(a: WeightSource, b: WeightSource): WeightDelta {
  return withSet(openTensors(a), (setA) => withSet(openTensors(b), (setB) => setDelta(setA, setB)))
}

/** One adapted module: the norms of A, B and of the update scale·B·A, against its base weight's norm. */
export interface AdapterModuleStats {
  /** The module path, e.g. model.layers.0.self_attn.q_proj. */
  module: string
  layer: string
  /** The base weight's [out, in]. */
  shape: number[]
  rank: number
  normA: number
  normB: number
  /** ||scale · B · A||_F */
  normUpdate: number
  /** ||W||_F of the base weight. */
  baseNorm: number
  /** normUpdate / baseNorm; null when the base weight is all zeros. */
  relative: number | null
}

export interface AdapterLayerStats {
  layer: string
  modules: number
  normA: number
  normB: number
  normUpdate: number
  baseNorm: number
  relative: number | null
}

export interface AdapterStats {
  rank: number
  alpha: number
  /** alpha / rank: the factor of B·A in the update. */
  scale: number
  /** The base model folder the norms relate to. */
  base: string
  modules: AdapterModuleStats[]
  layers: AdapterLayerStats[]
  total: AdapterLayerStats
}

/**
 * ||B A||_F without forming B A ([out, in], large): sqrt(trace((BᵀB)(AAᵀ))), two [r, r] Gram matrices. A is
 * [r, in] and B [out, r].
 */
export function productNorm(a: Float32Array, b: Float32Array, rank: number): number {
  const inFeatures = a.length / rank
  const outFeatures = b.length / rank
  const g = new Float64Array(rank * rank)
  const h = new Float64Array(rank * rank)
  for (let i = 0; i < outFeatures; i++) {
    for (let p = 0; p < rank; p++) {
      const bp = b[i * rank + p]!
      if (bp === 0) continue
      for (let q = 0; q < rank; q++) g[p * rank + q]! += bp * b[i * rank + q]!
    }
  }
  for (let p = 0; p < rank; p++) {
    for (let q = p; q < rank; q++) {
      let sum = 0
      for (let j = 0; j < inFeatures; j++) sum += a[p * inFeatures + j]! * a[q * inFeatures + j]!
      h[p * rank + q] = sum
      h[q * rank + p] = sum
    }
  }
  let trace = 0
  for (let p = 0; p < rank; p++) for (let q = 0; q < rank; q++) trace += g[p * rank + q]! * h[q * rank + p]!
  return Math.sqrt(Math.max(0, trace))
}

const norm = (values: Float32Array): number => {
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!
  return Math.sqrt(sum)
}

function combineAdapter(layer: string, parts: readonly AdapterModuleStats[]): AdapterLayerStats {
  const root = (pick: (m: AdapterModuleStats) => number): number => Math.sqrt(parts.reduce((s, m) => s + pick(m) ** 2, 0))
  const normUpdate = root((m) => m.normUpdate)
  const baseNorm = root((m) => m.baseNorm)
  return {
    layer,
    modules: parts.length,
    normA: root((m) => m.normA),
    normB: root((m) => m.normB),
    normUpdate,
    baseNorm,
    relative: baseNorm === 0 ? null : normUpdate / baseNorm,
  }
}

/**
 * Per adapted module of a PEFT adapter file over its base folder: the norms of A, B and of the update scale·B·A,
 * and the update's norm relative to the base weight's (the base read one weight, in chunks, at a time); per layer
 * and in all, the norms combined (square root of the summed squares).
 */
export function adapterStats(source: Extract<WeightSource, { kind: 'adapter' }>): AdapterStats {
  const scale = source.alpha / source.rank
  const pairs = adapterPairs(source.file)
  const modules = withSet(new FolderTensors(source.base), (base) => {
    const present = new Set(base.names())
    return pairs.map((pair): AdapterModuleStats => {
      if (!present.has(pair.weight))
        throw new Error(
          `${source.file} adapts ${pair.weight}, which the base ${source.base} does not have: the adapter belongs to another model`,
        )
      let baseSq = 0
      forEachChunk(base, pair.weight, (values) => {
        for (let i = 0; i < values.length; i++) baseSq += values[i]! * values[i]!
      })
      const rank = pair.a.shape[0]!
      const normUpdate = scale * productNorm(pair.a.data, pair.b.data, rank)
      const baseNorm = Math.sqrt(baseSq)
      return {
        module: pair.module,
        layer: layerOf(pair.weight),
        shape: base.info(pair.weight).shape,
        rank,
        normA: norm(pair.a.data),
        normB: norm(pair.b.data),
        normUpdate,
        baseNorm,
        relative: baseNorm === 0 ? null : normUpdate / baseNorm,
      }
    })
  })
  return {
    rank: source.rank,
    alpha: source.alpha,
    scale,
    base: source.base,
    modules,
    layers: [...groupByLayer(modules)].map(([layer, parts]) => combineAdapter(layer, parts)),
    total: combineAdapter('all', modules),
  }
}
