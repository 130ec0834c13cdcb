import { availableParallelism } from 'node:os'
import { Command, Option } from 'commander'
import { rewardModeIds } from '../../engine/rewards'
import { STUDY_DEFAULTS } from '../../demo/study-defaults'
import { accuracyResult, heldOutAccuracy, percentText, spreadText } from '../../services/results'
import { printJson, progress, table } from '../output'
import { integerOption } from '../parse'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface DemoOptions extends WorkspaceOptions {
  steps?: number
  seeds?: number
  parallel: number
  threads?: number
  json?: boolean
  study?: boolean
  ablationSeeds?: number
  modes?: string
  questions?: number
  validateEvery?: number
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

const DEMO_STEPS = 60

/** `cwb demo --study`: runs (or continues) the study and prints its results table and report's path. */
async function study(options: DemoOptions): Promise<void> {
  const { runStudy } = await import('../../demo/study')
  const { studyModes } = await import('../../demo/study-plan')
  const { RESULT_COLUMNS } = await import('../../demo/study-report')
  const studyOptions = {
    modes: studyModes(options.modes),
    seeds: options.seeds ?? STUDY_DEFAULTS.seeds,
    steps: options.steps ?? STUDY_DEFAULTS.steps,
    ablationSeeds: options.ablationSeeds ?? STUDY_DEFAULTS.ablationSeeds,
    questions: options.questions ?? STUDY_DEFAULTS.questions,
    every: options.validateEvery ?? STUDY_DEFAULTS.every,
    samples: STUDY_DEFAULTS.samples,
  }
  const { dir, store } = openWorkspaceStore(options)
  let interrupted = 0
  const onSignal = (): void => {
    interrupted += 1
    if (interrupted === 1)
      progress(
        'Stopping the runs after their step (with a checkpoint); the same command continues the study. Ctrl-C again abandons the steps.',
      )
    else process.exit(130)
  }
  process.on('SIGINT', onSignal)
  try {
    const outcome = await runStudy(studyOptions, {
      store,
      workspace: dir,
      parallel: options.parallel,
      progress,
      shouldStop: () => interrupted > 0,
    })
    const { report } = outcome
    if (outcome.unfinished.length > 0) process.exitCode = 1
    if (options.json) {
      return printJson({
        study: outcome.plan.id,
        report: report.report,
        csv: report.csv,
        charts: report.charts,
        complete: outcome.complete,
        minutes: report.seconds / 60,
        skipped: outcome.skipped,
        unfinished: outcome.unfinished,
        trained: outcome.trained,
        reused: outcome.reused,
        groups: report.rows,
      })
    }
    const columns = RESULT_COLUMNS(studyOptions.samples)
    process.stdout.write(
      `\nStudy ${outcome.plan.id}: held-out accuracy on the test split, ${studyOptions.steps} steps, ${studyOptions.seeds} seed(s), ${(report.seconds / 60).toFixed(1)} minutes in all:\n` +
        `${table([
          ['GROUP', 'SEEDS', ...columns.map(([, title]) => title.toUpperCase())],
          ...report.rows.map((row) => [row.group, String(row.seeds), ...columns.map(([key]) => row.cells[key])]),
        ])}\n` +
        (outcome.skipped.length > 0
          ? `Not run (the run config schema refuses them): ${outcome.skipped.map((s) => s.key).join(', ')}\n`
          : '') +
        (outcome.complete ? '' : 'The study is incomplete: run the same command again to continue it.\n') +
        `Report: ${report.report}\n`,
    )
  } finally {
    process.off('SIGINT', onSignal)
    store.close()
  }
}

export function demoCommand(): Command {
  return withWorkspace(new Command('demo'))
    .description("the paper's comparison in miniature: the six reward modes from the shipped base model on the demo task")
    .addOption(
      new Option('--steps <n>', `training steps per run (default ${DEMO_STEPS}; ${STUDY_DEFAULTS.steps} with --study)`).argParser(
        integerOption('--steps', 1),
      ),
    )
    .addOption(
      new Option(
        '--seeds <k>',
        `seeds per mode, mean and spread in the table (default 1; ${STUDY_DEFAULTS.seeds} with --study)`,
      ).argParser(integerOption('--seeds', 1)),
    )
    .option(
      '--study',
      'the multi-seed study with the ablations, validated on the test split, resumable (the same command continues it); writes <workspace>/reports/study-<id>/report.md',
    )
    .addOption(
      new Option('--ablation-seeds <k>', `--study: seeds of each ablation (0: none)`)
        .default(STUDY_DEFAULTS.ablationSeeds)
        .argParser(integerOption('--ablation-seeds', 0)),
    )
    .addOption(new Option('--modes <list>', '--study: the reward modes, comma-separated (default: all six)'))
    .addOption(
      new Option('--questions <n>', '--study: held-out questions of the test split')
        .default(STUDY_DEFAULTS.questions)
        .argParser(integerOption('--questions', 1)),
    )
    .addOption(
      new Option('--validate-every <n>', '--study: validate (greedy pass@1 and maj@8) every N steps')
        .default(STUDY_DEFAULTS.every)
        .argParser(integerOption('--validate-every', 1)),
    )
    .addOption(
      new Option('--parallel <n>', 'runs at a time (one core each)').default(2).argParser(integerOption('--parallel', 1)),
    )
    .addOption(
      new Option('--threads <n>', 'threads per run for its native kernels (default: the cores shared among the parallel runs)')
        .env('CWB_THREADS')
        .argParser(integerOption('--threads', 1)),
    )
    .option('--json', 'print the results as one JSON object on the last stdout line (with --study: {"study", "report", ...})')
    .action(async (options: DemoOptions) => {
      // Parallel runs share the cores: each trainer process (which inherits this environment) gets its part.
      process.env.CWB_THREADS = String(options.threads ?? Math.max(1, Math.floor(availableParallelism() / options.parallel)))
      if (options.study) return study(options)
      const steps = options.steps ?? DEMO_STEPS
      const seeds = options.seeds ?? 1
      const { defaultRunConfig } = await import('../../engine/run-config')
      const { trainNewRun } = await import('../../services/run-owner')
      const { metricSeries } = await import('../../store/metrics')
      const { runEvents } = await import('../../store/events')
      const { dir, store } = openWorkspaceStore(options)
      const started = performance.now()
      const jobs = rewardModeIds().flatMap((mode) =>
        Array.from({ length: seeds }, (_, s) => ({
          mode,
          seed: s + 1,
          config: { ...defaultRunConfig(mode), name: `demo-${mode}-seed${s + 1}`, seed: s + 1, steps },
        })),
      )
      progress(`Training ${jobs.length} runs (${steps} steps each, ${options.parallel} at a time) in ${dir}`)
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
          progress(
            `${job.config.name}: ${outcome.status}; held-out ${percentText(accuracy.before ?? 0)} -> ${percentText(accuracy.final ?? 0)}`,
          )
        }
      }
      await Promise.all(Array.from({ length: Math.min(options.parallel, jobs.length) }, () => worker()))
      store.close()
      const minutes = (performance.now() - started) / 60000
      if (options.json) return printJson({ workspace: dir, steps, seeds, minutes, runs: rows })
      const byMode = rewardModeIds().map((mode) => rows.filter((r) => r.mode === mode))
      process.stdout.write(
        `\nHeld-out greedy accuracy (validation split), ${steps} steps, ${seeds} seed(s), ${minutes.toFixed(1)} minutes:\n` +
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
