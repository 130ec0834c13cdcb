import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import type { MemoryPlan } from '../../engine/memory-plan'
import { rewardModeIds } from '../../engine/rewards'
import type { RunConfig } from '../../engine/run-config'
import { fileErrorWords } from '../../fs-errors'
import { modelFolder } from '../checkpoint-option'
import { UsageError } from '../errors'
import { integerOption } from '../parse'
import { printJson, progress } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface TrainOptions extends WorkspaceOptions {
  config?: string
  printConfig?: string
  printSchema?: boolean
  resume?: string
  json?: boolean
  plan?: boolean
  threads?: number
}

/** The memory plan of a run config from its starting checkpoint, on the backend the trainer will use. */
async function planRun(config: RunConfig, options: TrainOptions): Promise<MemoryPlan> {
  const { runPlan } = await import('../../services/run-plan')
  return runPlan(modelFolder(config.checkpoint, options), config)
}

const pct = (value: number | undefined): string => (value === undefined ? '-' : `${(value * 100).toFixed(1)}%`)

export function trainCommand(): Command {
  return withWorkspace(new Command('train'))
    .description('train a run with GRPO under a reward mode; progress on stderr, a summary at the end')
    .option('--config <file>', 'run config (JSON; see --print-config and resources/run-config.schema.json)')
    .addOption(
      new Option('--print-config <mode>', 'print the complete default config of a reward mode and exit').choices(rewardModeIds()),
    )
    .option('--print-schema', 'print the run config JSON Schema (resources/run-config.schema.json) and exit')
    .option('--resume <run>', 'resume a stopped, failed or interrupted run (id or name) from its latest checkpoint')
    .option(
      '--plan',
      "with --config: print the run's memory plan against the backend's limit and exit (0 fits, 1 does not); --json prints it as JSON",
    )
    .addOption(
      new Option('--threads <n>', "cap the threads of the run's native kernels (onnxruntime), so runs can share the machine")
        .env('CWB_THREADS')
        .argParser(integerOption('--threads', 1)),
    )
    .option('--json', 'print {"run", "status", "steps", "final"} as the last stdout line')
    .action(async (options: TrainOptions) => {
      // The trainer process inherits the cap through its environment.
      if (options.threads !== undefined) process.env.CWB_THREADS = String(options.threads)
      const { defaultRunConfig, parseRunConfig, runConfigJsonSchema } = await import('../../engine/run-config')
      if (options.printSchema) {
        process.stdout.write(`${JSON.stringify(runConfigJsonSchema(), null, 2)}\n`)
        return
      }
      if (options.printConfig) {
        process.stdout.write(`${JSON.stringify(defaultRunConfig(options.printConfig), null, 2)}\n`)
        return
      }
      if (!options.config === !options.resume) throw new UsageError('give either --config FILE (a new run) or --resume RUN')
      let config
      if (options.config) {
        const file = resolve(options.config)
        let raw: unknown
        try {
          raw = JSON.parse(readFileSync(file, 'utf8'))
        } catch (error) {
          const why = error instanceof SyntaxError ? `not valid JSON (${error.message})` : fileErrorWords(error)
          throw new Error(`cannot read the run config ${file}: ${why}`, { cause: error })
        }
        config = parseRunConfig(raw, file)
      }
      if (options.plan) {
        if (!config) throw new UsageError('--plan needs --config FILE')
        const { formatPlan } = await import('../../engine/memory-plan')
        const plan = await planRun(config, options)
        if (options.json) printJson(plan)
        else process.stdout.write(formatPlan(plan))
        if (!plan.fits) process.exitCode = 1
        return
      }
      const { trainNewRun, resumeRun } = await import('../../services/run-owner')
      const { dir, store } = openWorkspaceStore(options)
      let interrupted = 0
      const onSignal = (): void => {
        interrupted += 1
        if (interrupted === 1) progress('Stopping after this step (with a checkpoint); press Ctrl-C again to abandon the step.')
        else process.exit(130)
      }
      process.on('SIGINT', onSignal)
      try {
        const owner = {
          db: store.db,
          workspace: dir,
          onLog: progress,
          shouldStop: () => interrupted > 0,
          onProgress: (p: { step: number; totalSteps: number; phase: string; metrics?: Record<string, number> }) => {
            if (p.phase !== 'done' || !p.metrics) return
            const m = p.metrics
            const validation = Object.entries(m).find(([key]) => key.startsWith('val-core/'))?.[1]
            const parts = [`step ${p.step}/${p.totalSteps}`]
            if (m['critic/score/mean'] !== undefined) parts.push(`reward ${m['critic/score/mean'].toFixed(3)}`)
            if (m['response_length/mean'] !== undefined) parts.push(`length ${m['response_length/mean'].toFixed(1)}`)
            if (validation !== undefined) parts.push(`held-out ${pct(validation)}`)
            if (m['timing_s/step'] !== undefined) parts.push(`${m['timing_s/step'].toFixed(1)} s`)
            progress(parts.join('  '))
          },
        }
        if (config) {
          // A dataset the model cannot read is refused before a run is made, as the launch form refuses it.
          const { datasetFitIssues } = await import('../../services/run-validation')
          const issues = datasetFitIssues(store.db, modelFolder(config.checkpoint, options), config)
          if (issues.length > 0) {
            for (const issue of issues) progress(`${issue.path}: ${issue.message}`)
            throw new Error(`the run config ${resolve(options.config!)} does not fit its dataset (above); no run was made`)
          }
        }
        const outcome = options.resume ? await resumeRun(options.resume, owner) : await trainNewRun(config!, owner)
        if (outcome.status === 'failed') progress(`Run ${outcome.run} failed: ${outcome.error}`)
        if (options.json) printJson({ run: outcome.run, status: outcome.status, steps: outcome.steps, final: outcome.final })
        else process.stdout.write(`Run ${outcome.run} ${outcome.status} after ${outcome.steps} steps.\n`)
        if (outcome.status === 'failed') process.exitCode = 1
      } finally {
        process.off('SIGINT', onSignal)
        store.close()
      }
    })
}
