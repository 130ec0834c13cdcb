// Hugging Face folders through the built CLI, for the integration tests that compare them with the float64 reference:
//
//   cliLogprobs(dir, LINES, ['--engine', 'onnx'], env)   // number[][]: `cwb logprobs` per line (throws on a non-zero exit)
//   maxDiff(a, b)                                        // the largest |a - b| over rows of the same lengths
//   cliGreedy(dir, [1, 2, 3], { engine, maxNewTokens })  // greedy `cwb generate --prompt-ids` (a string: --prompt)
//   cliTrain(workspace, base, { name, mode, lora })      // a finished 2-step `cwb train` (LoRA CLI_LORA by default)
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { cwb, lastJson } from './cli'
import type { ReferenceLine } from './reference'

/** Prompt and response ids of several lengths (a 12-token prompt, a 1-token response), all below vocab 300. */
export const LINES: ReferenceLine[] = [
  { prompt_ids: [1, 2, 3, 4, 5], response_ids: [10, 20, 30] },
  { prompt_ids: [7], response_ids: [299, 0, 5, 6, 8, 100, 42] },
  { prompt_ids: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22], response_ids: [250] },
  { prompt_ids: [3, 1, 4, 1, 5, 9, 2, 6], response_ids: [5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4] },
]

export const jsonl = (lines: readonly object[]): string => lines.map((line) => JSON.stringify(line)).join('\n') + '\n'

/** `cwb logprobs model --input - ...extra` on `lines`: each line's logprobs (one output line per input line). */
export function cliLogprobs(
  model: string,
  lines: readonly object[],
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): number[][] {
  const result = cwb(['logprobs', model, '--input', '-', ...extra], env, jsonl(lines))
  if (result.code !== 0) throw new Error(`cwb logprobs exited ${result.code}: ${result.stderr}`)
  const out = result.stdout.trimEnd().split('\n')
  expect(out).toHaveLength(lines.length)
  return out.map((line) => (JSON.parse(line) as { logprobs: number[] }).logprobs)
}

/** The largest absolute difference between `a` and `b`, after checking that their rows have the same lengths. */
export function maxDiff(a: number[][], b: number[][]): number {
  expect(a.map((row) => row.length)).toEqual(b.map((row) => row.length))
  return Math.max(...a.flatMap((row, r) => row.map((value, i) => Math.abs(value - b[r]![i]!))))
}

export interface Completion {
  ids: number[]
  text: string
  answer: string
  tokens: number
  finished: boolean
}

/**
 * Greedy `cwb generate --checkpoint model --json` of one prompt: ids (--prompt-ids) or text (--prompt), up to
 * maxNewTokens (default 12) new tokens, with --engine when given. Its one completion; throws on a non-zero exit.
 */
export function cliGreedy(
  model: string,
  prompt: readonly number[] | string,
  options: { engine?: string; maxNewTokens?: number } = {},
): Completion {
  const { engine, maxNewTokens = 12 } = options
  const promptArgs = typeof prompt === 'string' ? ['--prompt', prompt] : ['--prompt-ids', prompt.join(',')]
  const args = ['generate', '--checkpoint', model, ...promptArgs, '--temperature', '0']
  const result = cwb([...args, '--max-new-tokens', String(maxNewTokens), ...(engine ? ['--engine', engine] : []), '--json'])
  if (result.code !== 0) throw new Error(`cwb generate exited ${result.code}: ${result.stderr}`)
  return lastJson<{ completions: Completion[] }>(result.stdout).completions[0]!
}

/** The LoRA block of the CLI's LoRA runs: rank 4, alpha 8 on every linear projection. */
export const CLI_LORA = {
  rank: 4,
  alpha: 8,
  target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
}

export interface CliTrainOptions {
  /** The run's name, and its config file's (default "lora"). */
  name?: string
  /** The reward mode whose printed defaults the run starts from (default "entropy"). */
  mode?: string
  /** The run's "lora" block (default CLI_LORA; null: full fine-tuning). */
  lora?: object | null
  /** Where the config file `name`.json goes (default the workspace; created if missing). */
  configDir?: string
}

/**
 * `cwb train` (demo mode off) in `workspace` of a 2-step run of `mode`'s printed defaults, with small lengths and
 * batch, from `base`; fails the test unless it finishes its 2 steps.
 */
export function cliTrain(workspace: string, base: string, options: CliTrainOptions = {}): void {
  const { name = 'lora', mode = 'entropy', lora = CLI_LORA, configDir = workspace } = options
  const printed = cwb(['train', '--print-config', mode])
  expect(printed.code).toBe(0)
  const config = {
    ...JSON.parse(printed.stdout),
    name,
    checkpoint: base,
    steps: 2,
    batch_size: 2,
    rollouts: 2,
    max_prompt_tokens: 240,
    max_response_tokens: 8,
    learning_rate: 1e-2,
    checkpoint_every: 1,
    validation: { every: 10, questions: 2 },
    lora,
  }
  const file = join(configDir, `${name}.json`)
  mkdirSync(configDir, { recursive: true })
  writeFileSync(file, JSON.stringify(config))
  const result = cwb(['train', '--config', file, '--workspace', workspace, '--json'], { CWB_DEMO: '' })
  expect(result.stderr).not.toContain('failed')
  expect(result.code, result.stderr).toBe(0)
  expect(lastJson(result.stdout)).toMatchObject({ status: 'finished', steps: 2 })
}
