import { existsSync } from 'node:fs'
import { Option } from 'commander'
import { looksLikeHubId, resolveHubModel } from '../engine/checkpoint/hub-cache'
import { resolveCheckpoint } from '../engine/checkpoint/resolve'
import { shippedBaseModel } from '../package-root'
import { checkpointFromStore } from '../services/checkpoint-spec'
import { openWorkspaceStore } from './workspace-option'
import type { WorkspaceOptions } from './workspace-option'

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

/**
 * A model named by folder, Hugging Face hub id (ORG/NAME, found in the local hub cache only) or RUN:STEP.
 * A folder wins over the other readings.
 */
export function modelFolder(spec: string | undefined, options: WorkspaceOptions): string {
  if (spec !== undefined && !existsSync(spec) && looksLikeHubId(spec)) return resolveHubModel(spec)
  return checkpointFolder(spec, options)
}

/** --base DIR: the base model of a LoRA adapter checkpoint, when it moved from where the adapter says it is. */
export const baseOption = (): Option =>
  new Option('--base <dir>', "a LoRA checkpoint's base model folder (or cached hub id), when it is not where the adapter says")
