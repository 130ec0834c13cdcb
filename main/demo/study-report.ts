// A study's report, written to <workspace>/reports/study-<id>/: report.md (protocol, results tables, charts, runs,
// settings, commit and wall time), charts/*.svg, series.csv (every charted series of every run) and configs.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { rewardMode } from '../engine/rewards'
import { accuracyResult, heldOutAccuracy, spread, spreadText } from '../services/results'
import { runEvents } from '../store/events'
import { metricSeries } from '../store/metrics'
import { getRun } from '../store/runs'
import type { Run } from '../store/runs'
import type { Store } from '../store/store'
import { bandChartSvg } from './study-charts'
import type { BandPoint, BandSeries } from './study-charts'
import { evaluationKey, STUDY_EVAL_SEED, STUDY_SPLIT, studyCommand, studyFolder } from './study-plan'
import type { StudyGroup, StudyJob, StudyPlan } from './study-plan'
import type { StudyState } from './study'

type Points = [step: number, value: number][]

/** A finished run of the study, with what the report shows of it. */
interface RunData {
  job: StudyJob
  run: Run
  series: Record<string, Points>
  /** The step and rule of each collapse flag, in order. */
  flags: { step: number; rule: string }[]
}

/** The charted series: held-out accuracy (greedy, from the trainer), maj@K (from the checkpoints), training metrics. */
interface Metric {
  id: string
  title: string
  yName: string
  share: boolean
  /** Its column in series.csv. */
  column: string
  points: (run: Run, state: StudyState, series: Record<string, readonly (readonly [number, number | null])[]>) => Points
}

const finite = (rows: readonly (readonly [number, number | null])[] | undefined): Points =>
  (rows ?? []).filter((p): p is [number, number] => p[1] !== null && Number.isFinite(p[1])).map(([s, v]) => [s, v])

function metrics(samples: number): Metric[] {
  const evaluated =
    (pick: 'majK' | 'avgK' | 'passK'): Metric['points'] =>
    (run, state, series) =>
      heldOutAccuracy(series).flatMap(([step]): Points => {
        const value = state.evaluations[evaluationKey(run, step)]?.[pick]
        return value === undefined ? [] : [[step, value]]
      })
  const logged =
    (key: string): Metric['points'] =>
    (_run, _state, series) =>
      finite(series[key])
  return [
    {
      id: 'held-out-pass1',
      title: `Held-out accuracy, greedy pass@1 (${STUDY_SPLIT} split)`,
      yName: 'pass@1',
      share: true,
      column: 'held_out_pass@1',
      points: (_run, _state, series) => heldOutAccuracy(series),
    },
    {
      id: `held-out-maj${samples}`,
      title: `Held-out maj@${samples} (${STUDY_SPLIT} split, T=1)`,
      yName: `maj@${samples}`,
      share: true,
      column: `maj@${samples}`,
      points: evaluated('majK'),
    },
    {
      id: 'pseudo-label-accuracy',
      title: 'Pseudo-label accuracy (coreward/pseudo_acc)',
      yName: 'share',
      share: true,
      column: 'pseudo_label_acc',
      points: logged('coreward/pseudo_acc'),
    },
    {
      id: 'training-reward',
      title: 'Training reward (critic/score/mean)',
      yName: 'reward',
      share: false,
      column: 'reward',
      points: logged('critic/score/mean'),
    },
    {
      id: 'response-length',
      title: 'Response length (response_length/mean)',
      yName: 'tokens',
      share: false,
      column: 'response_length',
      points: logged('response_length/mean'),
    },
    {
      id: 'entropy',
      title: 'Entropy of the policy (actor/entropy)',
      yName: 'nats / token',
      share: false,
      column: 'entropy',
      points: logged('actor/entropy'),
    },
  ]
}

/** Mean, minimum and maximum over the runs at every step any of them logged. */
function band(runs: Points[]): BandPoint[] {
  const byStep = new Map<number, number[]>()
  for (const points of runs) for (const [step, value] of points) byStep.set(step, [...(byStep.get(step) ?? []), value])
  return [...byStep.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([step, values]) => {
      const { mean, min, max } = spread(values)!
      return { step, mean, min, max }
    })
}

const meanOf = (points: Points): number | null =>
  points.length === 0 ? null : points.reduce((sum, [, v]) => sum + v, 0) / points.length

export type StudyColumn = 'before' | 'best' | 'final' | 'majBefore' | 'majBest' | 'majFinal' | 'pseudo' | 'collapse'

/** One row of the results table: a group's runs summarised over seeds. */
export interface StudyRow {
  group: string
  label: string
  mode: string
  runs: number[]
  seeds: number
  cells: Record<StudyColumn, string>
}

function resultRow(group: StudyGroup, runs: RunData[], samples: number): StudyRow {
  const acc = runs.map((r) => accuracyResult(r.series['held-out-pass1'] ?? []))
  const maj = runs.map((r) => accuracyResult(r.series[`held-out-maj${samples}`] ?? []))
  const pseudo = runs.map((r) => r.series['pseudo-label-accuracy'] ?? [])
  const firstFlags = runs.map((r) => r.flags[0]?.step ?? null)
  const flagged = firstFlags.filter((s) => s !== null).length
  const steps = (x: number): string => String(Math.round(x))
  return {
    group: group.id,
    label: group.label,
    mode: group.mode,
    runs: runs.map((r) => r.run.id),
    seeds: runs.length,
    cells: {
      before: spreadText(acc.map((a) => a.before)),
      best: `${spreadText(acc.map((a) => a.best))} (${acc.map((a) => a.bestStep ?? '-').join('/')})`,
      final: spreadText(acc.map((a) => a.final)),
      majBefore: spreadText(maj.map((a) => a.before)),
      majBest: `${spreadText(maj.map((a) => a.best))} (${maj.map((a) => a.bestStep ?? '-').join('/')})`,
      majFinal: spreadText(maj.map((a) => a.final)),
      pseudo: pseudo.every((p) => p.length === 0)
        ? '-'
        : `${spreadText(pseudo.map((p) => meanOf(p.slice(0, 10))))} → ${spreadText(pseudo.map((p) => meanOf(p.slice(-10))))}`,
      collapse:
        flagged === 0 ? `none (0/${runs.length})` : `${spreadText(firstFlags, steps)} (${flagged}/${runs.length} flagged)`,
    },
  }
}

export const RESULT_COLUMNS = (samples: number): [StudyColumn, string][] => [
  ['before', 'Before'],
  ['best', 'Best (step)'],
  ['final', 'Final'],
  ['majBefore', `maj@${samples} before`],
  ['majBest', `maj@${samples} best (step)`],
  ['majFinal', `maj@${samples} final`],
  ['pseudo', 'Pseudo-label acc. (first → last 10 steps)'],
  ['collapse', 'Steps to collapse'],
]

export interface StudyReport {
  folder: string
  report: string
  csv: string
  configs: string
  charts: string[]
  rows: StudyRow[]
  /** Wall time of every sitting of the study, in seconds. */
  seconds: number
}

/** Dotted paths of a config's values, for telling the settings all runs share from those that differ. */
function flatten(value: unknown, prefix = ''): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return Object.assign(
      {},
      ...Object.entries(value as Record<string, unknown>).map(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k)),
    ) as Record<string, string>
  return { [prefix]: JSON.stringify(value) }
}

function settingsSections(configs: { group: string; config: Record<string, unknown> }[]): string {
  const flat = configs.map((c) => ({ group: c.group, values: flatten(c.config) }))
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f.values)))].filter((k) => k !== 'name' && k !== 'seed').sort()
  const shared = keys.filter((k) => flat.every((f) => f.values[k] === flat[0]!.values[k]))
  const varying = keys.filter((k) => !shared.includes(k))
  const lines = [
    '| setting | value |',
    '|---|---|',
    ...shared.map((k) => `| \`${k}\` | \`${flat[0]!.values[k] ?? '(unset)'}\` |`),
  ]
  const groups = [...new Set(flat.map((f) => f.group))]
  if (varying.length > 0) {
    lines.push('', 'Set per group (the reward mode, its defaults, and the ablations):', '')
    lines.push(`| group | ${varying.map((k) => `\`${k}\``).join(' | ')} |`, `|---|${varying.map(() => '---').join('|')}|`)
    for (const group of groups) {
      const values = flat.find((f) => f.group === group)!.values
      lines.push(`| ${group} | ${varying.map((k) => `\`${values[k] ?? '(unset)'}\``).join(' | ')} |`)
    }
  }
  return lines.join('\n')
}

const csvCell = (value: string | number): string => (typeof value === 'number' ? String(value) : `"${value.replace(/"/g, '""')}"`)

/** Writes the report of the study's finished runs (all of them once the study is complete). */
export function writeStudyReport(
  store: Store,
  workspace: string,
  plan: StudyPlan,
  state: StudyState,
  skipped: { key: string; reason: string }[],
): StudyReport {
  const { db } = store
  const folder = studyFolder(workspace, plan.id)
  const samples = plan.options.samples
  const charted = metrics(samples)
  const finished: RunData[] = []
  const notFinished: string[] = []
  for (const job of plan.jobs) {
    const id = state.runs[job.key]
    const run = id === undefined ? undefined : getRun(db, id)
    if (!run || run.status !== 'finished') {
      if (!skipped.some((s) => s.key === job.key))
        notFinished.push(`${job.key} (${run ? `run ${run.id}, ${run.status}` : 'not started'})`)
      continue
    }
    const stored = metricSeries(db, run.id)
    const flags = runEvents(db, run.id, { kinds: ['alert'] }).map((e) => ({ step: e.step ?? 0, rule: String(e.data.rule) }))
    flags.sort((a, b) => a.step - b.step)
    finished.push({
      job,
      run,
      series: Object.fromEntries(charted.map((m) => [m.id, m.points(run, state, stored)])),
      flags,
    })
  }
  const groups = plan.groups.filter((g) => finished.some((r) => r.job.group === g.id))
  const runsOf = (group: string): RunData[] => finished.filter((r) => r.job.group === group)
  const rows = groups.map((g) => resultRow(g, runsOf(g.id), samples))

  mkdirSync(join(folder, 'charts'), { recursive: true })
  const charts: string[] = []
  const mainGroups = groups.filter((g) => !g.ablation)
  const ablations = groups.filter((g) => g.ablation)
  const seriesOf = (group: StudyGroup, metric: Metric, dashed = false): BandSeries => ({
    label: group.label,
    colour: rewardMode(group.mode).colour,
    points: band(runsOf(group.id).map((r) => r.series[metric.id] ?? [])),
    dashed,
  })
  for (const metric of charted) {
    const sets: [string, BandSeries[]][] = [[metric.id, mainGroups.map((g) => seriesOf(g, metric))]]
    if (ablations.length > 0) {
      const pairs = ablations.flatMap((a) => {
        const reference = groups.find((g) => g.id === a.ablation!.of)
        return [...(reference ? [seriesOf(reference, metric)] : []), seriesOf(a, metric, true)]
      })
      sets.push([`${metric.id}-ablations`, pairs])
    }
    for (const [name, series] of sets) {
      const drawn = series.filter((s) => s.points.length > 0)
      if (drawn.length === 0) continue
      const file = join(folder, 'charts', `${name}.svg`)
      const title = name.endsWith('-ablations') ? `${metric.title}: ablations` : metric.title
      writeFileSync(
        file,
        bandChartSvg({ title, yName: metric.yName, share: metric.share, steps: plan.options.steps, series: drawn }),
      )
      charts.push(file)
    }
  }

  // series.csv: one row per run and step, a column per charted series (empty where the step has no value).
  const csvFile = join(folder, 'series.csv')
  const csvLines = [['group', 'mode', 'seed', 'run', 'step', ...charted.map((m) => m.column)].join(',')]
  for (const r of finished) {
    const steps = [...new Set(charted.flatMap((m) => (r.series[m.id] ?? []).map(([s]) => s)))].sort((a, b) => a - b)
    const lookup = charted.map((m) => new Map(r.series[m.id] ?? []))
    for (const step of steps) {
      const values = lookup.map((l) => (l.has(step) ? String(l.get(step)) : ''))
      csvLines.push([csvCell(r.job.group), csvCell(r.job.mode), r.job.seed, r.run.id, step, ...values].join(','))
    }
  }
  writeFileSync(csvFile, `${csvLines.join('\n')}\n`)

  const configsFile = join(folder, 'configs.json')
  const configs = plan.jobs.map((job) => {
    const run = state.runs[job.key] === undefined ? undefined : getRun(db, state.runs[job.key]!)
    return { key: job.key, group: job.group, run: run?.id ?? null, config: run?.config ?? job.config }
  })
  writeFileSync(configsFile, `${JSON.stringify(configs, null, 2)}\n`)

  const seconds = state.sittings.reduce((sum, s) => sum + s.seconds, 0)
  const commits = [
    ...new Set([
      ...state.sittings.map((s) => s.commit),
      ...finished.map((r) => (r.run.environment.commit as string | null | undefined) ?? null),
    ]),
  ].filter((c): c is string => c !== null)
  const reportFile = join(folder, 'report.md')
  writeFileSync(
    reportFile,
    reportMarkdown({ plan, rows, groups, finished, notFinished, skipped, charts, folder, seconds, commits, state, configs }),
  )
  return { folder, report: reportFile, csv: csvFile, configs: configsFile, charts, rows, seconds }
}

function reportMarkdown(r: {
  plan: StudyPlan
  rows: StudyRow[]
  groups: StudyGroup[]
  finished: RunData[]
  notFinished: string[]
  skipped: { key: string; reason: string }[]
  charts: string[]
  folder: string
  seconds: number
  commits: string[]
  state: StudyState
  configs: { key: string; group: string; config: Record<string, unknown> }[]
}): string {
  const { plan } = r
  const o = plan.options
  const k = o.samples
  const columns = RESULT_COLUMNS(k)
  const table = (rows: StudyRow[]): string =>
    [
      `| Group | Seeds | ${columns.map(([, title]) => title).join(' | ')} |`,
      `|---|---|${columns.map(() => '---').join('|')}|`,
      ...rows.map((row) => `| ${row.label} | ${row.seeds} | ${columns.map(([key]) => row.cells[key]).join(' | ')} |`),
    ].join('\n')
  const minutes = (s: number): string => `${(s / 60).toFixed(1)} min`
  const lines = [
    `# Study ${plan.id}`,
    '',
    `\`${studyCommand(o)}\`: the modes ${o.modes.join(', ')} at ${o.seeds} seed(s) and their ablations at ` +
      `${Math.min(o.ablationSeeds, o.seeds)}, ${o.steps} steps, ${o.questions} held-out questions every ${o.every} steps; planned ${plan.createdAt}.`,
    '',
    `- Status: ${r.notFinished.length === 0 ? 'complete' : `incomplete: ${r.notFinished.length} run(s) not finished (${r.notFinished.join('; ')}); run the same command again to continue`}.`,
    `- Wall time: ${minutes(r.seconds)} over ${r.state.sittings.length} sitting(s) (${r.state.sittings.map((s) => `${s.startedAt}: ${minutes(s.seconds)}`).join('; ')}).`,
    `- Commit: ${r.commits.length > 0 ? r.commits.map((c) => `\`${c}\``).join(', ') : 'unknown (not a git checkout)'}.`,
    `- Base model: \`${plan.baseModel.path}\` (files sha256 \`${plan.baseModel.sha256.slice(0, 16)}\`).`,
    '',
    '## Protocol',
    '',
    `Every group trains from the shipped base model with the same settings (below): the demo's defaults, the learning ` +
      `rate included (\`learning_rate\` ${JSON.stringify(r.configs[0]?.config.learning_rate)}, not tuned per mode). Held-out accuracy is ` +
      `measured on the first ${o.questions} labelled questions of the \`${STUDY_SPLIT}\` split, which no choice was made on: ` +
      `greedy pass@1 by the trainer at step 0, every ${o.every} steps and at the end, and maj@${k} (the majority of ${k} ` +
      `samples at temperature 1, sampling seed ${STUDY_EVAL_SEED}, GT-equivalent to the answer) on the checkpoint of each of those ` +
      `steps. "Best (step)" is the mean over seeds of each run's best validation, with each seed's step; ranges are [min, max] ` +
      `over seeds. "Steps to collapse" is the step of each run's first collapse flag (the trainer's rules), over the seeds flagged. ` +
      `After maj@${k} is measured, a run keeps its last checkpoint and its tagged best ones.`,
    '',
    '## Results',
    '',
    table(r.rows.filter((row) => !r.groups.find((g) => g.id === row.group)?.ablation)),
    '',
  ]
  const ablationRows = r.rows.filter((row) => r.groups.find((g) => g.id === row.group)?.ablation)
  if (ablationRows.length > 0 || r.skipped.length > 0) {
    lines.push('## Ablations', '')
    if (ablationRows.length > 0) {
      const referenceRows = r.rows.filter((row) =>
        ablationRows.some((a) => r.groups.find((g) => g.id === a.group)?.ablation?.of === row.group),
      )
      lines.push(table([...referenceRows, ...ablationRows]), '')
      for (const row of ablationRows) {
        const change = r.groups.find((g) => g.id === row.group)!.ablation!.change
        lines.push(`- ${row.label}: \`${JSON.stringify(change)}\``)
      }
      lines.push('')
    }
    if (r.skipped.length > 0) {
      lines.push(
        `Not run (this version's run config schema refuses their config; rerun the same command once it takes them):`,
        '',
        ...r.skipped.map((s) => `- ${s.key}: ${s.reason}`),
        '',
      )
    }
  }
  lines.push('## Charts', '', "Each line is the mean over seeds; the band spans the seeds' minimum to maximum.", '')
  for (const chart of r.charts) lines.push(`![${relative(r.folder, chart)}](${relative(r.folder, chart)})`, '')
  lines.push('## Runs', '', '| Job | Run | Collapse flags |', '|---|---|---|')
  for (const run of r.finished) {
    lines.push(`| ${run.job.key} | ${run.run.id} | ${run.flags.map((f) => `${f.rule}@${f.step}`).join(', ') || 'none'} |`)
  }
  lines.push(
    '',
    '## Settings',
    '',
    'Shared by every run:',
    '',
    settingsSections(r.configs),
    '',
    `Files: \`series.csv\` (every charted series of every run, one row per run and step), \`configs.json\` (each run's full config), \`charts/\`.`,
    '',
  )
  return lines.join('\n')
}
