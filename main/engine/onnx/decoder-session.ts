// A Hugging Face decoder family (qwen2, qwen3, llama) run by onnxruntime-node through the KV-cached graph of
// decoder-export.ts: full-sequence logits for log-prob passes, and a LogitsSource that decodes one token per step
// (prefill, then each step feeds the graph's present.N.* back as past_key_values.N.*). The session class and the
// LogitsSource serve the demo model's cached graph too (gpt-session.ts).
import * as ort from 'onnxruntime-node'
import { openWeightFiles } from '../checkpoint/hf-weights'
import type { CausalLM } from '../model/causal-lm'
import { Decoder } from '../model/families/decoder'
import type { DecoderConfig } from '../model/families/decoder-config'
import type { LogitsSource } from '../sampling'
import { decoderWeightFeeds, exportDecoderDecodeOnnx, exportDecoderOnnx } from './decoder-export'
import type { WeightFeed } from './export'
import type { ExecutionProvider } from './session'
import { sessionThreads } from '../threads'
import { FixedCacheDecoder, prefillDistinct, weightTensors } from './fixed-cache'

/** One pass's inputs: ids [B, T], mask [B, P + T] (1 = real token), and the cache of P positions per layer. */
export interface DecoderStep {
  ids: ArrayLike<number>
  mask: ArrayLike<number>
  batch: number
  length: number
  /** Per layer key and value [B, kv_heads, P, head_dim]; absent = no past (P = 0). */
  past?: { keys: ort.Tensor[]; values: ort.Tensor[] }
}

/** Small integers as int64 (a decode step converts its ids and mask every pass: no intermediate arrays). */
function int64Of(values: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]!)
  return out
}

/** Position ids [B, T] of the last T of each mask row [B, S]: the count of real tokens before each, minus one, at least 0. */
export function positionIds(mask: ArrayLike<number>, batch: number, total: number, length: number): BigInt64Array {
  const out = new BigInt64Array(batch * length)
  for (let b = 0; b < batch; b++) {
    let seen = 0
    for (let s = 0; s < total; s++) {
      seen += mask[b * total + s]!
      const t = s - (total - length)
      if (t >= 0) out[b * length + t] = BigInt(Math.max(0, seen - 1))
    }
  }
  return out
}

/** The cache a KV-cached graph takes: per layer key and value [B, heads, P, head_dim]. */
export interface CacheShape {
  layers: number
  heads: number
  headDim: number
}

/** Weights for a pass: feeds, or feeds already wrapped once (weightTensors) for a source that runs many passes. */
export type PassWeights = Record<string, WeightFeed | ort.Tensor>

export { weightTensors }

/**
 * A KV-cached graph with Hugging Face's input and output names (decoder-export.ts, or export.ts's exportGptKvOnnx)
 * opened in onnxruntime: the one session class and sampling source (onnxDecoderLogits) of every family.
 */
export class OnnxKvSession {
  protected constructor(
    private readonly session: ort.InferenceSession,
    readonly vocabSize: number,
    readonly cache: CacheShape,
    protected readonly weights: Record<string, ort.Tensor>,
  ) {}

  protected static open(bytes: Uint8Array, providers: ExecutionProvider[]): Promise<ort.InferenceSession> {
    return ort.InferenceSession.create(bytes, {
      executionProviders: providers,
      graphOptimizationLevel: 'all',
      ...sessionThreads(),
    })
  }

  /** The bytes of the session's own weights (none when every pass is fed its weights). */
  get ownWeightBytes(): number {
    return Object.values(this.weights).reduce((sum, t) => sum + t.size * 4, 0)
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames
  }

  /**
   * One pass: logits [B, T, V] (flat) and the cache extended by these T positions. `weights` (the family's feeds)
   * replace the session's own for this pass: a model in training feeds its current weights.
   */
  async run(
    step: DecoderStep,
    weights?: PassWeights,
  ): Promise<{ logits: Float32Array; keys: ort.Tensor[]; values: ort.Tensor[] }> {
    const { batch, length } = step
    const c = this.cache
    const total = step.mask.length / batch
    const past = total - length
    const feeds: Record<string, ort.Tensor> = {
      ...(weights ? weightTensors(weights) : this.weights),
      input_ids: new ort.Tensor('int64', int64Of(step.ids), [batch, length]),
      attention_mask: new ort.Tensor('int64', int64Of(step.mask), [batch, total]),
      position_ids: new ort.Tensor('int64', positionIds(step.mask, batch, total, length), [batch, length]),
    }
    const emptyCache = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(0), [batch, c.heads, 0, c.headDim])
    for (let layer = 0; layer < c.layers; layer++) {
      feeds[`past_key_values.${layer}.key`] = step.past?.keys[layer] ?? emptyCache()
      feeds[`past_key_values.${layer}.value`] = step.past?.values[layer] ?? emptyCache()
    }
    if (step.past && step.past.keys[0]!.dims[2] !== past)
      throw new Error(`the cache holds ${step.past.keys[0]!.dims[2]} positions, the mask ${past} before these ${length}`)
    const result = await this.session.run(feeds)
    const keys: ort.Tensor[] = []
    const values: ort.Tensor[] = []
    for (let layer = 0; layer < c.layers; layer++) {
      keys.push(result[`present.${layer}.key`]!)
      values.push(result[`present.${layer}.value`]!)
    }
    return { logits: result.logits!.data as Float32Array, keys, values }
  }

  /** Logits [B, T, V] (flat) for left-padded `ids` with `mask` (1 = real token), both [B, T], with no past. */
  async logits(
    ids: ArrayLike<number>,
    mask: ArrayLike<number>,
    batch: number,
    length: number,
    weights?: PassWeights,
  ): Promise<Float32Array> {
    return (await this.run({ ids, mask, batch, length }, weights)).logits
  }

  /** A sampling source over this session: onnxDecoderLogits (a family may decode through a faster graph). */
  sampler(weights?: PassWeights, options: { chunkBytes?: number } = {}): LogitsSource {
    return onnxDecoderLogits(this, weights, options)
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}

const decoderCacheShape = (config: DecoderConfig): CacheShape => ({
  layers: config.layers,
  heads: config.kvHeads,
  headDim: config.headDim,
})

export class OnnxDecoder extends OnnxKvSession {
  private constructor(
    session: ort.InferenceSession,
    readonly config: DecoderConfig,
    weights: Record<string, ort.Tensor>,
    private readonly decoder: FixedCacheDecoder,
  ) {
    super(session, config.vocabSize, decoderCacheShape(config), weights)
  }

  /**
   * Exports the graph for `config` and opens it; `read` gives each weight's float32 values as in the safetensors file.
   * Without `read` the session holds no weights: every pass is given them (a model in training).
   */
  static async create(
    config: DecoderConfig,
    read: ((name: string) => Float32Array) | undefined,
    providers: ExecutionProvider[] = ['cpu'],
  ): Promise<OnnxDecoder> {
    const weights = read ? weightTensors(decoderWeightFeeds(config, read)) : {}
    const decoder = await FixedCacheDecoder.open(
      exportDecoderDecodeOnnx(config),
      config.vocabSize,
      decoderCacheShape(config),
      providers,
    )
    return new OnnxDecoder(await OnnxKvSession.open(exportDecoderOnnx(config), providers), config, weights, decoder)
  }

  /** Decode steps run on the fixed-capacity graph (fixed-cache.ts), which reads the cache in place. */
  override sampler(weights?: PassWeights): LogitsSource {
    return this.decoder.logits(this, weights ?? this.weights)
  }

  override async release(): Promise<void> {
    await Promise.all([super.release(), this.decoder.release()])
  }
}

/**
 * The cache one decode pass carries, in bytes, at twice the prompt's length. A decode step's cost is dominated by
 * copying the cache in and out of the session, and grows faster than the rows do once the cache leaves the CPU's
 * caches: on the demo model (d 128, 4 layers, about 60 cached positions, 330 KB a row) 64 rows took 27.6 ms a step,
 * 32 rows 11.3 ms and 16 rows 4.7 ms. Small models' rows fit many to a pass, where fewer passes cost less; a model
 * whose weights outweigh the cache (every pass reads them all) decodes its rows in as few passes.
 */
export const DECODE_CHUNK_BYTES = 6 * 2 ** 20

/** Rows [from, to) of a cache tensor [B, heads, S, head_dim], picked by `rows`, as a new tensor. */
function pickRows(tensor: ort.Tensor, rows: readonly number[]): ort.Tensor {
  const [, heads, length, headDim] = tensor.dims as [number, number, number, number]
  const size = heads * length * headDim
  const data = tensor.data as Float32Array
  const out = new Float32Array(rows.length * size)
  rows.forEach((row, i) => out.set(data.subarray(row * size, (row + 1) * size), i * size))
  return new ort.Tensor('float32', out, [rows.length, heads, length, headDim])
}

/** A group of rows decoded together: their indices among all rows, attention masks and cache. */
interface Chunk {
  rows: number[]
  mask: number[][]
  keys: ort.Tensor[]
  values: ort.Tensor[]
}

/**
 * KV-cached sampling through the graph (any family's). Prefill runs each distinct left-padded prompt once (a group's
 * G samples share their prompt's cache), then rows decode in chunks of DECODE_CHUNK_BYTES of cache, one token per row a step;
 * rows that have finished leave their chunk, so late steps cost only the rows still writing. `weights`, when given,
 * are fed to every pass (a model in training: its current weights), wrapped once here. `chunkBytes` overrides
 * DECODE_CHUNK_BYTES.
 */
export function onnxDecoderLogits(
  model: OnnxKvSession,
  weights?: PassWeights,
  options: { chunkBytes?: number } = {},
): LogitsSource {
  const vocab = model.vocabSize
  const fed = weights && weightTensors(weights)
  let chunks: Chunk[] = []
  let batch = 0
  return {
    vocabSize: vocab,
    async prefill(rows, padTokenId) {
      batch = rows.length
      const { logits, length, mask, source, keys, values } = await prefillDistinct(model, rows, padTokenId, fed)
      chunks = []
      const { layers, heads, headDim } = model.cache
      // Each pass reads every weight, so a chunk carries at least as much cache as there are weight bytes.
      const weightBytes = fed ? Object.values(fed).reduce((sum, t) => sum + t.size * 4, 0) : model.ownWeightBytes
      const rowBytes = layers * 2 * heads * headDim * 4 * 2 * length
      const perChunk = Math.max(1, Math.floor(Math.max(options.chunkBytes ?? DECODE_CHUNK_BYTES, weightBytes) / rowBytes))
      for (let start = 0; start < batch; start += perChunk) {
        const members = Array.from({ length: Math.min(perChunk, batch - start) }, (_, i) => start + i)
        const from = members.map((r) => source[r]!)
        chunks.push({
          rows: members,
          mask: from.map((u) => [...mask.subarray(u * length, (u + 1) * length)]),
          keys: keys.map((t) => pickRows(t, from)),
          values: values.map((t) => pickRows(t, from)),
        })
      }
      return logits
    },
    async step(tokens, active) {
      const logits = new Float32Array(batch * vocab)
      const next: Chunk[] = []
      for (const chunk of chunks) {
        // Rows that have finished leave the chunk (their logits stay zero: the sampler no longer reads them).
        const keep = chunk.rows.map((_, i) => i).filter((i) => active?.[chunk.rows[i]!] ?? true)
        if (keep.length === 0) continue
        const current =
          keep.length === chunk.rows.length
            ? chunk
            : {
                rows: keep.map((i) => chunk.rows[i]!),
                mask: keep.map((i) => chunk.mask[i]!),
                keys: chunk.keys.map((t) => pickRows(t, keep)),
                values: chunk.values.map((t) => pickRows(t, keep)),
              }
        current.mask.forEach((row) => row.push(1))
        const ids = current.rows.map((r) => tokens[r]!)
        const result = await model.run(
          { ids, mask: current.mask.flat(), batch: ids.length, length: 1, past: { keys: current.keys, values: current.values } },
          fed,
        )
        current.rows.forEach((r, i) => logits.set(result.logits.subarray(i * vocab, (i + 1) * vocab), r * vocab))
        next.push({ ...current, keys: result.keys, values: result.values })
      }
      chunks = next
      return logits
    },
    dispose() {
      chunks = []
    },
  }
}

/** The ONNX graph of a loaded Hugging Face family model, its weights read again from the folder (the tfjs copy may then be disposed). */
export async function onnxDecoderOf(lm: CausalLM, providers: ExecutionProvider[] = ['cpu']): Promise<OnnxDecoder> {
  if (lm.transformer || !('vocabSize' in lm.model.config))
    throw new Error(`${lm.dir}: model_type "${lm.modelType}" is not a Hugging Face decoder family`)
  // With an adapter, its update is merged into each weight it targets (W + scale B A), read from the tfjs copy.
  const decoder = lm.model
  if (lm.adapter && decoder instanceof Decoder)
    return OnnxDecoder.create(decoder.config, (name) => decoder.mergedWeight(name), providers)
  const files = openWeightFiles(lm.baseDir)
  return OnnxDecoder.create(lm.model.config, (name) => files.read(name), providers)
}
