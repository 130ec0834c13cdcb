// The memory plan of a run before it starts: parameters, trainable parameters and the bytes each part of a GRPO step
// needs (weights, gradients, optimizer state, the KL reference, the teacher, activations, the rollout KV cache, the
// ONNX log-prob pass), against the limit of the chosen backend. A run that will not fit gets advice: concrete
// changes, each checked by planning again with it.
//
// Everything is float32 (4 bytes). The step runs in phases that do not overlap, so the peak is
//   total = Σ persistent components + max over phases (rollout, log-prob, update) of Σ that phase's components.
// Each formula is written next to its component below; B is rows per pass, T a sequence length, d hidden_size,
// H attention heads, Hkv key/value heads, dh head size, I intermediate_size, V vocab_size, L layers.
//
// tfjs keeps every intermediate of a forward pass until the pass's tf.tidy ends (and under a gradient tape, the ones
// each kernel saves for backward until the backward pass is done), so activations count every tensor a layer makes.
// The counts and their factors were measured with tf.profile's peakBytes on the cpu and wasm backends, for cwb-gpt and
// qwen3 decoders, full and LoRA (test/unit/memory-plan.test.ts checks them within 30%).
import { readFileSync } from 'node:fs'
import { totalmem } from 'node:os'
import { join } from 'node:path'
import { adapterBase, isAdapterFolder, readAdapterConfig } from './checkpoint/adapter'
import { parseModelConfig, weightShapes } from './model/config'
import type { ModelConfig } from './model/config'
import { decoderWeightShapes } from './model/families/decoder-config'
import type { DecoderConfig } from './model/families/decoder-config'
import { parseDecoderConfig } from './model/families'
import { MODEL_TYPE as CWB_GPT } from './model/config'
import { LORA_MODULES } from './model/lora-modules'
import { rewardMode, usesTeacher } from './rewards'

const FLOAT = 4
export const GIB = 2 ** 30
export const MIB = 2 ** 20

/** A model's architecture, as much of it as memory depends on. */
export interface PlanModel {
  modelType: string
  /** Every weight's element count, summed. */
  parameters: number
  vocabSize: number
  hiddenSize: number
  layers: number
  heads: number
  kvHeads: number
  headDim: number
  intermediateSize: number
  /** cwb-gpt: LayerNorm + GELU MLP (fused qkv); the Hugging Face families: RMSNorm + SwiGLU (separate q, k, v). */
  kind: 'cwb-gpt' | 'decoder'
  rotary: boolean
  qkNorm: boolean
  /** Biases on q, k and v (Qwen2): one more intermediate each. */
  qkvBias: boolean
  tiedEmbeddings: boolean
  /** Each layer's linear modules by LoRA name: [in, out]. cwb-gpt's fused qkv counts as q_proj, k_proj, v_proj (d -> d each). */
  linears: Partial<Record<(typeof LORA_MODULES)[number], [number, number]>>
}

export interface PlanLora {
  rank: number
  alpha: number
  target_modules: string[]
  dropout?: number
}

/** What of a run config the plan reads (the RunConfig fields of the same names), plus its LoRA settings (null: full fine-tuning). */
export interface PlanRun {
  mode: string
  batch_size: number
  rollouts: number
  max_prompt_tokens: number
  max_response_tokens: number
  micro_batch_size: number
  mini_batches: number
  logprob_engine: 'onnx' | 'tfjs'
  lora?: PlanLora | null
}

export interface PlanBackend {
  name: string
  limitBytes: number
}

export type PlanPhase = 'always' | 'rollout' | 'logprob' | 'update'

export interface PlanComponent {
  name: string
  bytes: number
  /** When it is held: all the time, or during one phase of a step. */
  phase: PlanPhase
  /** False for host memory outside the backend's own (onnxruntime's buffers when tfjs computes on wasm or a GPU). */
  counted: boolean
  note: string
}

export interface MemoryPlan {
  model: string
  backend: string
  parameters: number
  trainable: number
  components: PlanComponent[]
  /** The phase whose transient memory is largest (what `total` adds to the persistent part). */
  peakPhase: Exclude<PlanPhase, 'always'>
  /** Peak bytes held against the backend's limit. */
  total: number
  /** Peak host bytes outside the backend's limit (onnxruntime's, on wasm or tensorflow-gpu); 0 when everything counts. */
  outside: number
  limit: number
  fits: boolean
  /** When it does not fit: concrete changes, each with the total it gives. */
  advice: string[]
}

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1)
const sumShapes = (shapes: Record<string, number[]>): number =>
  Object.values(shapes).reduce((sum, shape) => sum + product(shape), 0)

/** PlanModel of the workbench's own cwb-gpt. */
export function cwbGptPlanModel(c: ModelConfig): PlanModel {
  const d = c.hidden_size
  return {
    modelType: c.model_type,
    parameters: sumShapes(weightShapes(c)),
    vocabSize: c.vocab_size,
    hiddenSize: d,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads: c.num_attention_heads,
    headDim: d / c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    kind: 'cwb-gpt',
    rotary: c.position_embedding_type === 'rotary',
    qkNorm: false,
    qkvBias: true,
    tiedEmbeddings: true,
    linears: {
      q_proj: [d, d],
      k_proj: [d, d],
      v_proj: [d, d],
      o_proj: [d, d],
      up_proj: [d, c.intermediate_size],
      down_proj: [c.intermediate_size, d],
    },
  }
}

/** PlanModel of a Hugging Face qwen2 / qwen3 / llama decoder. */
export function decoderPlanModel(c: DecoderConfig): PlanModel {
  const d = c.hiddenSize
  const q = c.heads * c.headDim
  const kv = c.kvHeads * c.headDim
  return {
    modelType: c.modelType,
    parameters: sumShapes(decoderWeightShapes(c)),
    vocabSize: c.vocabSize,
    hiddenSize: d,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    intermediateSize: c.intermediateSize,
    kind: 'decoder',
    rotary: true,
    qkNorm: c.qkNorm,
    qkvBias: c.qkvBias,
    tiedEmbeddings: c.tieWordEmbeddings,
    linears: {
      q_proj: [d, q],
      k_proj: [d, kv],
      v_proj: [d, kv],
      o_proj: [q, d],
      gate_proj: [d, c.intermediateSize],
      up_proj: [d, c.intermediateSize],
      down_proj: [c.intermediateSize, d],
    },
  }
}

/** PlanModel of a parsed config.json object of any family the engine runs; `source` names the file in errors. */
export function planModelFromConfig(raw: Record<string, unknown>, source: string): PlanModel {
  return raw.model_type === CWB_GPT
    ? cwbGptPlanModel(parseModelConfig(raw, source))
    : decoderPlanModel(parseDecoderConfig(raw, source))
}

/** The targeted module names ("all-linear" means every one of LORA_MODULES). */
const loraTargets = (lora: PlanLora): string[] =>
  lora.target_modules.includes('all-linear') ? [...LORA_MODULES] : [...new Set(lora.target_modules)]

/** LoRA's trainable parameters: Σ over layers and targeted modules present in the model of rank × (in + out). */
export function loraParameters(model: PlanModel, lora: PlanLora): number {
  let perLayer = 0
  for (const name of loraTargets(lora)) {
    const shape = model.linears[name as keyof PlanModel['linears']]
    if (shape) perLayer += lora.rank * (shape[0] + shape[1])
  }
  return model.layers * perLayer
}

/**
 * Floats one layer's forward pass keeps alive over B rows of length T (every intermediate: tfjs frees none of a
 * pass's tensors before its tf.tidy ends, and the tape keeps what backward needs).
 *
 * cwb-gpt (transformer.ts, ops.ts), per layer:
 *   LayerNorm ×2: (x - mean)², x - mean, ÷ std, × γ, + β                          = 2 × 5 BTd
 *   qkv matmul + bias (6 BTd), split (3), heads transposed (3), keysᵀ (1)          = 13 BTd
 *   rotary positions (q and k: halves, 4 products, sub/add, concat)               = 10 BTd (rotary only)
 *   scores q·kᵀ, × 1/√dh, + mask, softmax                                         = 4 BHT²
 *   attended (1), transposed back (1), out matmul + bias (2), residual (1)         = 5 BTd
 *   MLP up matmul + bias (2 BTI), GELU tanh (8 BTI); down matmul + bias, residual  = 10 BTI + 3 BTd
 *   → 31 BTd (+10 rotary) + 4 BHT² + 10 BTI
 * Hugging Face decoder (families/decoder.ts), with q = H·dh, kv = Hkv·dh, per layer:
 *   RMSNorm ×2: x², × rsqrt, × w                                                  = 2 × 3 BTd
 *   q, k, v projections and their head transposes (biases: Qwen2)                 = 2 (q + 2kv) BT (+ (q + 2kv) BT)
 *   q/k RMSNorm (Qwen3)                                                           = 3 (q + kv) BT
 *   rotary (rotate-half: halves, 4 products, sub/add, concat) on q and k          = 5 (q + kv) BT
 *   K and V repeated to H heads (GQA, when H > Hkv), keysᵀ                        = 2 qBT + qBT
 *   scores, scaled, masked, softmax                                               = 4 BHT²
 *   attended, transposed back, o_proj, residual                                   = 2 qBT + 2 BTd
 *   SwiGLU: gate, up, sigmoid, gate·σ, ·up                                        = 5 BTI
 *   down_proj, residual                                                           = 2 BTd
 *   → the sum × 1.15: the decoder's passes measured 15-25% above the count (its rotary tables, masks and reshapes)
 * LoRA adds per targeted module x·A (B T r), ·B, × alpha/r and the sum (3 B T out); dropout a mask and
 * the dropped input (2 B T in).
 */
export function layerActivationFloats(model: PlanModel, rows: number, length: number, lora?: PlanLora | null): number {
  const bt = rows * length
  const d = model.hiddenSize
  const attention = 4 * rows * model.heads * length * length
  let floats: number
  if (model.kind === 'cwb-gpt') {
    floats = bt * (31 * d + (model.rotary ? 10 * d : 0) + 10 * model.intermediateSize) + attention
  } else {
    const q = model.heads * model.headDim
    const kv = model.kvHeads * model.headDim
    floats =
      DECODER_LAYER_FACTOR *
      (bt *
        (6 * d +
          (model.qkvBias ? 3 : 2) * (q + 2 * kv) +
          (model.qkNorm ? 3 * (q + kv) : 0) +
          5 * (q + kv) +
          (model.heads > model.kvHeads ? 2 * q : 0) +
          q +
          2 * q +
          4 * d +
          5 * model.intermediateSize) +
        attention)
  }
  if (lora) {
    for (const name of loraTargets(lora)) {
      const shape = model.linears[name as keyof PlanModel['linears']]
      if (!shape) continue
      floats += bt * (lora.rank + 3 * shape[1] + (lora.dropout ? 2 * shape[0] : 0))
    }
  }
  return floats
}

/** cwb-gpt transposes its tied embedding for the output projection (V d floats) on every forward; the decoder's tied
 * head multiplies by it transposed in place, and its untied lm_head is stored [in, out]. */
const tiedTransposed = (model: PlanModel): number =>
  model.kind === 'cwb-gpt' && model.tiedEmbeddings ? model.vocabSize * model.hiddenSize : 0

/** Floats of the head over B rows of length T besides the [B, T, V] tensors: the final norm (5 BTd) and cwb-gpt's
 * transposed embedding (V d). */
function headFloats(model: PlanModel, rows: number, length: number): number {
  return rows * length * 5 * model.hiddenSize + tiedTransposed(model)
}

// Measured factors (tf.profile's peakBytes on cpu and wasm against the counts above; see the formulas' comments).
const UPDATE_ACTIVATION_FACTOR = 3
const UPDATE_LOGITS_FACTOR = 19
const LOGPROB_ACTIVATION_FACTOR = 1.2
const LOGPROB_LOGITS_FACTOR = 4
const PREFILL_FACTOR = 1.15
const DECODER_LAYER_FACTOR = 1.15

/** Trained views (the ones the update sees): the original and every extra view but the teacher's. */
function trainedViews(mode: string): number {
  return 1 + rewardMode(mode).extraViews.filter((view) => view !== 'teacher').length
}

const fmt = (bytes: number): string =>
  bytes >= GIB ? `${(bytes / GIB).toFixed(bytes >= 100 * GIB ? 0 : 2)} GiB` : `${(bytes / MIB).toFixed(1)} MiB`

export { fmt as formatBytes }

/** The plan's numbers alone (no advice). */
function computePlan(model: PlanModel, run: PlanRun, backend: PlanBackend): Omit<MemoryPlan, 'advice'> {
  const lora = run.lora ?? null
  const teacher = usesTeacher(rewardMode(run.mode))
  const hostShared = backend.name === 'cpu' || backend.name === 'tensorflow'
  const adapters = lora ? loraParameters(model, lora) : 0
  const trainable = lora ? adapters : model.parameters
  const length = run.max_prompt_tokens + run.max_response_tokens
  const rowsPerView = run.batch_size * run.rollouts
  const perMiniView = Math.ceil(rowsPerView / run.mini_batches)
  const micro = Math.min(run.micro_batch_size, perMiniView)
  const chunks = trainedViews(run.mode) * Math.ceil(perMiniView / run.micro_batch_size)
  const kvWidth = model.kvHeads * model.headDim
  const components: PlanComponent[] = []
  const add = (name: string, floats: number, phase: PlanPhase, note: string, counted = true): void => {
    components.push({ name, bytes: Math.round(floats * FLOAT), phase, counted: counted || hostShared, note })
  }

  add(
    'weights',
    model.parameters + adapters,
    'always',
    lora ? `${model.parameters} base + ${adapters} adapter parameters × 4 B` : `${model.parameters} parameters × 4 B`,
  )
  // tfjs-backend-wasm multiplies through XNNPACK, which keeps a packed copy of every weight used as a matMul's second
  // operand for as long as the weight lives (measured: 40 distinct 12 MB weights grew the heap by 486 MB, never given
  // back); tf.profile does not see it. Every projection, and the embedding when it is the tied output head.
  if (backend.name === 'wasm') {
    const embedding = model.vocabSize * model.hiddenSize
    const packed = model.tiedEmbeddings ? model.parameters : model.parameters - embedding
    add('XNNPACK packed weights', packed, 'always', `wasm's packed copy of each weight it multiplies by: ${packed} × 4 B`)
  }
  add(
    'gradients',
    trainable * (chunks > 1 ? 2 : 1),
    'update',
    `${trainable} trainable × 4 B${chunks > 1 ? `, ×2: ${chunks} micro-batches' gradients are summed into a second copy` : ''}`,
  )
  add('optimizer state', 2 * trainable, 'always', 'AdamW first and second moments: 2 × trainable × 4 B')
  if (teacher) {
    add(
      'teacher',
      lora ? adapters : model.parameters,
      'always',
      lora
        ? 'the EMA teacher (also the KL reference): a copy of the adapters'
        : 'the EMA teacher (also the KL reference): a full copy of the weights',
    )
  } else {
    add(
      'KL reference',
      lora ? adapters : model.parameters,
      'always',
      lora ? 'the frozen start: a copy of the adapters (the base is shared)' : 'the frozen start: a full copy of the weights',
    )
  }

  // Without a gradient tape, the decoder frees each layer's intermediates before the next layer runs (one tf.tidy per
  // layer), so its prefill and tfjs log-prob pass hold one layer's activations; cwb-gpt's whole forward runs in one
  // tf.tidy and holds every layer's.
  const heldLayers = model.kind === 'decoder' ? 1 : model.layers
  // Rollouts: one view at a time, R = batch_size × rollouts rows. The prefill runs the prompt (Tp) through the
  // layers, holding `heldLayers` layers' activations (× 1.15, measured), with cwb-gpt's tied
  // embedding transposed for the output (V d) and a cache at Tp. Each decoding step builds the grown cache before the old one
  // is freed: 2 × R × L × 2 × Hkv × dh × (Tp + Tr), plus the logits [R, V] and their copy read out.
  const tiedCopy = tiedTransposed(model)
  const prefill =
    PREFILL_FACTOR * heldLayers * layerActivationFloats(model, rowsPerView, run.max_prompt_tokens, lora) +
    tiedCopy +
    rowsPerView * model.layers * 2 * kvWidth * run.max_prompt_tokens
  const cache = rowsPerView * model.layers * 2 * kvWidth * length
  add(
    'rollout prefill',
    prefill,
    'rollout',
    `${rowsPerView} rows × ${run.max_prompt_tokens} prompt tokens, ${heldLayers === 1 ? 'one layer at a time' : `all ${model.layers} layers at once`}`,
  )
  add(
    'rollout KV cache',
    2 * cache + 2 * rowsPerView * model.vocabSize,
    'rollout',
    `2 (old and grown) × ${rowsPerView} rows × ${model.layers} layers × 2 × ${kvWidth} × ${length} tokens, + logits [${rowsPerView}, ${model.vocabSize}] ×2`,
  )

  // The update: one micro-batch of m = min(micro_batch_size, rows of a view in a mini-batch) rows at T = Tp + Tr.
  // Forward activations F = L × layer + the head's (final norm 5 mTd, tied embedding transposed V d); the [m, T, V]
  // tensors apart. Measured (tf.profile peakBytes, cpu and wasm, models of 1 to 4 layers): the forward + backward
  // peak is 3 F (the tape's saved tensors and the gradients made for each) and 19 × [m, T, V] (logits, log-softmax,
  // one-hot product, entropy, and their gradients).
  const forward = model.layers * layerActivationFloats(model, micro, length, lora) + headFloats(model, micro, length)
  const logitsSize = micro * length * model.vocabSize
  add(
    'activations',
    UPDATE_ACTIVATION_FACTOR * forward,
    'update',
    `${UPDATE_ACTIVATION_FACTOR} × forward: micro-batch ${micro} × ${length} tokens through ${model.layers} layers (attention [${micro}, ${model.heads}, ${length}, ${length}] ×4, MLP, norms, residuals), kept for backward`,
  )
  // Full fine-tuning: linear()'s gradient (ops.ts) makes each weight's gradient and a transposed copy of it to pass the
  // gradient down; measured, one more copy of every projection is held at the backward's peak (cwb-gpt's transposed
  // embedding included; the decoder's embedding table is not a projection: parameters - V d). A tied decoder head
  // (logits = h Eᵀ) adds two embedding-sized copies in its matMul's gradient (measured).
  // LoRA: the frozen base's projections pass the gradient to their input only (frozenLinear), each transpose freed as
  // soon as its product exists: one projection at a time (measured).
  const embedding = model.vocabSize * model.hiddenSize
  const linearWeights = model.kind === 'cwb-gpt' ? model.parameters : model.parameters - embedding
  const tiedHead = model.kind === 'decoder' && model.tiedEmbeddings ? 2 * embedding : 0
  const largest = Math.max(0, ...Object.values(model.linears).map(([a, b]) => a * b))
  const projections = lora ? largest + tiedHead : linearWeights + tiedHead
  add(
    'backward transposes',
    projections,
    'update',
    lora
      ? `one frozen projection transposed at a time for the gradient of its input: ${largest}${tiedHead ? ` + 2 × ${embedding} (the tied head)` : ''} × 4 B`
      : `each projection transposed for the gradient of its input: ${linearWeights}${tiedHead ? ` + 2 × ${embedding} (the tied head)` : ''} × 4 B`,
  )
  add(
    'logits',
    UPDATE_LOGITS_FACTOR * logitsSize,
    'update',
    `${UPDATE_LOGITS_FACTOR} × [${micro}, ${length}, ${model.vocabSize}]: logits, log-softmax, one-hot product, entropy and their gradients`,
  )

  // Log-prob passes (old policy, KL reference), no gradient, micro-batches of m rows.
  if (run.logprob_engine === 'tfjs') {
    // tfjs: the forward holds `heldLayers` layers' activations and the head's (× 1.2, measured); each statistic's own
    // tidy frees its work, so about 4 [m, T, V] tensors are alive at once (logits, log-softmax's three).
    const layers = heldLayers * layerActivationFloats(model, micro, length, lora)
    const head = headFloats(model, micro, length)
    const logits = LOGPROB_LOGITS_FACTOR * logitsSize
    add(
      'log-prob pass',
      LOGPROB_ACTIVATION_FACTOR * (layers + head) + logits,
      'logprob',
      `tfjs forward, no gradient: micro-batch ${micro} × ${length} tokens, logits [${micro}, ${length}, ${model.vocabSize}] ×${LOGPROB_LOGITS_FACTOR}`,
    )
  } else {
    // onnxruntime: the weights fed as inputs (a copy each pass; the frozen reference's kept for the run), the logits
    // [m, T, V] it returns, and its working set of about one layer (attention 4 m H T², MLP 5 m T I).
    const working = 4 * micro * model.heads * length * length + 5 * micro * length * model.intermediateSize
    add(
      'ONNX log-prob pass',
      model.parameters + 2 * micro * length * model.vocabSize + working,
      'logprob',
      `onnxruntime: weights fed as inputs (${model.parameters}) + logits [${micro}, ${length}, ${model.vocabSize}] ×2 + one layer's working set`,
      false,
    )
    // With LoRA the reference's feeds share the base's arrays with the policy's: only its merged adapted weights are
    // its own.
    const adapted = lora
      ? model.layers *
        loraTargets(lora).reduce((sum, name) => {
          const shape = model.linears[name as keyof PlanModel['linears']]
          return sum + (shape ? shape[0] * shape[1] : 0)
        }, 0)
      : model.parameters
    if (!teacher)
      add(
        'ONNX frozen reference',
        adapted,
        'always',
        lora
          ? "the KL reference's merged adapted weights kept as onnxruntime inputs (the base's are shared)"
          : "the KL reference's weights kept as onnxruntime inputs",
        false,
      )
  }
  return summarise(model, backend, trainable, components)
}

function summarise(
  model: PlanModel,
  backend: PlanBackend,
  trainable: number,
  components: PlanComponent[],
): Omit<MemoryPlan, 'advice'> {
  const peak = (counted: boolean): { bytes: number; phase: Exclude<PlanPhase, 'always'> } => {
    const of = (phase: PlanPhase): number =>
      components.filter((c) => c.phase === phase && c.counted === counted).reduce((sum, c) => sum + c.bytes, 0)
    const phases = (['rollout', 'logprob', 'update'] as const).map((phase) => ({ phase, bytes: of(phase) }))
    const top = phases.reduce((a, b) => (b.bytes > a.bytes ? b : a))
    return { bytes: of('always') + top.bytes, phase: top.phase }
  }
  const inside = peak(true)
  const total = inside.bytes
  return {
    model: model.modelType,
    backend: backend.name,
    parameters: model.parameters,
    trainable,
    components,
    peakPhase: inside.phase,
    total,
    outside: peak(false).bytes,
    limit: backend.limitBytes,
    fits: total <= backend.limitBytes,
  }
}

/** The bytes the backend can hold: wasm's heap is 4 GiB whatever the RAM; cpu and tensorflow use the machine's RAM;
 * tensorflow-gpu its GPU's memory, known only when reported (else unlimited: Infinity). */
export function backendMemoryLimit(backend: string, reportedBytes?: number): number {
  if (reportedBytes !== undefined) return reportedBytes
  if (backend === 'wasm') return 4 * GIB
  if (backend === 'cpu' || backend === 'tensorflow') return totalmem()
  return Number.POSITIVE_INFINITY
}

const PLAN_BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const
/** Advice never shortens a budget below this many tokens (a run that needs that is for another backend). */
const MIN_TOKENS = 16
/** The LoRA suggested to a run that does not fit: PEFT's usual rank 16 on the attention's q and v. */
export const SUGGESTED_LORA: PlanLora = { rank: 16, alpha: 32, target_modules: ['q_proj', 'v_proj'] }

export interface PlanOptions {
  /** Other backends to suggest, with their limits (default: those of backendMemoryLimit on this machine). */
  alternatives?: PlanBackend[]
}

/** The memory plan of `run` on `model` with `backend`; when it does not fit, `advice` lists changes that help, each planned. */
export function memoryPlan(model: PlanModel, run: PlanRun, backend: PlanBackend, options: PlanOptions = {}): MemoryPlan {
  const plan = computePlan(model, run, backend)
  if (plan.fits) return { ...plan, advice: [] }
  const advice: string[] = []
  const totalWith = (change: Partial<PlanRun>, on: PlanBackend = backend): Omit<MemoryPlan, 'advice'> =>
    computePlan(model, { ...run, ...change }, on)
  const verdict = (p: Omit<MemoryPlan, 'advice'>): string =>
    `total ${fmt(p.total)}${p.fits ? ', fits' : `, still over ${fmt(p.limit)}`}`
  const saves = (p: Omit<MemoryPlan, 'advice'>): string => `saves ${fmt(plan.total - p.total)}`
  // What every change below starts from when one alone is not enough.
  const combined: Partial<PlanRun> = {}

  // LoRA: only the adapters train, so gradients, optimizer state and the reference or teacher copies shrink.
  // (The engine applies LoRA to the Hugging Face families only, so cwb-gpt gets no such advice.)
  if (!run.lora && model.kind === 'decoder') {
    const lora = SUGGESTED_LORA
    const withLora = totalWith({ lora })
    if (withLora.total < plan.total) {
      advice.push(
        `use LoRA (lora.rank ${lora.rank} on ${lora.target_modules.join(',')}; ${saves(withLora)}): ${verdict(withLora)}`,
      )
      combined.lora = lora
    }
  }
  // Smaller micro-batches: the largest (halving) that fits, else 1.
  if (run.micro_batch_size > 1) {
    let chosen = 1
    for (let size = Math.floor(run.micro_batch_size / 2); size > 1; size = Math.floor(size / 2)) {
      if (totalWith({ micro_batch_size: size }).fits) {
        chosen = size
        break
      }
    }
    const p = totalWith({ micro_batch_size: chosen })
    if (p.total < plan.total) {
      advice.push(`micro_batch_size ${chosen} (${saves(p)}): ${verdict(p)}`)
      combined.micro_batch_size = chosen
    }
  }
  // Shorter sequences or fewer rollout rows alone: the largest value (halving) that fits.
  const fields = ['max_response_tokens', 'max_prompt_tokens', 'batch_size'] as const
  for (const field of fields) {
    for (let value = Math.floor(run[field] / 2); value >= 1; value = Math.floor(value / 2)) {
      const p = totalWith({ [field]: value })
      if (p.fits) {
        advice.push(`${field} ${value} (${saves(p)}): ${verdict(p)}`)
        break
      }
    }
  }
  // Together: LoRA and the micro-batch above, then, until it fits, batch_size halved while the rollouts are the peak,
  // else the longer length halved (not below MIN_TOKENS), else batch_size.
  if (!advice.some((line) => line.endsWith(', fits'))) {
    const change: Partial<PlanRun> = { ...combined }
    const value = (field: (typeof fields)[number]): number => change[field] ?? run[field]
    const floor = (field: 'max_response_tokens' | 'max_prompt_tokens'): number => Math.min(MIN_TOKENS, run[field])
    let p = totalWith(change)
    while (!p.fits) {
      const lengths = (['max_response_tokens', 'max_prompt_tokens'] as const).filter((field) => value(field) > floor(field))
      const longer = lengths.sort((a, b) => value(b) - value(a))[0]
      // The rollout phase scales with batch_size × rollouts rows; the others with the micro-batch's lengths.
      if (p.peakPhase === 'rollout' && value('batch_size') > 1) change.batch_size = Math.floor(value('batch_size') / 2)
      else if (longer) change[longer] = Math.max(Math.floor(value(longer) / 2), floor(longer))
      else if (value('batch_size') > 1) change.batch_size = Math.floor(value('batch_size') / 2)
      else break
      p = totalWith(change)
    }
    const names = Object.entries(change).map(([key, v]) =>
      key === 'lora' ? `LoRA (rank ${(v as PlanLora).rank})` : `${key} ${String(v)}`,
    )
    advice.push(`together: ${names.join(', ')}: ${verdict(p)}`)
  }
  // Another backend with more memory.
  const others =
    options.alternatives ??
    PLAN_BACKENDS.filter((name) => name !== backend.name).map((name) => ({ name, limitBytes: backendMemoryLimit(name) }))
  for (const other of others) {
    if (other.name === backend.name || other.limitBytes <= backend.limitBytes) continue
    const p = totalWith({}, other)
    if (other.name === 'tensorflow-gpu')
      advice.push(
        `the tensorflow-gpu backend (GPU memory${Number.isFinite(other.limitBytes) ? ` ${fmt(other.limitBytes)}` : ''}; npm run setup:gpu, CWB_BACKEND=tensorflow-gpu): needs ${fmt(p.total)}`,
      )
    else if (p.fits)
      advice.push(
        `the ${other.name} backend (limit ${fmt(other.limitBytes)}, the machine's RAM; CWB_BACKEND=${other.name}): ${verdict(p)}`,
      )
  }
  return { ...plan, advice }
}

/** The plan as a table for the terminal. */
export function formatPlan(plan: MemoryPlan): string {
  const lines = [
    `Memory plan: ${plan.model} on ${plan.backend}`,
    `  parameters  ${plan.parameters.toLocaleString('en-US')}`,
    `  trainable   ${plan.trainable.toLocaleString('en-US')}`,
    '',
  ]
  const width = Math.max(...plan.components.map((c) => c.name.length), 'component'.length)
  lines.push(`  ${'component'.padEnd(width)}  ${'memory'.padStart(10)}  ${'when'.padEnd(8)}  note`)
  for (const c of plan.components) {
    const when = c.phase + (c.counted ? '' : '*')
    lines.push(`  ${c.name.padEnd(width)}  ${fmt(c.bytes).padStart(10)}  ${when.padEnd(8)}  ${c.note}`)
  }
  lines.push('')
  lines.push(`  peak (always + ${plan.peakPhase})  ${fmt(plan.total)}`)
  lines.push(`  limit (${plan.backend})  ${Number.isFinite(plan.limit) ? fmt(plan.limit) : 'unknown (not reported)'}`)
  if (plan.outside > 0) lines.push(`  * host memory outside the ${plan.backend} limit: ${fmt(plan.outside)} at its peak`)
  lines.push(plan.fits ? '  fits' : `  does not fit: ${fmt(plan.total)} > ${fmt(plan.limit)}`)
  if (plan.advice.length > 0) {
    lines.push('', 'To make it fit, change one of:')
    for (const line of plan.advice) lines.push(`  - ${line}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * The plan of a run starting from the checkpoint in `folder`: its config.json, or for a LoRA adapter folder its base's
 * (found as the adapter says), planned with the adapter's settings unless the run gives its own.
 */
export function planCheckpoint(folder: string, run: PlanRun, backend: PlanBackend, options: PlanOptions = {}): MemoryPlan {
  let modelFolder = folder
  let lora = run.lora
  if (isAdapterFolder(folder)) {
    if (!lora) {
      const { settings } = readAdapterConfig(folder)
      lora = { rank: settings.rank, alpha: settings.alpha, target_modules: settings.targetModules, dropout: settings.dropout }
    }
    modelFolder = adapterBase(folder)
  }
  const file = join(modelFolder, 'config.json')
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (error) {
    throw new Error(`cannot read the model config ${file}: ${(error as Error).message}`, { cause: error })
  }
  return memoryPlan(planModelFromConfig(raw, file), { ...run, lora }, backend, options)
}

/** One line refusing a run that does not fit: its peak against the limit, and what to change. */
export function planRefusal(plan: MemoryPlan): string {
  const count = (n: number): string => n.toLocaleString('en-US')
  return (
    `the run needs ${fmt(plan.total)} at its peak (${plan.peakPhase}; ${count(plan.parameters)} parameters, ${count(plan.trainable)} trainable), ` +
    `over the ${plan.backend} backend's ${fmt(plan.limit)}. ` +
    (plan.advice.length ? `To make it fit, change one of: ${plan.advice.join('; ')}. ` : '') +
    '`cwb train --config FILE --plan` shows every part.'
  )
}
