// The checkpoint handlers of the API contract, shared with `cwb checkpoints` and `cwb diff` through their modules:
// the table of a run's checkpoints (table.ts), one checkpoint in detail (detail.ts, inspect.ts), weight statistics
// and deltas (weights.ts), the behaviour diff (behaviour.ts) and the actions (actions.ts).
import type { EventName, EventPayload } from '../../../preload/contract'
import type { Store } from '../../store/store'
import type { Handlers } from '../dispatch'
import { JobRegistry } from '../jobs'
import { branchCheckpoint, changeTags, deleteCheckpoint, evaluateCheckpoint, exportCheckpointOnnx, exportHf } from './actions'
import { runBehaviourDiff } from './behaviour'
import { checkpointDetail, folderDetail } from './detail'
import { resolveCheckpointRef } from './ref'
import { checkpointTable } from './table'
import { weightDelta, WeightsWorker, weightStats } from './weights'

export type CheckpointHandlers = Pick<
  Handlers,
  | 'checkpoints.overview'
  | 'checkpoints.get'
  | 'checkpoints.openFolder'
  | 'checkpoints.stats'
  | 'checkpoints.delta'
  | 'checkpoints.diff'
  | 'checkpoints.evaluate'
  | 'checkpoints.exportOnnx'
  | 'checkpoints.exportHf'
  | 'checkpoints.branch'
  | 'checkpoints.delete'
  | 'checkpoints.tag'
>

export interface CheckpointServiceContext {
  store: Store
  workspace: string
  emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void
  /** Starts queued runs now (the host's scheduler), after a branch is queued. */
  fillQueue: () => void
  /** The host's job registry, shared so `jobs.cancel` reaches these jobs too (a private one otherwise). */
  jobs?: JobRegistry
}

export function checkpointHandlers(ctx: CheckpointServiceContext): CheckpointHandlers {
  const { db } = ctx.store
  const jobs = ctx.jobs ?? new JobRegistry((payload) => ctx.emit('job.progress', payload))
  const worker = new WeightsWorker()
  return {
    'checkpoints.overview': ({ run }) => checkpointTable(db, run),
    'checkpoints.get': ({ checkpoint }) => checkpointDetail(db, resolveCheckpointRef(db, checkpoint)),
    'checkpoints.openFolder': ({ path }) => folderDetail(db, path),
    'checkpoints.stats': ({ checkpoint, weights }) => weightStats(db, worker, checkpoint, weights),
    'checkpoints.delta': ({ checkpoint, against }) => weightDelta(db, worker, checkpoint, against),
    'checkpoints.diff': ({ job, ...params }) =>
      jobs.run(job, 'diff', (running) =>
        runBehaviourDiff(db, params, {
          signal: running.signal,
          onProgress: (stage, done, total) => running.progress(stage, done, total),
        }),
      ),
    'checkpoints.evaluate': ({ job, ...params }) =>
      jobs.run(job, 'evaluate', (running) => evaluateCheckpoint(db, params, running)),
    'checkpoints.exportOnnx': (params) => exportCheckpointOnnx(db, ctx.workspace, params),
    'checkpoints.exportHf': (params) => exportHf(db, params),
    'checkpoints.branch': (params) => branchCheckpoint(db, params, ctx.fillQueue),
    'checkpoints.delete': ({ checkpoint, force }) => deleteCheckpoint(db, ctx.workspace, checkpoint, force),
    'checkpoints.tag': ({ checkpoint, add, remove }) => changeTags(db, checkpoint, add, remove),
  }
}
