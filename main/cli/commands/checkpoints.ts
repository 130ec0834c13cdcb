import { Command, Option } from 'commander'
import type { CheckpointRow } from '../../../preload/contract'
import { exportCheckpointOnnx } from '../../services/checkpoints/actions'
import { resolveCheckpointRef } from '../../services/checkpoints/ref'
import { checkpointTable } from '../../services/checkpoints/table'
import { exportHfFolder } from '../../engine/checkpoint/hf-export'
import { UsageError } from '../errors'
import { printJson, progress, table } from '../output'
import { integerOption } from '../parse'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

const shown = (value: number | null, digits = 3): string => (value === null ? '-' : value.toFixed(digits))

function rows(checkpoints: CheckpointRow[]): string[][] {
  return checkpoints.map((c) => [
    String(c.step),
    shown(c.heldOut),
    shown(c.selfReward),
    shown(c.pseudoAcc),
    c.tags.join(',') || '-',
    c.missing ? `${c.path} (gone)` : c.path,
  ])
}

export function checkpointsCommand(): Command {
  return withWorkspace(new Command('checkpoints'))
    .description(
      "list a run's checkpoints with the metrics at their steps; flags best by held-out GT vs best by self-reward when they differ",
    )
    .argument('<run>', 'the run: its id or name')
    .option(
      '--json',
      'print {"run": ID, "checkpoints": [...], "bestGt": step|null, "bestSelf": step|null, ...} as the last stdout line',
    )
    .action((runName: string, options: WorkspaceOptions & { json?: boolean }) => {
      const { store } = openWorkspaceStore(options)
      try {
        const listed = checkpointTable(store.db, runName)
        if (options.json) return printJson(listed)
        process.stdout.write(
          `Run ${listed.run} "${listed.runName}" (${listed.mode}): ${listed.checkpoints.length} checkpoint(s), started from ${listed.startCheckpoint ?? 'an unrecorded checkpoint'}\n`,
        )
        if (listed.checkpoints.length > 0) {
          const header = ['STEP', 'HELD-OUT', 'SELF-REWARD', 'PSEUDO-ACC', 'TAGS', 'PATH']
          process.stdout.write(`${table([header, ...rows(listed.checkpoints)])}\n`)
        }
        if (listed.warning) process.stdout.write(`${listed.warning}\n`)
      } finally {
        store.close()
      }
    })
}

interface ExportOptions extends WorkspaceOptions {
  format: 'onnx' | 'hf'
  out?: string
  teacher?: boolean
  prompts: number
  json?: boolean
}

export function exportModelCommand(): Command {
  return withWorkspace(new Command('export-model'))
    .description(
      'export a checkpoint: as ONNX (checked by running it with onnxruntime-node against the engine) or as a plain Hugging Face folder',
    )
    .argument('<checkpoint>', 'a checkpoint folder, RUN:STEP, or base')
    .addOption(new Option('--format <format>', 'onnx, or hf for a Hugging Face folder').choices(['onnx', 'hf']).default('onnx'))
    .option('--out <path>', 'the .onnx file (default: <workspace>/exports/) or the new Hugging Face folder (required for hf)')
    .option('--teacher', "export the checkpoint's EMA teacher (Co-rewarding-II) instead of the model")
    .addOption(
      new Option('--prompts <n>', 'prompts of random tokens the ONNX check compares logits on')
        .default(4)
        .argParser(integerOption('--prompts', 1)),
    )
    .option('--json', 'print the result as the last stdout line')
    .action(async (spec: string, options: ExportOptions) => {
      if (options.format === 'hf' && !options.out)
        throw new UsageError('--format hf needs --out <folder>: the new folder to write')
      const { dir, store } = openWorkspaceStore(options)
      try {
        const weights = options.teacher ? 'teacher' : 'model'
        if (options.format === 'hf') {
          const resolved = resolveCheckpointRef(store.db, spec)
          const files = exportHfFolder(resolved.path, options.out!, weights)
          if (options.json) return printJson({ folder: options.out, files })
          process.stdout.write(`Wrote ${options.out}: ${files.map((f) => f.name).join(', ')}\n`)
          return
        }
        progress(`Exporting ${spec} to ONNX and checking it against the engine on ${options.prompts} prompt(s)...`)
        const result = await exportCheckpointOnnx(store.db, dir, {
          checkpoint: spec,
          weights,
          out: options.out,
          prompts: options.prompts,
        })
        if (options.json) printJson(result)
        else {
          const { check } = result
          process.stdout.write(
            `Wrote ${result.file} (${result.bytes} bytes). onnxruntime vs engine logits on ${check.prompts} prompt(s), ${check.positions} positions: max abs diff ${check.maxAbsDiff.toExponential(2)} (${check.ok ? 'ok' : 'FAILED'}, tolerance ${check.tolerance})\n`,
          )
        }
        if (!result.check.ok) process.exitCode = 1
      } finally {
        store.close()
      }
    })
}
