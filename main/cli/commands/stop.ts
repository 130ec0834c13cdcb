import { Command } from 'commander'
import { hostname } from 'node:os'
import { getRun, requestStop } from '../../store/runs'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

export function stopCommand(): Command {
  return withWorkspace(new Command('stop'))
    .description('stop a running run after its current step (with a checkpoint), or --kill it at once')
    .argument('<run>', 'run id or name')
    .option('--kill', 'end the trainer process immediately (the step in progress is lost)')
    .action((spec: string, options: WorkspaceOptions & { kill?: boolean }) => {
      const { store } = openWorkspaceStore(options)
      try {
        const run = getRun(store.db, spec)
        if (!run) throw new Error(`No run "${spec}" in this workspace; \`cwb runs\` lists them`)
        if (options.kill) {
          if (!run.trainerPid || run.trainerHost !== hostname()) {
            throw new Error(`Run ${run.id} has no trainer process on this machine to kill (status ${run.status})`)
          }
          process.kill(run.trainerPid, 'SIGKILL')
          process.stdout.write(`Killed the trainer of run ${run.id} (process ${run.trainerPid}).\n`)
          return
        }
        const status = requestStop(store.db, run.id)
        process.stdout.write(`Run ${run.id} is ${status}: its trainer stops after the current step.\n`)
      } finally {
        store.close()
      }
    })
}
