// A run's memory plan on the backend its trainer will use (the one this process picks, as the trainer process picks
// the same on this machine): shown before launch and checked by it, so a run that cannot fit is refused with the
// numbers and what to change instead of failing part-way.
import { useBackend } from '../engine/backend'
import { backendMemoryLimit, planCheckpoint } from '../engine/memory-plan'
import type { MemoryPlan, PlanRun } from '../engine/memory-plan'

/** The plan of a run from the checkpoint in `folder`, with the GPU backend offered as advice where it is not in use. */
export async function runPlan(folder: string, run: PlanRun): Promise<MemoryPlan> {
  const { backend } = await useBackend()
  const alternatives =
    backend === 'tensorflow-gpu' ? [] : [{ name: 'tensorflow-gpu', limitBytes: backendMemoryLimit('tensorflow-gpu') }]
  return planCheckpoint(folder, run, { name: backend, limitBytes: backendMemoryLimit(backend) }, { alternatives })
}
