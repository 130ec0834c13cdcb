// The Compare view's and the rollout viewer's reads: chart series, config diff, summaries, the results table,
// rollout groups and the Co-rewarding-I agreement heatmap. Every query goes through an index (metrics by
// (run, key, step), samples by (run, step), events by run); the math lives in series.ts, results.ts and agreement.ts.
import type Database from 'better-sqlite3'
import type { ChartSeries, CollapseMarker, Result, RolloutGroup, RolloutSample } from '../../preload/contract'
import { detectCollapse } from '../engine/collapse'
import type { Db } from '../store/database'
import { agreementCells, type AgreementRecord, type AgreementSample } from './agreement'
import { ApiError, type Handlers } from './dispatch'
import { accuracyResult, heldOutAccuracy, resultRow, type MetricRows, type RunResult } from './results'
import { drawLine, groupLine, runLine, type Line, type RunPoints } from './series'

export type AnalysisHandlers = Pick<
  Handlers,
  | 'metrics.keys'
  | 'metrics.series'
  | 'compare.configDiff'
  | 'compare.summary'
  | 'compare.results'
  | 'rollouts.steps'
  | 'rollouts.get'
  | 'rollouts.agreement'
>

interface ChosenRun {
  id: number
  name: string
  mode: string
  origin: string
  config: Record<string, unknown>
}

interface RunGroup {
  /** The run's name, or `field=value` for a group. */
  label: string
  runs: ChosenRun[]
}

/** The metrics detectCollapse reads (besides the held-out accuracy keys). */
const COLLAPSE_KEYS = ['critic/score/mean', 'response_length/mean', 'response_length/clip_ratio', 'coreward/pseudo_acc']
// Every val-core/... key sorts between these two ('0' follows '/'), so the range walks the primary key.
const VAL_CORE_RANGE = `key >= 'val-core/' AND key < 'val-core0'`
const X_COLUMNS = { step: 'step', tokens: 'tokens', wall: 'wall_time' } as const
const VIEW_ORDER = `CASE s.view WHEN 'original' THEN 0 WHEN 'paraphrase' THEN 1 ELSE 2 END`

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

const groupValueText = (value: unknown): string =>
  value === undefined ? '(unset)' : typeof value === 'string' ? value : JSON.stringify(value)

/** Metrics lower-is-better for compare.summary's best. */
const lowerIsBetter = (key: string): boolean => /loss|kl/i.test(key)

export function analysisHandlers(db: Db): AnalysisHandlers {
  const statements = new Map<string, Database.Statement>()
  const sql = (text: string, mode?: 'pluck'): Database.Statement => {
    let statement = statements.get(text)
    if (!statement) statements.set(text, (statement = mode === 'pluck' ? db.prepare(text).pluck(true) : db.prepare(text)))
    return statement
  }

  /** The runs asked for, in the order asked (each once); a missing one is a not_found error naming it. */
  function chosenRuns(ids: readonly number[]): ChosenRun[] {
    const rows = sql(`SELECT id, name, mode, origin, config FROM runs WHERE id IN (SELECT value FROM json_each(?))`).all(
      JSON.stringify(ids),
    ) as (Omit<ChosenRun, 'config'> & { config: string })[]
    const byId = new Map(rows.map((row) => [row.id, { ...row, config: JSON.parse(row.config) as Record<string, unknown> }]))
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
  function groupsOf(runs: ChosenRun[], groupBy: string | null): RunGroup[] {
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

  /**
   * One column per query (pluck): building a small array per row costs more than the read itself. Call it inside
   * a read transaction so that the columns come from one snapshot while trainers write.
   */
  function points(run: number, key: string, x: keyof typeof X_COLUMNS): RunPoints {
    const column = (name: string): unknown[] =>
      sql(`SELECT ${name} FROM metrics WHERE run_id = ? AND key = ? ORDER BY step`, 'pluck').all(run, key)
    const steps = column('step') as number[]
    const values = column('value') as (number | null)[]
    for (let i = 0; i < values.length; i++) values[i] = finite(values[i]!)
    return { steps, xs: x === 'step' ? steps : (column(X_COLUMNS[x]) as number[]), values }
  }

  /** Stored alerts for runs this workbench trained; for imported runs, the rules over their logged series. */
  function collapseMarkers(runs: ChosenRun[]): CollapseMarker[] {
    const markers: CollapseMarker[] = []
    const local = runs.filter((run) => run.origin === 'local').map((run) => run.id)
    const alerts = sql(
      `SELECT run_id AS run, step, message, data FROM events
       WHERE run_id IN (SELECT value FROM json_each(?)) AND kind = 'alert' ORDER BY run_id, id`,
    ).all(JSON.stringify(local)) as { run: number; step: number | null; message: string; data: string }[]
    for (const alert of alerts) {
      const data = JSON.parse(alert.data) as Record<string, unknown>
      const step = alert.step ?? (typeof data.step === 'number' ? data.step : null)
      if (step === null) continue
      markers.push({ run: alert.run, rule: typeof data.rule === 'string' ? data.rule : 'alert', step, message: alert.message })
    }
    for (const run of runs.filter((r) => r.origin !== 'local')) {
      const series = metricRows(
        sql(
          `SELECT key, step, value FROM metrics WHERE run_id = @run AND key IN (SELECT value FROM json_each(@keys))
           UNION ALL SELECT key, step, value FROM metrics WHERE run_id = @run AND ${VAL_CORE_RANGE}`,
        ).all({ run: run.id, keys: JSON.stringify(COLLAPSE_KEYS) }) as MetricRow[],
      )
      for (const flag of detectCollapse(series))
        markers.push({ run: run.id, rule: flag.rule, step: flag.step, message: flag.message })
    }
    const order = new Map(runs.map((run, i) => [run.id, i]))
    return markers.sort((a, b) => a.step - b.step || order.get(a.run)! - order.get(b.run)!)
  }

  /** Reads in one transaction: one consistent view of the store while trainers commit steps. */
  function snapshot<T>(read: () => T): T {
    return db.transaction(read)()
  }

  function runExists(run: number): ChosenRun {
    return chosenRuns([run])[0]!
  }

  return {
    'metrics.keys': ({ runs }) => {
      chosenRuns(runs)
      // A skip-scan over the primary key: one index seek per (run, key) instead of a pass over every point.
      return sql(
        `WITH RECURSIVE chosen(run) AS (SELECT DISTINCT value FROM json_each(?)),
         found(run, key) AS (
           SELECT run, (SELECT MIN(key) FROM metrics WHERE run_id = chosen.run) FROM chosen
           UNION ALL
           SELECT run, (SELECT MIN(key) FROM metrics WHERE run_id = found.run AND key > found.key) FROM found WHERE key IS NOT NULL
         )
         SELECT key, COUNT(*) AS runs FROM found WHERE key IS NOT NULL GROUP BY key ORDER BY key`,
      ).all(JSON.stringify(runs)) as { key: string; runs: number }[]
    },

    'metrics.series': ({ runs: ids, keys, x, smoothing, groupBy, maxPoints }) =>
      snapshot(() => {
        const runs = chosenRuns(ids)
        const groups = groupsOf(runs, groupBy)
        const series: ChartSeries[] = []
        for (const key of new Set(keys)) {
          const lines = new Map<number, Line>()
          for (const run of runs) {
            const logged = points(run.id, key, x)
            if (logged.steps.length > 0) lines.set(run.id, runLine(logged, smoothing))
          }
          for (const group of groups) {
            const members = group.runs.filter((run) => lines.has(run.id))
            if (members.length === 0) continue
            const line = groupBy === null ? lines.get(members[0]!.id)! : groupLine(members.map((run) => lines.get(run.id)!))
            if (line.steps.length === 0) continue
            const label =
              groupBy === null ? group.label : `${group.label} (${members.length} run${members.length === 1 ? '' : 's'})`
            series.push({ key, label, runs: members.map((run) => run.id), ...drawLine(line, maxPoints, smoothing > 0) })
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
        type Row = { step: number; value: number | null } | undefined
        const best = (order: 'ASC' | 'DESC'): Database.Statement =>
          sql(
            `SELECT step, value FROM metrics WHERE run_id = ? AND key = ? AND abs(value) <= 1.7976931348623157e308
           ORDER BY value ${order}, step LIMIT 1`,
          )
        const last = sql('SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step DESC LIMIT 1')
        const lastUpTo = sql(
          'SELECT step, value FROM metrics WHERE run_id = ? AND key = ? AND step <= ? ORDER BY step DESC LIMIT 1',
        )
        const out: Result<'compare.summary'> = []
        for (const run of chosenRuns(ids)) {
          for (const key of new Set(keys)) {
            const top = best(lowerIsBetter(key) ? 'ASC' : 'DESC').get(run.id, key) as Row
            const final = last.get(run.id, key) as Row
            const at = atStep === undefined ? undefined : (lastUpTo.get(run.id, key, atStep) as Row)
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
        const heldOut = sql(`SELECT key, step, value FROM metrics WHERE run_id = ? AND ${VAL_CORE_RANGE} ORDER BY key, step`)
        const results = new Map<number, RunResult>(
          runs.map((run) => {
            const flag = firstFlag.get(run.id)
            const accuracy = accuracyResult(heldOutAccuracy(metricRows(heldOut.all(run.id) as MetricRow[])))
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
      // A skip-scan over samples_by_run_step: one seek per stored step, not one per sample.
      return (
        sql(
          `WITH RECURSIVE stored(step) AS (
             SELECT MIN(step) FROM samples WHERE run_id = @run
             UNION ALL
             SELECT (SELECT MIN(step) FROM samples WHERE run_id = @run AND step > stored.step) FROM stored WHERE step IS NOT NULL
           )
           SELECT step FROM stored WHERE step IS NOT NULL`,
        ).all({ run }) as { step: number }[]
      ).map((row) => row.step)
    },

    'rollouts.get': ({ run, step }) => {
      runExists(run)
      const rows = sql(
        `SELECT s.id, s.record_id AS record, s.group_index AS groupIndex, s.view, s.prompt, s.text, s.answer,
                s.pseudo_label AS pseudoLabel, s.reward, s.advantage, r.question, COALESCE(r.answer, s.gt) AS gt
         FROM samples s LEFT JOIN records r ON r.id = s.record_id
         WHERE s.run_id = ? AND s.step = ? ORDER BY s.group_index, ${VIEW_ORDER}, s.id`,
      ).all(run, step) as (RolloutSample & {
        record: number | null
        groupIndex: number
        question: string | null
        gt: string | null
      })[]
      const groups = new Map<number, RolloutGroup>()
      for (const { record, groupIndex, question, gt, ...sample } of rows) {
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
      return [...groups.values()]
    },

    'rollouts.agreement': ({ run }) =>
      snapshot(() => {
        const chosen = runExists(run)
        if (chosen.mode !== 'co_rewarding_i') {
          throw new ApiError(
            'invalid_request',
            `Run ${chosen.id} ("${chosen.name}") uses reward mode ${chosen.mode}; the agreement heatmap needs a co_rewarding_i run, which rolls out each question and its paraphrase.`,
          )
        }
        const samples = sql(
          `SELECT step, record_id AS recordId, group_index AS groupIndex, view, answer FROM samples
         WHERE run_id = ? AND view IN ('original', 'paraphrase') ORDER BY step, id`,
        ).all(run) as AgreementSample[]
        const records = new Map(
          (
            sql(
              `SELECT id, question, answer FROM records WHERE id IN (SELECT DISTINCT record_id FROM samples WHERE run_id = ?)`,
            ).all(run) as { id: number; question: string; answer: string | null }[]
          ).map((r): [number, AgreementRecord] => [
            r.id,
            { question: r.question, gt: r.answer !== null && r.answer.trim() !== '' ? r.answer : null },
          ]),
        )
        const voting = configValue(chosen.config, 'voting.normalised')
        return agreementCells(samples, records, { normalised: voting === true })
      }),
  }
}

type MetricRow = { key: string; step: number; value: number | null }

function metricRows(rows: readonly MetricRow[]): MetricRows {
  const series: Record<string, [number, number | null][]> = {}
  for (const { key, step, value } of rows) (series[key] ??= []).push([step, value])
  return series
}
