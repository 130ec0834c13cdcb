import { Command, Option } from 'commander'
import type { CheckpointRow } from '../../../preload/contract'
import { exportCheckpointOnnx, exportHf } from '../../services/checkpoints/actions'
import { checkpointTable } from '../../services/checkpoints/table'
import { baseOption } from '../checkpoint-option'
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
      "list a run's checkpoints with the metrics at their steps; warns when the best by held-out GT and the best by self-reward (validated steps and the base model) differ by more than sampling error",
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
  format: 'onnx' | 'hf' | 'peft'
  out?: string
  teacher?: boolean
  base?: string
  prompts: number
  json?: boolean
}

export function exportModelCommand(): Command {
  return withWorkspace(new Command('export-model'))
    .description(
      "export a checkpoint: as a plain Hugging Face folder (a LoRA checkpoint merged into its base), as a LoRA checkpoint's PEFT adapter alone, or (cwb-gpt models) as ONNX checked by running it with onnxruntime-node against the engine",
    )
    .argument('<checkpoint>', 'a checkpoint folder, RUN:STEP, or base')
    .addOption(
      new Option(
        '--format <format>',
        "hf: a Hugging Face folder (LoRA: adapters merged, float32); peft: a LoRA checkpoint's adapter folder alone; onnx: an .onnx file (cwb-gpt models only)",
      )
        .choices(['onnx', 'hf', 'peft'])
        .default('onnx'),
    )
    .option('--out <path>', 'the .onnx file (default: <workspace>/exports/), or the new folder (required for hf and peft)')
    .option('--teacher', "export the checkpoint's EMA teacher (Co-rewarding-II; for LoRA its adapters) instead of the model")
    .addOption(baseOption())
    .addOption(
      new Option('--prompts <n>', 'prompts of random tokens the ONNX check compares logits on')
        .default(4)
        .argParser(integerOption('--prompts', 1)),
    )
    .option('--json', 'print the result as the last stdout line')
    .action(async (spec: string, options: ExportOptions) => {
      if (options.format !== 'onnx' && !options.out)
        throw new UsageError(`--format ${options.format} needs --out <folder>: the new folder to write`)
      const { dir, store } = openWorkspaceStore(options)
      try {
        const weights = options.teacher ? 'teacher' : 'model'
        if (options.format !== 'onnx') {
          const result = exportHf(store.db, {
            checkpoint: spec,
            out: options.out!,
            weights,
            format: options.format,
            base: options.base,
          })
          if (options.json) return printJson(result)
          const what =
            result.kind === 'lora'
              ? options.format === 'peft'
                ? `the ${options.teacher ? "EMA teacher's " : ''}LoRA adapter`
                : `${options.teacher ? 'the EMA teacher' : 'the model'} with its adapters merged into ${result.base}`
              : options.teacher
                ? 'the EMA teacher'
                : 'the model'
          process.stdout.write(`Wrote ${result.folder} (${what}): ${result.files.map((f) => f.name).join(', ')}\n`)
          return
        }
        if (options.base !== undefined)
          throw new UsageError('--base applies to LoRA checkpoints, which export with --format hf or peft')
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
