// The Compare view's and the rollout viewer's reads: chart series, config diff, summaries, the results table,
// rollout groups (with their tied votes) and the Co-rewarding-I agreement heatmap. The queries live in
// store/analysis.ts, the math in series.ts, results.ts, vote-ties.ts and agreement.ts.
import type { ChartSeries, CollapseMarker, Result, RolloutGroup } from '../../preload/contract'
import type { VoteOptions } from '../engine/answers/vote'
import { detectCollapse } from '../engine/collapse'
import { hasParaphraseView, isRewardModeId, rewardMode } from '../engine/rewards'
import {
  bestMetric,
  collapseMetricRows,
  comparedRuns,
  heldOutRows,
  lastMetric,
  metricColumn,
  metricKeyCounts,
  rolloutRows,
  runAlerts,
  sampledRecords,
  sampledSteps,
  viewAnswers,
} from '../store/analysis'
import type { ComparedRun, MetricRow } from '../store/analysis'
import type { Db } from '../store/database'
import { readTransaction } from '../store/sql'
import { agreementCells } from './agreement'
import type { AgreementRecord } from './agreement'
import { ApiError } from './dispatch'
import type { Handlers } from './dispatch'
import { accuracyResult, heldOutAccuracy, resultRow } from './results'
import type { MetricRows, RunResult } from './results'
import { drawLine, groupLine, isSparse, runLine } from './series'
import type { Line, RunPoints } from './series'
import { voteTies } from './vote-ties'

export type AnalysisHandlers = Pick<
  Handlers,
  | 'metrics.keys'
  | 'metrics.series'
  | 'compare.configDiff'
  | 'compare.summary'
  | 'compare.results'
  | 'rollouts.steps'
  | 'rollouts.get'
  | 'rollouts.across'
  | 'rollouts.agreement'
>

interface RunGroup {
  /** The run's name, or `field=value` for a group. */
  label: string
  runs: ComparedRun[]
}

/** The metrics detectCollapse reads (besides the held-out accuracy keys). */
const COLLAPSE_KEYS = ['critic/score/mean', 'response_length/mean', 'response_length/clip_ratio', 'coreward/pseudo_acc']

const finite = (value: number | null): number | null => (value !== null && Number.isFinite(value) ? value : null)
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** A config's leaves as dotted paths in the config's own order; arrays and empty objects are leaves. */
export function flattenConfig(
  config: Record<string, unknown>,
  prefix = '',
  into = new Map<string, unknown>(),
): Map<string, unknown> {
  for (const [name, value] of Object.entries(config)) {
    const path = prefix + name
    if (isObject(value) && Object.keys(value).length > 0) flattenConfig(value, `${path}.`, into)
    else into.set(path, value)
  }
  return into
}

function configValue(config: Record<string, unknown>, path: string): unknown {
  let value: unknown = config
  for (const name of path.split('.')) value = isObject(value) ? value[name] : undefined
  return value
}

/** How the run matched answers when it voted: exactly (the reference), or by GT equivalence. */
const votingOf = (run: ComparedRun): VoteOptions => ({ normalised: configValue(run.config, 'voting.normalised') === true })

const groupValueText = (value: unknown): string =>
  value === undefined ? '(unset)' : typeof value === 'string' ? value : JSON.stringify(value)

/** The stored step nearest `wanted` (the earlier one on a tie); null when none is stored. */
export function nearestStep(steps: readonly number[], wanted: number): number | null {
  let best: number | null = null
  for (const step of steps) if (best === null || Math.abs(step - wanted) < Math.abs(best - wanted)) best = step
  return best
}

/** Metrics lower-is-better for compare.summary's best. */
const lowerIsBetter = (key: string): boolean => /loss|kl/i.test(key)

export function analysisHandlers(db: Db): AnalysisHandlers {
  /** The runs asked for, in the order asked (each once); a missing one is a not_found error naming it. */
  function chosenRuns(ids: readonly number[]): ComparedRun[] {
    const byId = new Map(comparedRuns(db, ids).map((run) => [run.id, run]))
    const missing = [...new Set(ids)].filter((id) => !byId.has(id))
    if (missing.length > 0) {
      throw new ApiError(
        'not_found',
        `No run with id${missing.length > 1 ? 's' : ''} ${missing.join(', ')} in this workspace (deleted?); choose runs from the run list.`,
      )
    }
    return [...new Set(ids)].map((id) => byId.get(id)!)
  }

  /** One group per run, or the runs grouped by their mode or a config field, in order of first appearance. */
  function groupsOf(runs: ComparedRun[], groupBy: string | null): RunGroup[] {
    if (groupBy === null) return runs.map((run) => ({ label: run.name, runs: [run] }))
    const values = runs.map((run) => (groupBy === 'mode' ? run.mode : configValue(run.config, groupBy)))
    if (values.every((value) => value === undefined)) {
      const message = `groupBy: none of the chosen runs has the config field "${groupBy}"; group by mode or a field of their configs (learning_rate, kl.coef).`
      throw new ApiError('invalid_request', message, [{ path: 'groupBy', message }])
    }
    const groups = new Map<string, RunGroup>()
    runs.forEach((run, i) => {
      const text = groupValueText(values[i])
      const group = groups.get(text)
      if (group) group.runs.push(run)
      else groups.set(text, { label: `${groupBy}=${text}`, runs: [run] })
    })
    return [...groups.values()]
  }

  /** A run's points of a metric; call it inside a snapshot, so that its columns agree while trainers write. */
  function points(run: number, key: string, x: 'step' | 'tokens' | 'wall'): RunPoints {
    const steps = metricColumn(db, run, key, 'step') as number[]
    const values = metricColumn(db, run, key, 'value') as (number | null)[]
    for (let i = 0; i < values.length; i++) values[i] = finite(values[i]!)
    return { steps, xs: x === 'step' ? steps : (metricColumn(db, run, key, x) as number[]), values }
  }

  /** Stored alerts for runs this workbench trained; for imported runs, the rules over their logged series. */
  function collapseMarkers(runs: ComparedRun[]): CollapseMarker[] {
    const markers: CollapseMarker[] = []
    const local = runs.filter((run) => run.origin === 'local').map((run) => run.id)
    for (const alert of runAlerts(db, local)) {
      const { data } = alert
      const step = alert.step ?? (typeof data.step === 'number' ? data.step : null)
      if (step === null) continue
      markers.push({ run: alert.run, rule: typeof data.rule === 'string' ? data.rule : 'alert', step, message: alert.message })
    }
    for (const run of runs.filter((r) => r.origin !== 'local')) {
      const series = metricRows(collapseMetricRows(db, run.id, COLLAPSE_KEYS))
      for (const flag of detectCollapse(series))
        markers.push({ run: run.id, rule: flag.rule, step: flag.step, message: flag.message })
    }
    const order = new Map(runs.map((run, i) => [run.id, i]))
    return markers.sort((a, b) => a.step - b.step || order.get(a.run)! - order.get(b.run)!)
  }

  /** Reads in one transaction: one consistent view of the store while trainers commit steps. */
  function snapshot<T>(read: () => T): T {
    return readTransaction(db, read)
  }

  function runExists(run: number): ComparedRun {
    return chosenRuns([run])[0]!
  }

  /** A run's stored question groups at `step`, each with its rollouts and the views whose label a tie chose. */
  function groupsAt(run: ComparedRun, step: number): RolloutGroup[] {
    const groups = new Map<number, RolloutGroup>()
    for (const { record, groupIndex, question, gt, ...sample } of rolloutRows(db, run.id, step)) {
      let group = groups.get(groupIndex)
      if (!group) {
        groups.set(
          groupIndex,
          (group = {
            groupIndex,
            record,
            // Without a record (an imported run) the original view's prompt is the question as the model saw it.
            question: question ?? sample.prompt,
            gt: gt !== null && gt.trim() !== '' ? gt : null,
            samples: [],
          }),
        )
      }
      group.samples.push(sample)
    }
    // Co-rewarding-I's cross_view (absent = true) says which view's vote scored each view.
    const scoring = { voting: votingOf(run), crossView: configValue(run.config, 'cross_view') !== false }
    for (const group of groups.values()) {
      const ties = voteTies(run.mode, group.samples, scoring)
      if (ties) group.ties = ties
    }
    return [...groups.values()]
  }

  return {
    'metrics.keys': ({ runs }) => {
      chosenRuns(runs)
      return metricKeyCounts(db, runs)
    },

    'metrics.series': ({ runs: ids, keys, x, smoothing, groupBy, maxPoints }) =>
      snapshot(() => {
        const runs = chosenRuns(ids)
        const groups = groupsOf(runs, groupBy)
        const series: ChartSeries[] = []
        const logs = new Map(runs.map((run) => [run.id, new Map([...new Set(keys)].map((key) => [key, points(run.id, key, x)]))]))
        // A run's steps, for telling sparse series from dense: how often it logged its densest charted key.
        const runSteps = new Map(
          [...logs].map(([run, byKey]) => [run, Math.max(...[...byKey.values()].map((p) => p.steps.length))]),
        )
        for (const key of new Set(keys)) {
          const lines = new Map<number, Line>()
          const sparseRuns = new Set<number>()
          for (const run of runs) {
            const logged = logs.get(run.id)!.get(key)!
            const sparse = isSparse(key, logged.steps.length, runSteps.get(run.id)!)
            if (sparse) sparseRuns.add(run.id)
            if (logged.steps.length > 0) lines.set(run.id, runLine(logged, sparse ? 0 : smoothing))
          }
          for (const group of groups) {
            const members = group.runs.filter((run) => lines.has(run.id))
            if (members.length === 0) continue
            const line = groupBy === null ? lines.get(members[0]!.id)! : groupLine(members.map((run) => lines.get(run.id)!))
            if (line.steps.length === 0) continue
            const label =
              groupBy === null ? group.label : `${group.label} (${members.length} run${members.length === 1 ? '' : 's'})`
            const sparse = members.every((run) => sparseRuns.has(run.id))
            const drawn = drawLine(line, maxPoints, smoothing > 0 && !sparse)
            series.push({ key, label, runs: members.map((run) => run.id), sparse, ...drawn })
          }
        }
        return { series, markers: collapseMarkers(runs) }
      }),

    'compare.configDiff': ({ runs: ids }) => {
      const configs = chosenRuns(ids).map((run) => flattenConfig(run.config))
      const paths = [...new Set(configs.flatMap((config) => [...config.keys()]))]
      const text = (config: Map<string, unknown>, path: string): string | undefined =>
        config.has(path) ? JSON.stringify(config.get(path)) : undefined
      return paths
        .filter((path) => configs.some((config) => text(config, path) !== text(configs[0]!, path)))
        .map((path) => ({ path, values: configs.map((config) => (config.has(path) ? config.get(path) : null)) }))
    },

    'compare.summary': ({ runs: ids, keys, atStep }) =>
      snapshot(() => {
        const out: Result<'compare.summary'> = []
        for (const run of chosenRuns(ids)) {
          for (const key of new Set(keys)) {
            const top = bestMetric(db, run.id, key, lowerIsBetter(key))
            const final = lastMetric(db, run.id, key)
            const at = atStep === undefined ? undefined : lastMetric(db, run.id, key, atStep)
            out.push({
              run: run.id,
              key,
              best: top?.value ?? null,
              bestStep: top?.step ?? null,
              final: finite(final?.value ?? null),
              finalStep: final?.step ?? null,
              at: finite(at?.value ?? null),
              atStep: at?.step ?? null,
            })
          }
        }
        return out
      }),

    'compare.results': ({ runs: ids, groupBy }) =>
      snapshot(() => {
        const runs = chosenRuns(ids)
        const groups = groupsOf(runs, groupBy)
        const firstFlag = new Map<number, CollapseMarker>()
        for (const marker of collapseMarkers(runs)) if (!firstFlag.has(marker.run)) firstFlag.set(marker.run, marker)
        const results = new Map<number, RunResult>(
          runs.map((run) => {
            const flag = firstFlag.get(run.id)
            const accuracy = accuracyResult(heldOutAccuracy(metricRows(heldOutRows(db, run.id))))
            return [
              run.id,
              {
                run: run.id,
                label: run.name,
                mode: run.mode,
                accuracy,
                collapse: flag ? { step: flag.step, rule: flag.rule } : null,
              },
            ]
          }),
        )
        return groups.map((group) =>
          resultRow(
            group.label,
            group.runs.map((run) => results.get(run.id)!),
          ),
        )
      }),

    'rollouts.steps': ({ run }) => {
      runExists(run)
      return sampledSteps(db, run)
    },

    'rollouts.get': ({ run, step }) => groupsAt(runExists(run), step),

    'rollouts.across': ({ runs, step }) =>
      snapshot(() =>
        chosenRuns(runs).map((run) => {
          const steps = sampledSteps(db, run.id)
          const at = nearestStep(steps, step)
          return { run: run.id, steps, step: at, groups: at === null ? [] : groupsAt(run, at) }
        }),
      ),

    'rollouts.agreement': ({ run }) =>
      snapshot(() => {
        const chosen = runExists(run)
        if (!isRewardModeId(chosen.mode) || !hasParaphraseView(rewardMode(chosen.mode))) {
          throw new ApiError(
            'invalid_request',
            `Run ${chosen.id} ("${chosen.name}") uses reward mode ${chosen.mode}; the agreement heatmap needs a run that rolls out each question and its paraphrase (co_rewarding_i).`,
          )
        }
        const samples = viewAnswers(db, run)
        const records = new Map(
          sampledRecords(db, run).map((r): [number, AgreementRecord] => [
            r.id,
            { question: r.question, gt: r.answer !== null && r.answer.trim() !== '' ? r.answer : null },
          ]),
        )
        return agreementCells(samples, records, votingOf(chosen))
      }),
  }
}

function metricRows(rows: readonly MetricRow[]): MetricRows {
  const series: Record<string, [number, number | null][]> = {}
  for (const { key, step, value } of rows) (series[key] ??= []).push([step, value])
  return series
}
