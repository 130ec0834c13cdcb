import { join } from 'node:path'
import { resolveCheckpoint } from '../engine/checkpoint/resolve'
import { packageRoot } from '../package-root'
import type { Store } from '../store/store'
import { openWorkspaceStore, type WorkspaceOptions } from './workspace-option'

/** The base model the workbench ships (resources/base-model), the default starting checkpoint. */
export function shippedBaseModel(): string {
  return join(packageRoot(), 'resources', 'base-model')
}

/** A checkpoint named by folder or RUN:STEP; the workspace is opened only when a run must be looked up. */
export function checkpointFolder(spec: string | undefined, options: WorkspaceOptions): string {
  if (spec === undefined) return shippedBaseModel()
  let store: Store | undefined
  const opened = (): Store => (store ??= openWorkspaceStore(options).store)
  try {
    return resolveCheckpoint(
      spec,
      (run, step) => {
        const found = opened().findRun(run)
        return found ? opened().checkpointPath(found.id, step) : undefined
      },
      (run) => {
        const found = opened().findRun(run)
        return found ? opened().checkpointSteps(found.id) : undefined
      },
    )
  } finally {
    store?.close()
  }
}
