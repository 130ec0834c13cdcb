import { Command } from 'commander'
import { FINDING_CHECKS } from '../../../preload/constants'
import { printJson, progress, table } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'
import { datasetNamed } from '../jobs'

export function checksCommand(): Command {
  return withWorkspace(new Command('checks'))
    .description(
      'run the answer-preservation checks on every pair of a dataset again and store their findings (errors likely change the answer); model findings (cwb judge, the agreement preview) stay',
    )
    .argument('<dataset>', 'dataset id or name (`cwb datasets` lists them)')
    .option(
      '--json',
      'print {"dataset", "pairs", "with_error", "with_warning", "by_check": {CHECK: {"error", "warning", "note"}}} as the last stdout line (by_check: every rule check, and judge / agreement where a pair has their finding)',
    )
    .action(async (datasetSpec: string, options: WorkspaceOptions & { json?: boolean }) => {
      const { recheckDataset } = await import('../../data/datasets')
      const { store } = openWorkspaceStore(options)
      try {
        const dataset = datasetNamed(store.db, datasetSpec)
        const summary = recheckDataset(store.db, dataset.id)
        progress(`Checked ${summary.pairs} pairs of "${dataset.name}"; findings stored.`)
        if (options.json) {
          printJson({
            dataset: dataset.name,
            pairs: summary.pairs,
            with_error: summary.withError,
            with_warning: summary.withWarning,
            by_check: summary.byCheck,
          })
          return
        }
        const share = (n: number): string => (summary.pairs === 0 ? '' : ` (${Math.round((n / summary.pairs) * 1000) / 10}%)`)
        // The rule checks, and the model checks (judge, agreement) where some pair has their finding.
        const rows = FINDING_CHECKS.flatMap((name) => {
          const counts = summary.byCheck[name]
          return counts ? [[name, String(counts.error), String(counts.warning), String(counts.note)]] : []
        })
        process.stdout.write(
          [
            `Dataset "${dataset.name}": ${summary.pairs} pairs, ${summary.withError} with an error${share(summary.withError)}, ${summary.withWarning} with a warning${share(summary.withWarning)}.`,
            '',
            table([['CHECK', 'ERRORS', 'WARNINGS', 'NOTES'], ...rows]),
            '',
            'Errors likely change the answer: in the app, filter the dataset by severity "error" to review them.',
            '',
          ].join('\n'),
        )
      } finally {
        store.close()
      }
    })
}
