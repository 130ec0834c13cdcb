import { Command } from 'commander'
import { printJson, table } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

export function datasetsCommand(): Command {
  return withWorkspace(new Command('datasets'))
    .description('list the datasets in the workspace, newest first')
    .option('--json', 'print {"workspace", "datasets": [...]} as the last stdout line')
    .action((options: WorkspaceOptions & { json?: boolean }) => {
      const { dir, store } = openWorkspaceStore(options)
      try {
        const datasets = store.listDatasets()
        if (options.json) return printJson({ workspace: dir, datasets })
        if (datasets.length === 0) {
          process.stdout.write(`No datasets yet in ${dir}; \`cwb import FILE\` adds one.\n`)
          return
        }
        const rows = datasets.map((d) => [
          String(d.id),
          d.name,
          String(d.records),
          String(d.withAnswer),
          String(d.paraphrases),
          d.createdAt,
        ])
        process.stdout.write(`${table([['ID', 'NAME', 'RECORDS', 'WITH ANSWER', 'PARAPHRASES', 'CREATED'], ...rows])}\n`)
      } finally {
        store.close()
      }
    })
}
