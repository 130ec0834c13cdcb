// Naming a checkpoint as users type it (a folder, or RUN:STEP looked up in the run store).
import { resolveCheckpoint } from '../engine/checkpoint/resolve'
import type { Db } from './database'
import { getRun, listRunCheckpoints } from './runs'

/** The folder a checkpoint spec names, looking RUN:STEP up in this store. */
export function checkpointFromStore(db: Db, spec: string): string {
  return resolveCheckpoint(
    spec,
    (run, step) => {
      const found = getRun(db, run)
      return found ? listRunCheckpoints(db, found.id).find((c) => c.step === step)?.path : undefined
    },
    (run) => {
      const found = getRun(db, run)
      return found ? listRunCheckpoints(db, found.id).map((c) => c.step) : undefined
    },
  )
}
