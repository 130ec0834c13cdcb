// When a running run counts as stalled rather than slow: a rule on plain values, kept beside the run summaries
// that report it.
import type { RunStatus } from './runs'

/** How a stalled run is told apart from a slow one: no activity for this many median steps, ... */
export const STALL_STEPS = 4
/** ... but never less than this many seconds, ... */
export const STALL_FLOOR_SECONDS = 15
/** ... and before the first step (start-up, the step-0 validation) this many seconds. */
export const STALL_FRESH_SECONDS = 120

/**
 * Whether a running run is stalled: its trainer has reported no phase or step for longer than STALL_STEPS times
 * its median step time (at least STALL_FLOOR_SECONDS; STALL_FRESH_SECONDS while it has no median yet).
 */
export function isStalled(
  run: { status: RunStatus; activityAt: string | null; medianStepSeconds: number | null },
  now: number = Date.now(),
): boolean {
  if (run.status !== 'running' || run.activityAt === null) return false
  const limit =
    run.medianStepSeconds === null ? STALL_FRESH_SECONDS : Math.max(STALL_STEPS * run.medianStepSeconds, STALL_FLOOR_SECONDS)
  return (now - Date.parse(run.activityAt)) / 1000 > limit
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
