import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { EXPORT_FORMATS } from '../../../preload/contract'
import { printJson, progress } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface ExportCliOptions extends WorkspaceOptions {
  format: (typeof EXPORT_FORMATS)[number]
  out: string
  acceptedOnly?: boolean
  json?: boolean
}

export function exportCommand(): Command {
  return withWorkspace(new Command('export'))
    .description('export a dataset: verl Parquet pair (original + rewrite), pairs Parquet, or JSONL')
    .argument('<dataset>', 'dataset id or name (`cwb datasets` lists them)')
    .addOption(new Option('--format <format>', 'what to write').choices(EXPORT_FORMATS).makeOptionMandatory())
    .requiredOption('--out <dir>', 'folder to write into (created if missing)')
    .option('--accepted-only', 'only accepted paraphrases (default: accepted and pending; rejected ones never)')
    .option('--json', 'print {"dataset", "files", "rows", "without_paraphrase"} as the last stdout line')
    .action(async (dataset: string, options: ExportCliOptions) => {
      const { exportDataset } = await import('../../data/export/export')
      const { store } = openWorkspaceStore(options)
      try {
        const result = exportDataset(store.db, dataset, {
          format: options.format,
          out: resolve(options.out),
          acceptedOnly: options.acceptedOnly,
        })
        if (result.withoutParaphrase > 0)
          progress(`${result.withoutParaphrase} records have no exportable paraphrase and were left out of the pair file`)
        if (options.json)
          printJson({
            dataset: result.dataset,
            files: result.files,
            rows: result.rows,
            without_paraphrase: result.withoutParaphrase,
          })
        else process.stdout.write(`Wrote ${result.rows} rows to ${result.files.join(', ')}\n`)
      } finally {
        store.close()
      }
    })
}
