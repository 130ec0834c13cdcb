import { Command, Option } from 'commander'
import { RUN_LOG_FORMATS } from '../../../preload/contract'
import { rewardModeIds } from '../../engine/rewards'
import { UsageError } from '../errors'
import { integerOption } from '../parse'
import { printJson, progress } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface ImportLogCliOptions extends WorkspaceOptions {
  name?: string
  run?: number
  format: string
  mode?: string
  follow?: boolean
  interval: number
  json?: boolean
}

export function importLogCommand(): Command {
  return withWorkspace(new Command('import-log'))
    .description('import a run trained elsewhere: a verl console log, a verl rollout dump folder, or a TRL trainer_state.json')
    .argument('<path>', 'the log file, dump folder or trainer_state.json')
    .option('--name <name>', 'name of the new run (default: the file name)')
    .addOption(new Option('--run <id>', 'add this source to an existing run').argParser(integerOption('--run', 1)))
    .addOption(new Option('--format <format>', 'what PATH holds').choices(['auto', ...RUN_LOG_FORMATS]).default('auto'))
    .addOption(
      new Option('--mode <mode>', 'reward mode of a new run (default: read from the metric keys)').choices(rewardModeIds()),
    )
    .option('--follow', 'keep reading what is appended; one JSON line per append (Ctrl-C ends)')
    .addOption(
      new Option('--interval <ms>', 'how often --follow looks for new data')
        .default(1000)
        .argParser(integerOption('--interval', 50)),
    )
    .option('--json', 'print {"run", "steps", "metrics", "new_steps"} as the last stdout line')
    .action(async (path: string, options: ImportLogCliOptions) => {
      if (options.name !== undefined && options.run !== undefined)
        throw new UsageError('give --name (a new run) or --run ID (an existing run), not both')
      const { importLog } = await import('../../data/external/import-log')
      const { store } = openWorkspaceStore(options)
      const line = (r: { run: number; steps: number; metrics: number; newSteps: number }): string =>
        JSON.stringify({ run: r.run, steps: r.steps, metrics: r.metrics, new_steps: r.newSteps })
      try {
        const first = importLog(store.db, {
          path,
          format: options.format as never,
          name: options.name,
          run: options.run,
          mode: options.mode,
          allowEmpty: options.follow, // a followed log may not have reached its first step yet
        })
        progress(
          `${first.created ? 'Created' : 'Updated'} run ${first.run}: ${first.newSteps} new steps (${first.steps} steps, ${first.metrics} metric keys)`,
        )
        if (!options.follow) {
          if (options.json) printJson(JSON.parse(line(first)))
          else process.stdout.write(`Run ${first.run}: ${first.steps} steps, ${first.metrics} metric keys.\n`)
          return
        }
        process.stdout.write(`${line(first)}\n`)
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            clearInterval(timer)
            process.off('SIGINT', stop)
            process.off('SIGTERM', stop)
            resolve()
          }
          const timer = setInterval(() => {
            try {
              const next = importLog(store.db, { path, format: options.format as never, run: first.run })
              if (next.readSteps > 0) process.stdout.write(`${line(next)}\n`)
            } catch (error) {
              progress(`import-log: ${(error as Error).message}`)
            }
          }, options.interval)
          process.on('SIGINT', stop)
          process.on('SIGTERM', stop)
        })
      } finally {
        store.close()
      }
    })
}
