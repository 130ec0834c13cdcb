// How many threads a run's native kernels may use: CWB_THREADS (which `cwb train --threads N` and `cwb demo` set for
// their trainer processes), so two runs can share the machine. Unset, onnxruntime gets every physical core, named
// explicitly: left to itself it ran as if on one core on a 2-core Linux machine (the same work took as long as with
// 1 thread and 1.6x as long as with 2). tfjs's wasm backend runs on one thread either way.
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

export function engineThreads(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.CWB_THREADS
  if (text === undefined || text.trim() === '') return undefined
  const threads = Number(text)
  if (!Number.isSafeInteger(threads) || threads < 1)
    throw new Error(`CWB_THREADS=${text} is not a whole number of at least 1; unset it to use every core`)
  return threads
}

/**
 * Physical cores in a /proc/cpuinfo text: distinct (physical id, core id) pairs, so SMT siblings count once as
 * onnxruntime counts them. Undefined when the text does not say (other platforms, some virtual machines).
 */
export function physicalCores(cpuinfo: string): number | undefined {
  const cores = new Set<string>()
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1]
    if (core === undefined) continue
    cores.add(`${/^physical id\s*:\s*(\d+)/m.exec(block)?.[1] ?? 0}:${core}`)
  }
  return cores.size > 0 ? cores.size : undefined
}

let counted: number | undefined

/**
 * The cores onnxruntime uses when CWB_THREADS is unset: physical cores (Linux), at most the CPUs this process may use.
 * Counted once per process (every session open asks).
 */
export function defaultThreads(): number {
  if (counted !== undefined) return counted
  const usable = availableParallelism()
  let physical: number | undefined
  try {
    physical = physicalCores(readFileSync('/proc/cpuinfo', 'utf8'))
  } catch {
    // Not Linux: every CPU this process may use.
  }
  counted = Math.max(1, Math.min(usable, physical ?? usable))
  return counted
}

export interface SessionThreads {
  intraOpNumThreads: number
  interOpNumThreads: number
}

/** onnxruntime session options: CWB_THREADS's cap, else every physical core (see the note at the top). */
export function sessionThreads(env: NodeJS.ProcessEnv = process.env): SessionThreads {
  return { intraOpNumThreads: engineThreads(env) ?? defaultThreads(), interOpNumThreads: 1 }
}

/**
 * Below this many parameters a decode step (one token per row) is so little work that a second thread costs more
 * than it brings. Measured here (2 cores): the demo model (0.9M) and the tiny qwen3 test folder (0.1M) sampled
 * 10-30% faster on one thread, while a 6M-parameter qwen3 shape decoded 1.5x faster on two and Qwen3-0.6B's 1.6x.
 */
export const ONE_THREAD_DECODE_PARAMETERS = 2_000_000

/** The options of a model's fixed-capacity decode session: one thread for a tiny model, else sessionThreads. */
export function decodeSessionThreads(parameters: number, env: NodeJS.ProcessEnv = process.env): SessionThreads {
  return parameters < ONE_THREAD_DECODE_PARAMETERS ? { intraOpNumThreads: 1, interOpNumThreads: 1 } : sessionThreads(env)
}
