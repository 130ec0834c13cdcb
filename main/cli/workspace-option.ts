import { Option } from 'commander'
import type { Command } from 'commander'
import { demoWanted, openWorkspace } from '../services/open-workspace'
import type { Store } from '../store/store'

export interface WorkspaceOptions {
  workspace?: string
  /** false with --no-demo */
  demo?: boolean
}

export function withWorkspace(command: Command): Command {
  return command
    .addOption(new Option('--workspace <dir>', 'workspace folder (default: $CWB_WORKSPACE, else the per-user data folder)'))
    .addOption(new Option('--no-demo', 'create a new workspace bare, without the demo dataset and base model (also CWB_DEMO=0)'))
}

/** Opens (creating if needed) the workspace's run store for a CLI command. */
export function openWorkspaceStore(options: WorkspaceOptions): { dir: string; store: Store } {
  return openWorkspace(options.workspace, demoWanted(options.demo))
}
