import { availableParallelism } from 'node:os'
import { Command, Option } from 'commander'
import { rewardModeIds } from '../../engine/rewards'
import { accuracyResult, heldOutAccuracy, spread } from '../../services/results'
import { printJson, progress, table } from '../output'
import { integerOption } from '../parse'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface DemoOptions extends WorkspaceOptions {
  steps: number
  seeds: number
  parallel: number
  threads?: number
  json?: boolean
}

interface DemoRow {
  mode: string
  seed: number
  run: number
  status: string
  before: number
  best: number
  bestStep: number
  final: number
  pseudo: number | null
  flags: string[]
}

const pct = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(1)}%`)
const spreadText = (values: number[]): string => {
  const { mean, min, max } = spread(values)!
  return values.length > 1 ? `${pct(mean)} [${pct(min)}, ${pct(max)}]` : pct(mean)
}

export function demoCommand(): Command {
  return withWorkspace(new Command('demo'))
    .description("the paper's comparison in miniature: the six reward modes from the shipped base model on the demo task")
    .addOption(new Option('--steps <n>', 'training steps per run').default(60).argParser(integerOption('--steps', 1)))
    .addOption(
      new Option('--seeds <k>', 'seeds per mode (mean and spread in the table)')
        .default(1)
        .argParser(integerOption('--seeds', 1)),
    )
    .addOption(
      new Option('--parallel <n>', 'runs at a time (one core each)').default(2).argParser(integerOption('--parallel', 1)),
    )
    .addOption(
      new Option('--threads <n>', 'threads per run for its native kernels (default: the cores shared among the parallel runs)')
        .env('CWB_THREADS')
        .argParser(integerOption('--threads', 1)),
    )
    .option('--json', 'print the results as one JSON object on the last stdout line')
    .action(async (options: DemoOptions) => {
      const { defaultRunConfig } = await import('../../engine/run-config')
      const { trainNewRun } = await import('../../services/run-owner')
      const { metricSeries } = await import('../../store/metrics')
      const { runEvents } = await import('../../store/events')
      const { dir, store } = openWorkspaceStore(options)
      // Parallel runs share the cores: each trainer process (which inherits this environment) gets its part.
      process.env.CWB_THREADS = String(options.threads ?? Math.max(1, Math.floor(availableParallelism() / options.parallel)))
      const started = performance.now()
      const jobs = rewardModeIds().flatMap((mode) =>
        Array.from({ length: options.seeds }, (_, s) => ({
          mode,
          seed: s + 1,
          config: { ...defaultRunConfig(mode), name: `demo-${mode}-seed${s + 1}`, seed: s + 1, steps: options.steps },
        })),
      )
      progress(`Training ${jobs.length} runs (${options.steps} steps each, ${options.parallel} at a time) in ${dir}`)
      const rows: DemoRow[] = []
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < jobs.length) {
          const job = jobs[next++]!
          const outcome = await trainNewRun(job.config, {
            db: store.db,
            workspace: dir,
            onProgress: (p) => {
              if (p.phase === 'done' && p.step % 10 === 0) progress(`${job.config.name}: step ${p.step}/${p.totalSteps}`)
            },
          })
          const series = metricSeries(store.db, outcome.run)
          const accuracy = accuracyResult(heldOutAccuracy(series))
          const pseudo = series['coreward/pseudo_acc']?.filter((p) => p[1] !== null).at(-1)?.[1] ?? null
          const flags = runEvents(store.db, outcome.run, { kinds: ['alert'] }).map((e) => `${String(e.data.rule)}@${e.step}`)
          rows.push({
            mode: job.mode,
            seed: job.seed,
            run: outcome.run,
            status: outcome.status,
            before: accuracy.before ?? 0,
            best: accuracy.best ?? 0,
            bestStep: accuracy.bestStep ?? 0,
            final: accuracy.final ?? 0,
            pseudo,
            flags,
          })
          progress(`${job.config.name}: ${outcome.status}; held-out ${pct(accuracy.before ?? 0)} -> ${pct(accuracy.final ?? 0)}`)
        }
      }
      await Promise.all(Array.from({ length: Math.min(options.parallel, jobs.length) }, () => worker()))
      store.close()
      const minutes = (performance.now() - started) / 60000
      if (options.json) return printJson({ workspace: dir, steps: options.steps, seeds: options.seeds, minutes, runs: rows })
      const byMode = rewardModeIds().map((mode) => rows.filter((r) => r.mode === mode))
      process.stdout.write(
        `\nHeld-out greedy accuracy (validation split), ${options.steps} steps, ${options.seeds} seed(s), ${minutes.toFixed(1)} minutes:\n` +
          `${table([
            ['MODE', 'BEFORE', 'BEST (STEP)', 'FINAL', 'PSEUDO-LABEL ACC', 'COLLAPSE FLAGS'],
            ...byMode.map((runs) => [
              runs[0]!.mode,
              spreadText(runs.map((r) => r.before)),
              `${spreadText(runs.map((r) => r.best))} (${runs.map((r) => r.bestStep).join('/')})`,
              spreadText(runs.map((r) => r.final)),
              runs.every((r) => r.pseudo === null) ? '-' : spreadText(runs.map((r) => r.pseudo ?? 0)),
              runs.flatMap((r) => r.flags).join(', ') || 'none',
            ]),
          ])}\n`,
      )
    })
}
