// A random-init folder shaped like Qwen3-0.6B (hidden 1024, 28 layers, 16 heads, 8 KV heads, head_dim 128,
// intermediate 3072, vocab 151,936, tied embeddings, q/k norms; BF16 on disk as the real one) loads, samples and
// scores on this CPU: load time, peak RSS, rollout tokens/s (onnxruntime with its KV cache, 8 sequences) and log-prob
// tokens/s, each against float32 PyTorch (Debian python3-torch, 2 threads) on the same folder and the same work in the
// same run. Medians of 3 repetitions, no warm-up run (at this size each repetition takes seconds); ratios > 1 mean
// the engine is better. Peak RSS is each process's VmHWM: this vitest worker for the engine, the Python process for
// PyTorch. The folder goes to a temporary directory (about 1.2 GB) and is removed at the end.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { freemem, tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { backendMemoryLimit, formatPlan, planCheckpoint, planRefusal } from '../../main/engine/memory-plan'
import type { MemoryPlan } from '../../main/engine/memory-plan'
import { tfjsLogprobs } from '../../main/engine/logprobs'
import { loadCausalLM } from '../../main/engine/model/causal-lm'
import type { CausalLM } from '../../main/engine/model/causal-lm'
import { onnxDecoderOf } from '../../main/engine/onnx/decoder-session'
import type { OnnxDecoder } from '../../main/engine/onnx/decoder-session'
import { onnxResponseStats } from '../../main/engine/onnx/token-stats'
import { defaultRunConfig } from '../../main/engine/run-config'
import { generate } from '../../main/engine/sampling'
import { Random } from '../../main/random'
import { QWEN3_0_6B_SHAPE, makeScaledFolder, referenceBench, torchAvailable } from '../helpers/reference'
import type { ReferenceBenchResult, ReferenceBenchWork } from '../helpers/reference'
import { median, printTable } from './table'

const WORK: ReferenceBenchWork = {
  rows: 8,
  promptLength: 32,
  newTokens: 32,
  scoreLength: 128,
  responseLength: 96,
  repeats: 3,
  threads: 2,
}
/** Ids below this are the toy tokenizer's bytes and specials; prompts draw from the rest of the vocabulary. */
const FIRST_ID = 300

/** This process's resident set now and its peak so far (VmRSS, VmHWM), in MB. */
function memoryMb(): { rss: number; peak: number } {
  const status = readFileSync('/proc/self/status', 'utf8')
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024
  return { rss: field('VmRSS'), peak: field('VmHWM') }
}

/** MemAvailable from /proc/meminfo in MB (what can be allocated without swapping or evicting much). */
function availableMb(): number {
  const info = readFileSync('/proc/meminfo', 'utf8')
  const kb = /^MemAvailable:\s+(\d+) kB/m.exec(info)?.[1]
  return kb === undefined ? freemem() / 2 ** 20 : Number(kb) / 1024
}

async function timed<T>(work: () => Promise<T> | T): Promise<{ seconds: number; result: T }> {
  const start = performance.now()
  const result = await work()
  return { seconds: (performance.now() - start) / 1000, result }
}

async function medianSeconds(work: () => unknown, repeats = WORK.repeats): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < repeats; i++) times.push((await timed(work)).seconds)
  return median(times)
}

interface QuantityRow {
  what: string
  ours?: number
  reference?: number
  digits: number
}

/** Prints costs (seconds, megabytes): ours, PyTorch's, and PyTorch / ours, so > 1 means the engine costs less. */
function printCosts(title: string, rows: QuantityRow[]): void {
  const show = (value: number | undefined, digits: number): string => (value === undefined ? 'n/a' : value.toFixed(digits))
  const lines = [
    ['what', 'ours', 'PyTorch', 'ratio'],
    ...rows.map((row) => [
      row.what,
      show(row.ours, row.digits),
      show(row.reference, row.digits),
      row.ours && row.reference ? `${(row.reference / row.ours).toFixed(2)}x` : 'n/a',
    ]),
  ]
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)))
  console.log(`\n${title}\n${lines.map((l) => l.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n')}\n`)
}

interface EngineFigures {
  loadTfjs?: number
  loadOnnx?: number
  rssBefore?: number
  peakAfterLoad?: number
  /** After the rollouts and the onnxruntime log-prob passes: the work PyTorch does. */
  peakScored?: number
  peakEnd?: number
  rollout?: number
  logprobOnnx?: number
  logprobTfjs?: number
}

/** Why a tfjs-wasm pass ran out of memory: the heap's size against wasm32's 4 GiB ceiling and the live tensors. */
function wasmHeapState(): string {
  const heap = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.length
  if (heap === undefined) return ''
  return (
    `(wasm heap ${(heap / 2 ** 20).toFixed(0)} MB of wasm32's 4096 MB ceiling, live tensors ${(tf.memory().numBytes / 2 ** 20).toFixed(0)} MB: ` +
    'tfjs-backend-wasm also keeps an XNNPACK-packed copy of every weight it has multiplied by, so a float32 forward pass ' +
    'needs about twice the weights in the heap)'
  )
}

/** The engine's side, in this process; what cannot run goes to `problems` (or `skipped`, if optional), saying why. */
async function measureEngine(
  dir: string,
  parameters: number,
  problems: string[],
  skipped: string[],
  notes: string[],
): Promise<EngineFigures> {
  const figures: EngineFigures = {}
  const { backend } = await useBackend()
  notes.push(`Engine: tfjs backend ${backend}; onnxruntime-node CPU for rollouts and log-prob passes.`)
  // The tfjs copy (in wasm memory, which never shrinks) and the ONNX feeds are both float32, held together.
  const needsMb = ((parameters * 4) / 2 ** 20) * 2.3
  if (availableMb() < needsMb) {
    problems.push(
      `Engine skipped: loading needs about ${needsMb.toFixed(0)} MB (a float32 tfjs copy and a float32 ONNX copy of ${(parameters / 1e6).toFixed(0)}M parameters), MemAvailable is ${availableMb().toFixed(0)} MB.`,
    )
    return figures
  }
  figures.rssBefore = memoryMb().rss
  let lm: CausalLM
  try {
    const load = await timed(() => loadCausalLM(dir))
    lm = load.result
    figures.loadTfjs = load.seconds
  } catch (error) {
    problems.push(`Engine could not load the folder into tfjs (loadCausalLM): ${(error as Error).message}`)
    return figures
  }
  let onnx: OnnxDecoder | undefined
  try {
    const session = await timed(() => onnxDecoderOf(lm))
    onnx = session.result
    figures.loadOnnx = session.seconds
  } catch (error) {
    problems.push(`Engine could not open the ONNX decoder (onnxDecoderOf): ${(error as Error).message}`)
  }
  figures.peakAfterLoad = memoryMb().peak

  const random = new Random(7)
  const id = (): number => FIRST_ID + random.int(lm.vocabSize - FIRST_ID)
  const prompts = Array.from({ length: WORK.rows }, () => Array.from({ length: WORK.promptLength }, id))
  const split = WORK.scoreLength - WORK.responseLength
  const scored = Array.from({ length: WORK.rows }, () => {
    const row = Array.from({ length: WORK.scoreLength }, id)
    return { prompt: row.slice(0, split), response: row.slice(split) }
  })
  if (onnx) {
    const model = onnx
    try {
      figures.rollout = await medianSeconds(async () => {
        const completions = await generate(model.sampler(), prompts, {
          temperature: 1,
          topP: 1,
          maxNewTokens: WORK.newTokens,
          samples: 1,
          seed: 1,
          eosTokenId: -1,
          padTokenId: lm.padTokenId,
        })
        const lengths = completions.map((c) => c.tokens.length)
        if (lengths.some((n) => n !== WORK.newTokens)) throw new Error(`completions of ${lengths.join(', ')} tokens`)
      })
    } catch (error) {
      problems.push(`Engine rollout (onnxruntime sampler) failed: ${(error as Error).message}`)
    }
    try {
      figures.logprobOnnx = await medianSeconds(() => onnxResponseStats(model, scored, lm.padTokenId, WORK.rows, false))
    } catch (error) {
      problems.push(`Engine log-prob pass (onnxruntime) failed: ${(error as Error).message}`)
    }
    await model.release()
  }
  figures.peakScored = memoryMb().peak
  try {
    // One timed pass: tfjs runs on one core through wasm, so three would take minutes.
    figures.logprobTfjs = (await timed(() => tfjsLogprobs(lm.model, scored))).seconds
    notes.push('The tfjs log-prob pass is one timed pass, not a median of 3.')
  } catch (error) {
    // Optional row (the engine scores with onnxruntime by default): said, not failed on.
    skipped.push(`Engine log-prob pass (tfjs) failed: ${(error as Error).message} ${wasmHeapState()}`)
  }
  lm.dispose()
  figures.peakEnd = memoryMb().peak
  return figures
}

const LORA_STEP_TITLE =
  'One LoRA GRPO step (2 questions x 2 rollouts x 64 + 64 tokens, micro-batch 1, rank 16 on q_proj,v_proj, entropy mode)'

/** The memory plan of the issue's LoRA step on this folder, on the backend the engine uses here. */
function loraStepPlan(dir: string): MemoryPlan {
  const run = {
    ...defaultRunConfig('entropy'),
    batch_size: 2,
    rollouts: 2,
    max_prompt_tokens: 64,
    max_response_tokens: 64,
    micro_batch_size: 1,
    lora: { rank: 16, alpha: 32, target_modules: ['q_proj', 'v_proj'], dropout: 0 },
  }
  const backend = tf.getBackend()
  return planCheckpoint(dir, run, { name: backend, limitBytes: backendMemoryLimit(backend) })
}

/** The tiny qwen3 shape of the family tests (test/helpers/reference.ts), with room for prompt ids above FIRST_ID. */
const TINY_QWEN3 = {
  ...QWEN3_0_6B_SHAPE,
  hidden: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  intermediate: 96,
  vocab: 1024,
  maxPositions: 256,
}

// Runs before the 0.6B-shaped test: that one's tfjs log-prob pass may exhaust tfjs-wasm's 4 GiB heap, which aborts
// the wasm module, and no later test in this process could load a model into tfjs.
it('a tiny qwen3 folder samples a GRPO step of rollouts (8 prompts x 8 samples, 48 + 32 tokens), against PyTorch', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cwb-hf-tiny-'))
  const dir = join(root, 'qwen3-tiny')
  try {
    makeScaledFolder('qwen3', TINY_QWEN3, dir, 'F32')
    const work: ReferenceBenchWork = {
      rows: 64,
      promptLength: 48,
      newTokens: 32,
      scoreLength: 80,
      responseLength: 32,
      repeats: 5,
      threads: 1,
    }
    const unavailable = torchAvailable()
    // PyTorch at its faster of 1 and 2 threads.
    const torch = unavailable
      ? undefined
      : [1, 2].map((threads) => referenceBench(dir, { ...work, threads })).sort((a, b) => a.rollout_s - b.rollout_s)[0]
    await useBackend()
    const lm = loadCausalLM(dir)
    const model = await onnxDecoderOf(lm)
    const random = new Random(7)
    const prompts = Array.from({ length: 8 }, () =>
      Array.from({ length: work.promptLength }, () => FIRST_ID + random.int(TINY_QWEN3.vocab - FIRST_ID)),
    )
    const sampling = {
      temperature: 1,
      topP: 1,
      maxNewTokens: work.newTokens,
      samples: 8,
      seed: 1,
      eosTokenId: -1,
      padTokenId: lm.padTokenId,
    }
    await generate(model.sampler(), prompts, sampling)
    const rollout = await medianSeconds(() => generate(model.sampler(), prompts, sampling), work.repeats)
    await model.release()
    printTable(
      `Tiny qwen3 folder (hidden 64, 2 layers, 4/2 heads, head_dim 16, vocab 1024)${torch ? `; PyTorch ${torch.torch}, ${torch.threads} thread(s)` : `; PyTorch unavailable: ${unavailable}`}`,
      [
        {
          work: "rollout (onnxruntime, the trainer's sampler), 64 x (48 + 32)",
          tokens: 64 * work.newTokens,
          seconds: rollout,
          reference: torch?.rollout_s,
        },
      ],
    )
    expect(rollout).toBeGreaterThan(0)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

it('a Qwen3-0.6B-shaped folder loads, samples and scores on this CPU, against PyTorch', async () => {
  const wallStart = performance.now()
  const root = mkdtempSync(join(tmpdir(), 'cwb-hf-scale-'))
  const dir = join(root, 'qwen3-0.6b-random')
  /** Work that could not run, and exactly why: printed with the tables; the test fails on `problems` only. */
  const problems: string[] = []
  const skipped: string[] = []
  const notes: string[] = []
  let torch: ReferenceBenchResult | undefined
  let ours: EngineFigures = {}
  let loraStep: MemoryPlan | undefined
  try {
    const made = await timed(() => makeScaledFolder('qwen3', QWEN3_0_6B_SHAPE, dir))
    const { parameters } = made.result
    notes.push(
      `Folder: ${(parameters / 1e6).toFixed(0)}M parameters, ${(made.result.bytes / 2 ** 30).toFixed(2)} GiB of BF16 safetensors, written in ${made.seconds.toFixed(1)} s under ${root}.`,
    )
    // PyTorch first, in its own process, so the two never compete for the two cores or for memory.
    const unavailable = torchAvailable()
    const torchNeedsMb = ((parameters * 4) / 2 ** 20) * 1.5
    if (unavailable) skipped.push(`PyTorch reference unavailable, so no ratios: ${unavailable}`)
    else if (availableMb() < torchNeedsMb)
      problems.push(
        `PyTorch reference skipped: it needs about ${torchNeedsMb.toFixed(0)} MB (float32 weights and one raw tensor), MemAvailable is ${availableMb().toFixed(0)} MB.`,
      )
    else {
      try {
        torch = referenceBench(dir, WORK)
        notes.push(
          `PyTorch multiplies its projections through ${torch.linear} (CachedModel in test/reference/hf_families.py), not through libblas.so.3: Debian's reference libblas3 runs at about 1 GFLOP/s.`,
        )
      } catch (error) {
        problems.push(`PyTorch reference failed: ${(error as Error).message}`)
      }
    }
    ours = await measureEngine(dir, parameters, problems, skipped, notes)
    loraStep = loraStepPlan(dir)
  } catch (error) {
    problems.push(`Could not make the random folder: ${(error as Error).message}`)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }

  const shape = QWEN3_0_6B_SHAPE
  const title = `Qwen3-0.6B-shaped random folder (hidden ${shape.hidden}, ${shape.layers} layers, ${shape.heads}/${shape.kvHeads} heads, head_dim ${shape.headDim}, intermediate ${shape.intermediate}, vocab ${shape.vocab}, tied)${torch ? `; PyTorch ${torch.torch} ${torch.dtype}, ${torch.threads} threads, projections through ${torch.linear}` : ''}`
  const loadTotal = ours.loadTfjs !== undefined && ours.loadOnnx !== undefined ? ours.loadTfjs + ours.loadOnnx : undefined
  printCosts(`${title}: load and memory`, [
    { what: 'load s: folder -> tfjs Decoder (loadCausalLM)', ours: ours.loadTfjs, digits: 2 },
    { what: 'load s: + ONNX session (onnxDecoderOf)', ours: ours.loadOnnx, digits: 2 },
    { what: 'load s: ready to sample', ours: loadTotal, reference: torch?.load_s, digits: 2 },
    { what: 'RSS MB before load', ours: ours.rssBefore, reference: torch?.rss_before_mb, digits: 0 },
    { what: 'peak RSS MB after load', ours: ours.peakAfterLoad, reference: torch?.rss_after_load_mb, digits: 0 },
    { what: 'peak RSS MB after rollouts and log-probs', ours: ours.peakScored, reference: torch?.rss_peak_mb, digits: 0 },
    { what: 'peak RSS MB, with the tfjs log-prob pass', ours: ours.peakEnd, digits: 0 },
  ])
  const generated = WORK.rows * WORK.newTokens
  const scoredTokens = WORK.rows * WORK.scoreLength
  const throughput = [
    {
      work: `rollout (onnxruntime, the trainer's sampler), ${WORK.rows} x (${WORK.promptLength} + ${WORK.newTokens})`,
      tokens: generated,
      seconds: ours.rollout,
      reference: torch?.rollout_s,
    },
    {
      work: `log-prob pass (onnxruntime), ${WORK.rows} x ${WORK.scoreLength}`,
      tokens: scoredTokens,
      seconds: ours.logprobOnnx,
      reference: torch?.logprob_s,
    },
    {
      work: `log-prob pass (tfjs), ${WORK.rows} x ${WORK.scoreLength}`,
      tokens: scoredTokens,
      seconds: ours.logprobTfjs,
      reference: torch?.logprob_s,
    },
  ]
  const ran = throughput.filter((row): row is (typeof throughput)[number] & { seconds: number } => row.seconds !== undefined)
  if (ran.length > 0) printTable(`${title}: throughput`, ran)
  notes.push(
    `Log-prob rows score the last ${WORK.responseLength} of ${WORK.scoreLength} tokens; tokens/s counts all ${WORK.scoreLength}. Rollouts sample at temperature 1 with no stop token, so every row makes ${WORK.newTokens} tokens.`,
    `Wall time of this benchmark: ${((performance.now() - wallStart) / 1000).toFixed(0)} s.`,
  )
  if (loraStep) {
    console.log(`${LORA_STEP_TITLE}:\n${formatPlan(loraStep)}`)
    if (!loraStep.fits) skipped.push(`${LORA_STEP_TITLE}: cannot run on tfjs-${loraStep.backend}: ${planRefusal(loraStep)}`)
    else notes.push(`${LORA_STEP_TITLE}: the plan fits on ${loraStep.backend}; time it with cwb train on that config.`)
  }
  console.log(notes.join('\n'))
  const notRun = [...problems, ...skipped]
  if (notRun.length > 0) console.log(`Could not run:\n${notRun.map((p) => `- ${p}`).join('\n')}`)
  expect(problems).toEqual([])
})
