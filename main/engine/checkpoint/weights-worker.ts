// The worker thread that computes weight statistics and deltas (built as out/main/weights-worker.js): reading and
// summing a model's tensors takes seconds for large files, and the host's event loop must keep serving the UI.
import { parentPort, workerData } from 'node:worker_threads'
import { fileDelta, fileStats } from './stats'
import type { WeightDelta, WeightStats } from './stats'

export type WeightsRequest = { kind: 'stats'; file: string } | { kind: 'delta'; file: string; against: string }
export type WeightsReply = { ok: true; result: WeightStats | WeightDelta } | { ok: false; error: string }

function compute(request: WeightsRequest): WeightsReply {
  try {
    return { ok: true, result: request.kind === 'stats' ? fileStats(request.file) : fileDelta(request.file, request.against) }
  } catch (error) {
    return { ok: false, error: (error as Error).message ?? String(error) }
  }
}

parentPort?.postMessage(compute(workerData as WeightsRequest))
