import { Option, type Command } from 'commander'
import { Store } from '../store/store'
import { prepareWorkspace, resolveWorkspace } from '../store/workspace'

export interface WorkspaceOptions {
  workspace?: string
}

export function withWorkspace(command: Command): Command {
  return command.addOption(
    new Option('--workspace <dir>', 'workspace folder (default: $CWB_WORKSPACE, else the per-user data folder)'),
  )
}

/** Opens (creating if needed) the workspace's run store for a CLI command. */
export function openWorkspaceStore(options: WorkspaceOptions): { dir: string; store: Store } {
  const { dir, database } = prepareWorkspace(resolveWorkspace(options.workspace))
  return { dir, store: new Store(database) }
}
