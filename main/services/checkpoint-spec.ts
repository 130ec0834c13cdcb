// Naming a checkpoint as users type it: a folder, or RUN:STEP looked up in the run store.
import { existsSync } from 'node:fs'
import { looksLikeHubId, resolveHubModel } from '../engine/checkpoint/hub-cache'
import { resolveCheckpoint } from '../engine/checkpoint/resolve'
import { checkpointAtStep, listRunCheckpoints } from '../store/checkpoints'
import type { Db } from '../store/database'
import { getRun } from '../store/runs'

/** The folder a checkpoint spec names, looking RUN:STEP up in this store; ORG/NAME is a model in the local hub cache. */
export function checkpointFromStore(db: Db, spec: string): string {
  if (!existsSync(spec) && looksLikeHubId(spec)) return resolveHubModel(spec)
  return resolveCheckpoint(
    spec,
    (run, step) => {
      const found = getRun(db, run)
      return found ? checkpointAtStep(db, found.id, step)?.path : undefined
    },
    (run) => {
      const found = getRun(db, run)
      return found ? listRunCheckpoints(db, found.id).map((c) => c.step) : undefined
    },
  )
}
