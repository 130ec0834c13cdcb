// Chooses the tfjs backend the engine computes on: tensorflow-gpu (@tensorflow/tfjs-node-gpu), then
// tensorflow (@tensorflow/tfjs-node), then wasm, then cpu; the first that loads and computes wins.
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import { reasonOf } from '../backends/probe'
import type { Importer } from '../backends/probe'

export const BACKEND_ORDER = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const
export type EngineBackend = (typeof BACKEND_ORDER)[number]

const loaders: Record<EngineBackend, { module?: string; tfName: string }> = {
  'tensorflow-gpu': { module: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
  tensorflow: { module: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  wasm: { module: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm' },
  cpu: { tfName: 'cpu' },
}

export interface BackendChoice {
  backend: EngineBackend
  /** Why each preferred backend before the chosen one was passed over. */
  skipped: { backend: EngineBackend; reason: string }[]
}

let current: Promise<BackendChoice> | undefined
const requireModule = createRequire(import.meta.url)

/**
 * Loads the best available backend, or exactly `wanted` (e.g. CWB_BACKEND=wasm for reproducible runs), once
 * per process: later calls return the first choice.
 */
export function useBackend(
  wanted: EngineBackend | 'auto' = (process.env.CWB_BACKEND as EngineBackend | undefined) ?? 'auto',
): Promise<BackendChoice> {
  current ??= chooseBackend(wanted)
  return current
}

/** Tries the backends in order of preference (or only `wanted`) and switches tfjs to the first that loads. */
export async function chooseBackend(
  wanted: EngineBackend | 'auto',
  // The backends are CommonJS: `require` loads them without Node's scan of their sources for export names (0.1 s).
  importer: Importer = async (specifier) => requireModule(specifier) as unknown,
): Promise<BackendChoice> {
  const order = wanted === 'auto' ? BACKEND_ORDER : [wanted]
  const skipped: BackendChoice['skipped'] = []
  for (const backend of order) {
    const loader = loaders[backend]
    try {
      if (!loader) throw new Error(`unknown backend ${backend}; choose one of ${BACKEND_ORDER.join(', ')}`)
      if (loader.module) await importer(loader.module)
      if (!(await tf.setBackend(loader.tfName))) throw new Error(`tf.setBackend('${loader.tfName}') failed`)
      await tf.ready()
      return { backend, skipped }
    } catch (error) {
      skipped.push({ backend, reason: reasonOf(error) })
    }
  }
  throw new Error(`No tfjs backend could be loaded: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`)
}
