import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { resolveCheckpoint } from '../engine/checkpoint/resolve'
import { packageRoot } from '../package-root'
import { checkpointFromStore } from '../store/checkpoint-spec'
import { openWorkspaceStore, type WorkspaceOptions } from './workspace-option'

/** The base model the workbench ships (resources/base-model), the default starting checkpoint. */
export function shippedBaseModel(): string {
  return join(packageRoot(), 'resources', 'base-model')
}

/** A checkpoint named by folder or RUN:STEP; the workspace is opened only when a run must be looked up. */
export function checkpointFolder(spec: string | undefined, options: WorkspaceOptions): string {
  if (spec === undefined) return shippedBaseModel()
  if (existsSync(spec))
    return resolveCheckpoint(
      spec,
      () => undefined,
      () => undefined,
    )
  const { store } = openWorkspaceStore(options)
  try {
    return checkpointFromStore(store.db, spec)
  } finally {
    store.close()
  }
}
