import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { baseOption } from '../checkpoint-option'
import { integerOption } from '../parse'
import { printJson, progress } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface ExportVerlOptions extends WorkspaceOptions {
  out: string
  model?: string
  base?: string
  gpus: number
  nodes: number
  keepHparams?: boolean
  json?: boolean
}

export function exportVerlCommand(): Command {
  return withWorkspace(new Command('export-verl'))
    .description("write a run's data, a verl launch script for its Co-rewarding fork and a README, to train it at scale")
    .argument('<run>', 'the run (id or name): ground_truth, majority_voting, co_rewarding_i or co_rewarding_ii')
    .requiredOption('--out <dir>', 'folder to write into')
    .option(
      '--model <hf_model>',
      "Hugging Face model id or folder to train (actor_rollout_ref.model.path), or a LoRA checkpoint (its base; RUN:STEP too); default: the run's starting checkpoint",
    )
    .addOption(baseOption())
    .addOption(new Option('--gpus <n>', 'GPUs per node').default(8).argParser(integerOption('--gpus', 1)))
    .addOption(new Option('--nodes <m>', 'nodes').default(1).argParser(integerOption('--nodes', 1)))
    .option('--keep-hparams', "keep the run's learning rate, batch size and lengths (default: the reference's)")
    .option('--json', 'print {"fork", "model", "lora", "overrides", "files"} as the last stdout line')
    .action(async (runSpec: string, options: ExportVerlOptions) => {
      const { exportRunToVerl } = await import('../../data/external/verl-export')
      const { store } = openWorkspaceStore(options)
      try {
        const result = exportRunToVerl(store.db, runSpec, {
          out: resolve(options.out),
          model: options.model,
          base: options.base,
          gpus: options.gpus,
          nodes: options.nodes,
          keepHparams: options.keepHparams,
        })
        const lora = result.lora ? `, LoRA rank ${result.lora.rank} alpha ${result.lora.alpha}` : ''
        progress(
          `${result.fork} fork, model ${result.model}${lora}, ${result.overrides.length} overrides; see ${result.files.readme}`,
        )
        if (options.json) printJson(result)
        else process.stdout.write(`Wrote ${result.files.script}\n`)
      } finally {
        store.close()
      }
    })
}
