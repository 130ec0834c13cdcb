import { Command } from 'commander'
import { printJson, table } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

export function runsCommand(): Command {
  return withWorkspace(new Command('runs'))
    .description('list the runs in the workspace, newest first')
    .option('--json', 'print {"runs": [...]} as the last stdout line')
    .action((options: WorkspaceOptions & { json?: boolean }) => {
      const { dir, store } = openWorkspaceStore(options)
      try {
        const runs = store.listRuns()
        if (options.json) return printJson({ workspace: dir, runs })
        if (runs.length === 0) {
          process.stdout.write(`No runs yet in ${dir}.\n`)
          return
        }
        const rows = runs.map((run) => [String(run.id), run.name, run.mode, run.status, String(run.steps), run.createdAt])
        process.stdout.write(`${table([['ID', 'NAME', 'MODE', 'STATUS', 'STEPS', 'CREATED'], ...rows])}\n`)
      } finally {
        store.close()
      }
    })
}
