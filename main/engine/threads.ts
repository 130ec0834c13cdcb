// How many threads a run's native kernels may use: CWB_THREADS (which `cwb train --threads N` and `cwb demo` set for
// their trainer processes), so two runs can share the machine. Unset, onnxruntime uses every core. tfjs's wasm
// backend runs on one thread either way.
export function engineThreads(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.CWB_THREADS
  if (text === undefined || text.trim() === '') return undefined
  const threads = Number(text)
  if (!Number.isSafeInteger(threads) || threads < 1)
    throw new Error(`CWB_THREADS=${text} is not a whole number of at least 1; unset it to use every core`)
  return threads
}

/** onnxruntime session options that keep a session within CWB_THREADS (none when it is unset). */
export function sessionThreads(env: NodeJS.ProcessEnv = process.env): { intraOpNumThreads?: number; interOpNumThreads?: number } {
  const threads = engineThreads(env)
  return threads === undefined ? {} : { intraOpNumThreads: threads, interOpNumThreads: 1 }
}
