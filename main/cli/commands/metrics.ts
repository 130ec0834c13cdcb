import { Command, Option } from 'commander'
import { metricSeries, metricToJson } from '../../store/metrics'
import type { MetricSeries } from '../../store/metrics'
import { getRun } from '../../store/runs'
import { printJson, table } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface MetricsOptions extends WorkspaceOptions {
  key: string[]
  json?: boolean
}

const shown = (value: number | null | undefined): string =>
  value === undefined ? '-' : value === null ? 'NaN' : String(Number(value.toPrecision(4)))

function summary(key: string, points: MetricSeries[string]): string[] {
  const values = points.map(([, value]) => value).filter((value): value is number => value !== null)
  const first = points[0]
  const last = points.at(-1)
  return [
    key,
    String(points.length),
    first && last ? `${first[0]}-${last[0]}` : '-',
    shown(first?.[1]),
    shown(last?.[1]),
    shown(values.length > 0 ? values.reduce((a, b) => Math.min(a, b)) : undefined),
    shown(values.length > 0 ? values.reduce((a, b) => Math.max(a, b)) : undefined),
  ]
}

export function metricsCommand(): Command {
  return withWorkspace(new Command('metrics'))
    .description("print a run's metric series (step, value): all keys, or those named with --key")
    .argument('<run>', 'the run: its id or name (the newest run of that name)')
    .addOption(
      new Option('--key <key>', 'a metric key, e.g. critic/score/mean (repeat for more)')
        .default([], 'all keys')
        .argParser((value: string, previous: string[]) => [...previous, value]),
    )
    .option('--json', 'print {"run": ID, "series": {"key": [[step, value], ...]}} as the last stdout line')
    .action((runName: string, options: MetricsOptions) => {
      const { dir, store } = openWorkspaceStore(options)
      try {
        const run = getRun(store.db, runName)
        if (!run) throw new Error(`No run "${runName}" in ${dir}; \`cwb runs\` lists the runs (give an id or a name).`)
        const series = metricSeries(store.db, run.id, options.key.length > 0 ? options.key : undefined)
        if (options.json) {
          const encoded = Object.fromEntries(
            Object.entries(series).map(([key, points]) => [key, points.map(([step, value]) => [step, metricToJson(value)])]),
          )
          return printJson({ run: run.id, series: encoded })
        }
        const keys = Object.keys(series)
        process.stdout.write(`Run ${run.id} "${run.name}" (${run.mode}, ${run.status}): ${keys.length} metric key(s)\n`)
        if (keys.length === 0) return
        const rows = Object.entries(series).map(([key, points]) => summary(key, points))
        process.stdout.write(`${table([['KEY', 'POINTS', 'STEPS', 'FIRST', 'LAST', 'MIN', 'MAX'], ...rows])}\n`)
      } finally {
        store.close()
      }
    })
}
