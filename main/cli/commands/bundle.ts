import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { BUNDLE_CHECKPOINTS } from '../../../preload/contract'
import type { CheckpointChoice } from '../../data/external/bundle'
import { UsageError } from '../errors'
import { printJson } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

function checkpointChoice(value: string): CheckpointChoice {
  const named = BUNDLE_CHECKPOINTS.find((choice) => choice === value)
  if (named) return named
  const steps = value.split(',').map((part) => Number(part.trim()))
  if (steps.length === 0 || steps.some((step) => !Number.isSafeInteger(step) || step < 0))
    throw new UsageError(`--checkpoints ${value}: expected tagged, all, none or steps like 10,20`)
  return steps
}

export function bundleCommand(): Command {
  return withWorkspace(new Command('bundle'))
    .description(
      'pack a run (config, metrics, samples, alerts and chosen checkpoints) into one file to move it to another workstation',
    )
    .argument('<run>', 'the run (id or name)')
    .requiredOption('--out <file>', 'the bundle to write (.tgz)')
    .addOption(
      new Option('--checkpoints <which>', 'tagged (latest, best-gt, your tags), all, none, or steps like 10,20')
        .default('tagged')
        .argParser(checkpointChoice),
    )
    .option('--json', 'print {"run", "checkpoints", "file"} as the last stdout line')
    .action(
      async (
        runSpec: string,
        options: WorkspaceOptions & { out: string; checkpoints: ReturnType<typeof checkpointChoice>; json?: boolean },
      ) => {
        const { bundleRun } = await import('../../data/external/bundle')
        const { store } = openWorkspaceStore(options)
        try {
          const result = await bundleRun(store.db, runSpec, resolve(options.out), options.checkpoints)
          if (options.json) printJson(result)
          else
            process.stdout.write(`Bundled run ${result.run} with ${result.checkpoints.length} checkpoints into ${result.file}\n`)
        } finally {
          store.close()
        }
      },
    )
}

export function unbundleCommand(): Command {
  return withWorkspace(new Command('unbundle'))
    .description('add a run from a bundle made by `cwb bundle` to this workspace (as a new run)')
    .argument('<file>', 'the bundle')
    .option('--json', 'print {"run", "name", "checkpoints"} as the last stdout line')
    .action(async (file: string, options: WorkspaceOptions & { json?: boolean }) => {
      const { unbundleRun } = await import('../../data/external/bundle')
      const { dir, store } = openWorkspaceStore(options)
      try {
        const result = await unbundleRun(store.db, dir, resolve(file))
        if (options.json) printJson(result)
        else process.stdout.write(`Added run ${result.run} "${result.name}" with ${result.checkpoints.length} checkpoints\n`)
      } finally {
        store.close()
      }
    })
}
