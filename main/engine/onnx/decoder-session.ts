// A Hugging Face decoder family (qwen2, qwen3, llama) run by onnxruntime-node through the KV-cached graph of
// decoder-export.ts: full-sequence logits for log-prob passes, and a LogitsSource that decodes one token per step
// (prefill, then each step feeds the graph's present.N.* back as past_key_values.N.*). The session class and the
// LogitsSource serve the demo model's cached graph too (gpt-session.ts).
import * as ort from 'onnxruntime-node'
import { openWeightFiles } from '../checkpoint/hf-weights'
import type { CausalLM } from '../model/causal-lm'
import { Decoder } from '../model/families/decoder'
import type { DecoderConfig } from '../model/families/decoder-config'
import { decoderWeightShapes } from '../model/families/decoder-config'
import { shapesSize } from '../model/config'
import type { LogitsSource } from '../sampling'
import { decoderWeightFeeds, exportDecoderDecodeOnnx, exportDecoderOnnx } from './decoder-export'
import type { WeightFeed } from './export'
import { openSession } from './session'
import type { ExecutionProvider } from './session'
import { FixedCacheDecoder, int64Of, prefillDistinct, weightTensors } from './fixed-cache'

/** One pass's inputs: ids [B, T], mask [B, P + T] (1 = real token), and the cache of P positions per layer. */
export interface DecoderStep {
  ids: ArrayLike<number>
  mask: ArrayLike<number>
  batch: number
  length: number
  /** Per layer key and value [B, kv_heads, P, head_dim]; absent = no past (P = 0). */
  past?: { keys: ort.Tensor[]; values: ort.Tensor[] }
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
 * opened in onnxruntime, with the model's fixed-capacity decode graph beside it (fixed-cache.ts): the one session
 * class of every family. `run` serves prefill and log-prob passes; `sampler` decodes.
 */
export class OnnxKvSession {
  protected constructor(
    private readonly session: ort.InferenceSession,
    readonly vocabSize: number,
    readonly cache: CacheShape,
    private readonly weights: Record<string, ort.Tensor>,
    private readonly decoder: FixedCacheDecoder,
  ) {}

  /** Opens the cached graph and the decode graph of a model of `parameters` parameters. */
  protected static async open(
    kvGraph: Uint8Array,
    decodeGraph: Uint8Array,
    vocabSize: number,
    cache: CacheShape,
    parameters: number,
    providers: ExecutionProvider[],
  ): Promise<{ session: ort.InferenceSession; decoder: FixedCacheDecoder }> {
    const [session, decoder] = await Promise.all([
      openSession(kvGraph, providers),
      FixedCacheDecoder.open(decodeGraph, vocabSize, cache, parameters, providers),
    ])
    return { session, decoder }
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

  /**
   * Sampling with the KV cache: prefill on this graph, decode steps on the fixed-capacity graph, which reads the
   * cache in place. `weights` (the family's feeds) replace the session's own: a model in training.
   */
  sampler(weights?: PassWeights): LogitsSource {
    return this.decoder.logits(this, weights ?? this.weights)
  }

  async release(): Promise<void> {
    await Promise.all([this.session.release(), this.decoder.release()])
  }
}

const decoderCacheShape = (config: DecoderConfig): CacheShape => ({
  layers: config.layers,
  heads: config.kvHeads,
  headDim: config.headDim,
})

export class OnnxDecoder extends OnnxKvSession {
  private constructor(
    opened: { session: ort.InferenceSession; decoder: FixedCacheDecoder },
    readonly config: DecoderConfig,
    weights: Record<string, ort.Tensor>,
  ) {
    super(opened.session, config.vocabSize, decoderCacheShape(config), weights, opened.decoder)
  }

  /**
   * Exports the graphs for `config` and opens them; `read` gives each weight's float32 values as in the safetensors
   * file. Without `read` the session holds no weights: every pass is given them (a model in training).
   */
  static async create(
    config: DecoderConfig,
    read: ((name: string) => Float32Array) | undefined,
    providers: ExecutionProvider[] = ['cpu'],
  ): Promise<OnnxDecoder> {
    const weights = read ? weightTensors(decoderWeightFeeds(config, read)) : {}
    const shape = decoderCacheShape(config)
    const opened = await OnnxKvSession.open(
      exportDecoderOnnx(config),
      exportDecoderDecodeOnnx(config),
      config.vocabSize,
      shape,
      shapesSize(decoderWeightShapes(config)),
      providers,
    )
    return new OnnxDecoder(opened, config, weights)
  }
}

/**
 * Sampling through the Hugging Face-named graph alone: prefill (each distinct prompt once), then every step feeds
 * `present.N.*` back as `past_key_values.N.*`, concatenating the whole cache each time. The reference the faster
 * `sampler` is tested and benchmarked against. `weights`, when given, are fed to every pass, wrapped once here.
 */
export function onnxDecoderLogits(model: OnnxKvSession, weights?: PassWeights): LogitsSource {
  const vocab = model.vocabSize
  const fed = weights && weightTensors(weights)
  let mask: number[][] = []
  let cache: { keys: ort.Tensor[]; values: ort.Tensor[] } | undefined
  return {
    vocabSize: vocab,
    async prefill(rows, padTokenId) {
      const prefilled = await prefillDistinct(model, rows, padTokenId, fed)
      const { length, source } = prefilled
      mask = source.map((u) => [...prefilled.mask.subarray(u * length, (u + 1) * length)])
      const expand = (tensors: ort.Tensor[]): ort.Tensor[] => tensors.map((t) => pickRows(t, source))
      cache = { keys: expand(prefilled.keys), values: expand(prefilled.values) }
      return prefilled.logits
    },
    async step(tokens) {
      mask.forEach((row) => row.push(1))
      const result = await model.run({ ids: tokens, mask: mask.flat(), batch: tokens.length, length: 1, past: cache }, fed)
      cache = { keys: result.keys, values: result.values }
      return result.logits
    },
    dispose() {
      cache = undefined
      mask = []
    },
  }
}

/** Rows of a cache tensor [B, heads, S, head_dim], picked by `rows` (repeats allowed), as a new tensor. */
function pickRows(tensor: ort.Tensor, rows: readonly number[]): ort.Tensor {
  const [, heads, length, headDim] = tensor.dims as [number, number, number, number]
  const size = heads * length * headDim
  const data = tensor.data as Float32Array
  const out = new Float32Array(rows.length * size)
  rows.forEach((row, i) => out.set(data.subarray(row * size, (row + 1) * size), i * size))
  return new ort.Tensor('float32', out, [rows.length, heads, length, headDim])
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
