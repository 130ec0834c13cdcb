// The float64 PyTorch oracle for Hugging Face qwen2 / qwen3 / llama folders (test/reference/hf_families.py), for tests.
//
//   const skip = torchAvailable()                       // undefined when usable, else the reason to print in a skip
//   makeFamilyFolder('qwen3', 'bf16-qknorm', dir)       // a tiny random-init HF folder (config, safetensors, tokenizer)
//   referenceLogprobs(dir, [{ prompt_ids, response_ids }])      // number[][]: log p(response token | all before), float64
//   referenceBatchLogprobs(dir, lines)                  // the same, run as one left-padded batch (self-checked vs single)
//   referenceGreedy(dir, promptIds, maxNewTokens)       // number[]: greedy ids, stops after a generation_config eos id
//   const fixtures = useReferenceFixtures()             // in a describe: every REFERENCE_FIXTURES pair, built once per file
//   fixtures().forEach(({ family, variant, dir }) => …) // (call inside tests/hooks; the list is empty when torch is absent)
//   buildReferenceFixtures(root)                        // the same without vitest hooks: writes root/<family>-<variant>
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
function runReference(args: string[], input?: string): string {
  const result = spawnSync(PYTHON, [REFERENCE_SCRIPT, ...args], {
    encoding: 'utf8',
    input,
    timeout: 120_000,
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

function logprobsCommand(command: string, dir: string, lines: readonly ReferenceLine[]): number[][] {
  const input = lines.map((line) => JSON.stringify(line)).join('\n') + '\n'
  const output = jsonLines(runReference([command, dir, '--input', '-'], input)) as { logprobs: number[] }[]
  if (output.length !== lines.length) throw new Error(`hf_families.py ${command}: ${output.length} lines for ${lines.length}`)
  return output.map((line) => line.logprobs)
}

/** For each line, log p(response_ids[i] | prompt_ids + response_ids[..i]) from the float64 reference (no BOS added). */
export function referenceLogprobs(dir: string, lines: readonly ReferenceLine[]): number[][] {
  return logprobsCommand('logprobs', dir, lines)
}

/** The same numbers, computed as one left-padded batch (the script checks them against referenceLogprobs to 1e-10). */
export function referenceBatchLogprobs(dir: string, lines: readonly ReferenceLine[]): number[][] {
  return logprobsCommand('batch-logprobs', dir, lines)
}

/** The greedy continuation of `promptIds`: up to `maxNewTokens` ids, ending with the first generation_config eos id. */
export function referenceGreedy(dir: string, promptIds: readonly number[], maxNewTokens: number): number[] {
  const stdout = runReference(['greedy', dir, '--prompt-ids', promptIds.join(','), '--max-new-tokens', String(maxNewTokens)])
  return (jsonLines(stdout)[0] as { ids: number[] }).ids
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
