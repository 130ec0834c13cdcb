import { Command } from 'commander'
import { percentText } from '../../services/results'
import { deleteRunWithData } from '../../services/runs-service'
import { getRun, runStatuses } from '../../store/runs'
import { printJson, table } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

type RunsOptions = WorkspaceOptions & { json?: boolean }

export function runsCommand(): Command {
  return withWorkspace(new Command('runs'))
    .description('list the runs in the workspace, newest first; `runs delete RUN` deletes one')
    .option('--json', 'print {"runs": [...]} as the last stdout line')
    .addCommand(runsDeleteCommand())
    .action((options: RunsOptions) => {
      const { dir, store } = openWorkspaceStore(options)
      try {
        const runs = store.listRuns()
        if (options.json) return printJson({ workspace: dir, runs })
        if (runs.length === 0) {
          process.stdout.write(`No runs yet in ${dir}.\n`)
          return
        }
        const rows = runs.map((run) => [
          String(run.id),
          run.name,
          run.mode,
          run.status,
          String(run.steps),
          run.heldOut === null ? '-' : `${percentText(run.heldOut)} @${run.heldOutStep}`,
          run.reward === null ? '-' : String(+run.reward.toFixed(3)),
          run.createdAt,
        ])
        const header = ['ID', 'NAME', 'MODE', 'STATUS', 'STEPS', 'HELD-OUT', 'REWARD', 'CREATED']
        process.stdout.write(`${table([header, ...rows])}\n`)
      } finally {
        store.close()
      }
    })
}

function runsDeleteCommand(): Command {
  return withWorkspace(new Command('delete'))
    .description(
      'delete a run with its metrics, samples, events, checkpoints and folder; refused while it is queued, running or stopping',
    )
    .argument('<run>', 'run id or name')
    .option('--json', 'print {"run": ID, "name": NAME, "freedBytes": N} as the last stdout line')
    .action((spec: string, _options: RunsOptions, command: Command) => {
      // `runs` takes the options it shares with `delete` wherever they stand, so they are read with its own.
      const options = command.optsWithGlobals<RunsOptions>()
      const { dir, store } = openWorkspaceStore(options)
      try {
        const run = getRun(store.db, spec)
        if (!run) throw new Error(`No run "${spec}" in ${dir}; \`cwb runs\` lists them.`)
        // A name picks the newest run of that name: too loose a pick for deleting when several share it.
        const named = runStatuses(store.db)
          .filter((other) => other.name === spec)
          .map((other) => other.id)
          .sort((a, b) => a - b)
        if (named.length > 1 && String(run.id) !== spec) {
          throw new Error(`${named.length} runs are named "${spec}" (ids ${named.join(', ')}); pass the id of the one to delete.`)
        }
        const { freedBytes } = deleteRunWithData({ store, workspace: dir }, run.id)
        if (options.json) return printJson({ run: run.id, name: run.name, freedBytes })
        process.stdout.write(`Deleted run ${run.id} "${run.name}" with its data (${freedBytes} bytes freed).\n`)
      } finally {
        store.close()
      }
    })
}
