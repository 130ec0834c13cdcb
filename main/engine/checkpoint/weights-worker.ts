// The worker thread that computes weight statistics and deltas (built as out/main/weights-worker.js): reading and
// summing a model's tensors takes seconds for large files, and the host's event loop must keep serving the UI.
import { parentPort, workerData } from 'node:worker_threads'
import { adapterStats, sourceDelta, sourceStats } from './stats'
import type { AdapterStats, WeightDelta, WeightSource, WeightStats } from './stats'

/**
 * `stats` of a source; for a LoRA adapter, the statistics of its own tensors (A and B) and its adapter statistics.
 * `delta` from source `against` to `source`.
 */
export type WeightsRequest =
  { kind: 'stats'; source: WeightSource } | { kind: 'delta'; source: WeightSource; against: WeightSource }
export type WeightsResult = (WeightStats & { adapter?: AdapterStats }) | WeightDelta
export type WeightsReply = { ok: true; result: WeightsResult } | { ok: false; error: string }

export function computeWeights(request: WeightsRequest): WeightsResult {
  if (request.kind === 'delta') return sourceDelta(request.source, request.against)
  const { source } = request
  if (source.kind !== 'adapter') return sourceStats(source)
  return { ...sourceStats({ kind: 'file', file: source.file }), adapter: adapterStats(source) }
}

function compute(request: WeightsRequest): WeightsReply {
  try {
    return { ok: true, result: computeWeights(request) }
  } catch (error) {
    return { ok: false, error: (error as Error).message ?? String(error) }
  }
}

if (parentPort) parentPort.postMessage(compute(workerData as WeightsRequest))
