// The float64 PyTorch oracle for Hugging Face qwen2 / qwen3 / llama folders (test/reference/hf_families.py), for tests.
//
//   const skip = torchAvailable()                       // undefined when usable, else the reason to print in a skip
//   makeFamilyFolder('qwen3', 'bf16-qknorm', dir)       // a tiny random-init HF folder (config, safetensors, tokenizer)
//   referenceLogprobs(dir, [{ prompt_ids, response_ids }])      // number[][]: log p(response token | all before), float64
//   referenceBatchLogprobs(dirs, lines)                 // per folder: one left-padded batch and each line alone
//   referenceGreedy(dir, promptIds, maxNewTokens)       // number[]: greedy ids, stops after a generation_config eos id
//   referenceGreedyMany([{ dir, promptIds, maxNewTokens }])  // number[][]: the same for many, in one Python run
//   referenceLogprobsMany(dirs, lines)                  // number[][][]: referenceLogprobs of each folder, one Python run
//   const fixtures = useReferenceFixtures()             // in a describe: every REFERENCE_FIXTURES pair, built once per file
//   fixtures().forEach(({ family, variant, dir }) => …) // (call inside tests/hooks; the list is empty when torch is absent)
//   buildReferenceFixtures(root)                        // the same without vitest hooks: writes root/<family>-<variant>
//   makeScaledFolder('qwen3', QWEN3_0_6B_SHAPE, dir)     // a full-size random-init folder (BF16, streamed to disk)
//   referenceBench(dir, work)                           // float32 PyTorch timings and peak RSS on the same work
// Python: /usr/bin/python3 with torch (apt python3-torch), or CWB_REFERENCE_PYTHON. Script CLI: test/reference/README.md.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

export type Family = 'qwen2' | 'qwen3' | 'llama'
export type Variant = 'f32' | 'bf16-qknorm' | 'f16-sharded-llama3' | 'linear-rope'

/**
 * What each variant writes (config.json values common to all: vocab 300, hidden 64, 2 layers, 4 heads, 2 KV heads,
 * intermediate 96, 256 positions; qwen2 always has q/k/v biases, qwen3 always q_norm/k_norm):
 * - f32: one model.safetensors in F32, tied lm_head, no rope_scaling.
 * - bf16-qknorm: BF16, tied, head_dim 32 (not hidden/heads = 16).
 * - f16-sharded-llama3: F16 in two shards + model.safetensors.index.json, untied, rope_scaling llama3 (factor 8, low 1,
 *   high 4, original 64).
 * - linear-rope: F32, untied, rope_scaling {type: linear, factor 2}, rms_norm_eps 0.05; llama with attention_bias and
 *   mlp_bias, qwen3 with attention_bias.
 */
export const REFERENCE_FIXTURES: readonly { family: Family; variant: Variant }[] = [
  { family: 'qwen2', variant: 'f32' },
  { family: 'qwen3', variant: 'f32' },
  { family: 'llama', variant: 'f32' },
  { family: 'qwen3', variant: 'bf16-qknorm' },
  { family: 'llama', variant: 'bf16-qknorm' },
  { family: 'llama', variant: 'f16-sharded-llama3' },
  { family: 'qwen2', variant: 'f16-sharded-llama3' },
  { family: 'qwen2', variant: 'linear-rope' },
  { family: 'qwen3', variant: 'linear-rope' },
  { family: 'llama', variant: 'linear-rope' },
]

export interface ReferenceLine {
  prompt_ids: number[]
  response_ids: number[]
}

export interface ReferenceFixture {
  family: Family
  variant: Variant
  dir: string
}

/** The Python with torch; CWB_REFERENCE_PYTHON overrides it (e.g. a virtual environment, or a missing path to test skips). */
const PYTHON = process.env.CWB_REFERENCE_PYTHON || '/usr/bin/python3'
export const REFERENCE_SCRIPT = resolve(import.meta.dirname, '../reference/hf_families.py')

let availability: { reason: string | undefined } | undefined

/** undefined when /usr/bin/python3 can import torch, else why not (print it when skipping). */
export function torchAvailable(): string | undefined {
  if (availability) return availability.reason
  let reason: string | undefined
  if (!existsSync(PYTHON)) reason = `${PYTHON} is missing (install python3-torch with apt)`
  else {
    const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 60_000 })
    if (probe.error) reason = `${PYTHON} cannot run: ${probe.error.message}`
    else if (probe.status !== 0) {
      const last = probe.stderr.trim().split('\n').at(-1) ?? ''
      reason = `${PYTHON} cannot import torch (install python3-torch with apt): ${last}`
    }
  }
  availability = { reason }
  return reason
}

/** Runs the script with `args` (and `input` on stdin); its stdout, or an error carrying its stderr. */
function runReference(args: string[], input?: string, timeout = 120_000): string {
  const result = spawnSync(PYTHON, [REFERENCE_SCRIPT, ...args], {
    encoding: 'utf8',
    input,
    timeout,
    maxBuffer: 64 * 1024 * 1024,
  })
  if (result.error) throw new Error(`hf_families.py ${args[0]}: ${result.error.message}`)
  if (result.status !== 0) {
    throw new Error(`hf_families.py ${args.join(' ')} exited with ${result.status}: ${result.stderr.trim()}`)
  }
  return result.stdout
}

function jsonLines(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown)
}

/** Writes a tiny random-init HF folder of `family` in `variant` to `dir`. */
export function makeFamilyFolder(family: Family, variant: Variant, dir: string, seed = 0): void {
  runReference(['make', '--family', family, '--variant', variant, '--out', dir, '--seed', String(seed)])
}

/** Writes every REFERENCE_FIXTURES pair to root/<family>-<variant> in one Python run. */
export function buildReferenceFixtures(root: string, seed = 0): ReferenceFixture[] {
  return jsonLines(runReference(['fixtures', '--out', root, '--seed', String(seed)])) as ReferenceFixture[]
}

const linesInput = (lines: readonly ReferenceLine[]): string => lines.map((line) => JSON.stringify(line)).join('\n') + '\n'

function logprobsCommand(dir: string, lines: readonly ReferenceLine[], adapter?: string): number[][] {
  const args = ['logprobs', dir, '--input', '-', ...(adapter ? ['--adapter', adapter] : [])]
  const output = jsonLines(runReference(args, linesInput(lines))) as { logprobs: number[] }[]
  if (output.length !== lines.length) throw new Error(`hf_families.py logprobs: ${output.length} lines for ${lines.length}`)
  return output.map((line) => line.logprobs)
}

/** For each line, log p(response_ids[i] | prompt_ids + response_ids[..i]) from the float64 reference (no BOS added). */
export function referenceLogprobs(dir: string, lines: readonly ReferenceLine[]): number[][] {
  return logprobsCommand(dir, lines)
}

/** referenceLogprobs of the base in `dir` with the PEFT LoRA adapter in `adapter` merged in (W + alpha / r B A, float64). */
export function referenceAdapterLogprobs(dir: string, adapter: string, lines: readonly ReferenceLine[]): number[][] {
  return logprobsCommand(dir, lines, adapter)
}

/**
 * For each folder, the lines' logprobs computed as one left-padded batch and each line's alone (referenceLogprobs), from
 * one Python process; the script itself refuses a batch that differs from the lines alone by more than 1e-10.
 */
export function referenceBatchLogprobs(
  dirs: readonly string[],
  lines: readonly ReferenceLine[],
): { batched: number[][]; alone: number[][] }[] {
  const output = jsonLines(runReference(['batch-logprobs', ...dirs, '--input', '-'], linesInput(lines), 300_000)) as {
    logprobs: number[]
    alone: number[]
  }[]
  if (output.length !== dirs.length * lines.length)
    throw new Error(`hf_families.py batch-logprobs: ${output.length} lines for ${dirs.length * lines.length}`)
  return dirs.map((_, d) => {
    const rows = output.slice(d * lines.length, (d + 1) * lines.length)
    return { batched: rows.map((row) => row.logprobs), alone: rows.map((row) => row.alone) }
  })
}

/** The greedy continuation of `promptIds`: up to `maxNewTokens` ids, ending with the first generation_config eos id. */
export function referenceGreedy(dir: string, promptIds: readonly number[], maxNewTokens: number): number[] {
  const stdout = runReference(['greedy', dir, '--prompt-ids', promptIds.join(','), '--max-new-tokens', String(maxNewTokens)])
  return (jsonLines(stdout)[0] as { ids: number[] }).ids
}

/** The prompts the greedy comparisons decode from: a plain run, and one with a repeated id and a high id. */
export const GREEDY_PROMPTS: readonly (readonly number[])[] = [
  [1, 2, 3, 4],
  [250, 7, 7, 19, 42, 3],
]

export interface GreedyRequest {
  dir: string
  promptIds: readonly number[]
  maxNewTokens: number
}

/**
 * The greedy comparisons' cases: each folder with one of GREEDY_PROMPTS in turn (so each prompt meets every family),
 * and the f32 folders with both. Each case is a `cwb generate` process of about 2 s.
 */
export function greedyCases<T extends ReferenceFixture>(fixtures: readonly T[]): (T & GreedyRequest)[] {
  return fixtures.flatMap((fixture, i) =>
    GREEDY_PROMPTS.filter((_, p) => fixture.variant === 'f32' || p === i % GREEDY_PROMPTS.length).map((promptIds) => ({
      ...fixture,
      promptIds,
      maxNewTokens: 12,
    })),
  )
}

/** referenceGreedy for each request, in order, from one Python process (torch imported and each folder loaded once). */
export function referenceGreedyMany(requests: readonly GreedyRequest[]): number[][] {
  const input = requests
    .map(({ dir, promptIds, maxNewTokens }) => JSON.stringify({ dir, prompt_ids: promptIds, max_new_tokens: maxNewTokens }))
    .join('\n')
  const output = jsonLines(runReference(['greedy-many'], `${input}\n`, 300_000)) as { ids: number[] }[]
  if (output.length !== requests.length)
    throw new Error(`hf_families.py greedy-many: ${output.length} lines for ${requests.length}`)
  return output.map((line) => line.ids)
}

/** referenceLogprobs(dir, lines) for each folder, in order, from one Python process. */
export function referenceLogprobsMany(dirs: readonly string[], lines: readonly ReferenceLine[]): number[][][] {
  const input = dirs.flatMap((dir) => lines.map((line) => JSON.stringify({ dir, ...line }))).join('\n')
  const output = jsonLines(runReference(['logprobs-many'], `${input}\n`, 300_000)) as { logprobs: number[] }[]
  if (output.length !== dirs.length * lines.length)
    throw new Error(`hf_families.py logprobs-many: ${output.length} lines for ${dirs.length * lines.length}`)
  return dirs.map((_, d) => output.slice(d * lines.length, (d + 1) * lines.length).map((line) => line.logprobs))
}

/**
 * Registers beforeAll/afterAll hooks that build every REFERENCE_FIXTURES folder in a temporary directory once for the
 * calling test file (or describe) and remove it afterwards. Returns a getter for the folders, valid inside tests; the
 * list is empty when torchAvailable() gives a reason, so pair it with `it.skipIf(torchAvailable() !== undefined)`.
 */
export function useReferenceFixtures(seed = 0): () => ReferenceFixture[] {
  let root: string | undefined
  let fixtures: ReferenceFixture[] = []
  beforeAll(() => {
    if (torchAvailable() !== undefined) return
    root = mkdtempSync(join(tmpdir(), 'cwb-hf-reference-'))
    fixtures = buildReferenceFixtures(root, seed)
  }, 120_000)
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true })
  })
  return () => fixtures
}

/** A decoder's shape, as `make-scaled` takes it. */
export interface ScaledShape {
  hidden: number
  layers: number
  heads: number
  kvHeads: number
  headDim: number
  intermediate: number
  vocab: number
  maxPositions: number
}

/** Qwen3-0.6B's config.json shape (tied embeddings; qwen3 always has q/k norms). */
export const QWEN3_0_6B_SHAPE: ScaledShape = {
  hidden: 1024,
  layers: 28,
  heads: 16,
  kvHeads: 8,
  headDim: 128,
  intermediate: 3072,
  vocab: 151_936,
  maxPositions: 40_960,
}

/**
 * Writes a random-init folder of `family` in `shape` to `dir`, one tensor at a time (tied embeddings, BF16 unless
 * `dtype` says otherwise). Returns its parameter count and the bytes of its weights file.
 */
export function makeScaledFolder(
  family: Family,
  shape: ScaledShape,
  dir: string,
  dtype: 'BF16' | 'F32' | 'F16' = 'BF16',
): { parameters: number; bytes: number } {
  const flags = Object.entries(shape).flatMap(([key, value]) => [
    `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    String(value),
  ])
  const stdout = runReference(['make-scaled', '--family', family, '--out', dir, '--dtype', dtype, ...flags], undefined, 600_000)
  return jsonLines(stdout)[0] as { parameters: number; bytes: number }
}

/** The work `referenceBench` times; token ids are random, drawn in Python. */
export interface ReferenceBenchWork {
  rows: number
  promptLength: number
  newTokens: number
  /** Each log-prob row: `scoreLength` tokens, of which the last `responseLength` are scored. */
  scoreLength: number
  responseLength: number
  repeats: number
  threads: number
}

/** What `bench` reports: seconds (medians over the repeats) and peak resident memory of the Python process in MB. */
export interface ReferenceBenchResult {
  torch: string
  threads: number
  dtype: string
  /** How the projections multiply (see CachedModel in hf_families.py). */
  linear: string
  load_s: number
  rss_before_mb: number
  rss_after_load_mb: number
  rss_after_rollout_mb: number
  rss_peak_mb: number
  rollout_s: number
  rollout_tokens: number
  logprob_s: number
  logprob_tokens: number
}

/**
 * Float32 PyTorch on the folder: load time, sampling with a KV cache (temperature 1, no stop token), a log-prob pass
 * over the response tokens, and peak RSS after each.
 */
export function referenceBench(dir: string, work: ReferenceBenchWork, timeoutMs = 1_200_000): ReferenceBenchResult {
  const stdout = runReference(
    [
      'bench',
      dir,
      ...['--rows', work.rows, '--prompt-len', work.promptLength, '--new-tokens', work.newTokens],
      ...['--score-len', work.scoreLength, '--response-len', work.responseLength],
      ...['--repeats', work.repeats, '--threads', work.threads].map(String),
    ].map(String),
    undefined,
    timeoutMs,
  )
  return jsonLines(stdout)[0] as ReferenceBenchResult
}
