// The one API contract between the workbench UI and its host (Electron main or `cwb serve`).
// Requests are validated against these schemas at the boundary; responses and events are typed here
// so that both transports (Electron IPC, HTTP + WebSocket) and the renderer agree on one shape.
import { z } from 'zod'

export const RUN_STATUSES = ['queued', 'running', 'stopping', 'finished', 'stopped', 'failed', 'interrupted'] as const
export const REWARD_MODES = [
  'ground_truth',
  'majority_voting',
  'self_certainty',
  'entropy',
  'co_rewarding_i',
  'co_rewarding_ii',
] as const

const noParams = z.object({}).strict()
const id = z.number().int().positive()

export const Backend = z.object({
  family: z.enum(['tfjs', 'onnxruntime']),
  name: z.string(),
  available: z.boolean(),
  detail: z.string(),
})
export type Backend = z.infer<typeof Backend>

export const AppInfo = z.object({
  version: z.string(),
  workspace: z.string(),
  host: z.enum(['electron', 'browser']),
  schemaVersion: z.number().int(),
})
export type AppInfo = z.infer<typeof AppInfo>

export const RUN_ORIGINS = ['local', 'verl', 'trl', 'imported'] as const
export const RUN_PHASES = ['queued', 'starting', 'rollout', 'scoring', 'update', 'validation', 'checkpoint'] as const
export const SAMPLE_VIEWS = ['original', 'paraphrase', 'teacher'] as const

export const RunSummary = z.object({
  id,
  name: z.string(),
  mode: z.enum(REWARD_MODES),
  status: z.enum(RUN_STATUSES),
  /** The last step with metrics (0 before the first). */
  steps: z.number().int(),
  /** The configured number of steps (`config.steps`; for imported runs the last logged step). */
  totalSteps: z.number().int(),
  seed: z.number().int(),
  origin: z.enum(RUN_ORIGINS),
  dataset: z.string().nullable(),
  tags: z.array(z.string()),
  notes: z.string(),
  /** Collapse alerts raised so far. */
  alerts: z.number().int(),
  /** A running run whose trainer has shown no activity for several times its median step time. */
  stalled: z.boolean(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
})
export type RunSummary = z.infer<typeof RunSummary>

export const RunEvent = z.object({
  id,
  time: z.string(),
  level: z.enum(['debug', 'info', 'warning', 'error']),
  kind: z.enum(['log', 'alert', 'status']),
  step: z.number().int().nullable(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
})
export type RunEvent = z.infer<typeof RunEvent>

/** A collapse flag (main/engine/collapse.ts): the rule, the step it marks, one sentence with the numbers. */
export const CollapseMarker = z.object({
  run: id,
  rule: z.string(),
  step: z.number().int(),
  message: z.string(),
})
export type CollapseMarker = z.infer<typeof CollapseMarker>

/** Everything the live panel shows about one run. */
export const RunDetail = RunSummary.extend({
  config: z.record(z.string(), z.unknown()),
  environment: z.record(z.string(), z.unknown()),
  backend: z.string().nullable(),
  startedAt: z.string().nullable(),
  /** What the trainer is doing now (null when no trainer runs). */
  phase: z.enum(RUN_PHASES).nullable(),
  /** When the trainer last reported anything (a phase or a step); ISO time. */
  activityAt: z.string().nullable(),
  /** Median seconds per step so far (null before two steps). */
  medianStepSeconds: z.number().nullable(),
  /** Seconds to the last step at the median pace (null when unknown or not running). */
  etaSeconds: z.number().nullable(),
  /** Tokens per second over the last steps (null before two steps). */
  tokensPerSecond: z.number().nullable(),
  /** The last logged value of every metric key, with the step it was logged at. */
  latest: z.array(z.object({ key: z.string(), step: z.number().int(), value: z.number().nullable() })),
  collapse: z.array(CollapseMarker),
  checkpoints: z.array(z.object({ id, step: z.number().int(), tags: z.array(z.string()), path: z.string() })),
  /** Bytes under the run's folder (checkpoints, exports). */
  diskBytes: z.number().int(),
  /** Whether this host started the trainer (it can kill it) or another process (the CLI) did. */
  ownedHere: z.boolean(),
})
export type RunDetail = z.infer<typeof RunDetail>

export const ConfigPreset = z.object({
  id: z.string(),
  label: z.string(),
  description: z.string(),
  /** One config per run the preset launches (partial: defaults fill the rest). */
  configs: z.array(z.record(z.string(), z.unknown())),
})
export type ConfigPreset = z.infer<typeof ConfigPreset>

export const FieldIssue = z.object({ path: z.string(), message: z.string() })
export type FieldIssue = z.infer<typeof FieldIssue>

export const X_AXES = ['step', 'tokens', 'wall'] as const
export type XAxis = (typeof X_AXES)[number]

/** One line on a chart: a run, or a group of runs drawn as mean with a min-max band. */
export const ChartSeries = z.object({
  key: z.string(),
  /** Legend label: the run's name, or the group's value (`mode=co_rewarding_i`). */
  label: z.string(),
  runs: z.array(id),
  /** [x, y] raw values (downsampled), nulls where NaN was logged. */
  raw: z.array(z.tuple([z.number(), z.number().nullable()])),
  /** [x, y] after exponential smoothing (equal to raw when smoothing is 0). */
  smoothed: z.array(z.tuple([z.number(), z.number().nullable()])),
  /** Groups only: [x, min, max] of the members' smoothed values. */
  band: z.array(z.tuple([z.number(), z.number(), z.number()])).optional(),
  /** Points before downsampling. */
  total: z.number().int(),
})
export type ChartSeries = z.infer<typeof ChartSeries>

export const RolloutSample = z.object({
  id,
  view: z.enum(SAMPLE_VIEWS),
  prompt: z.string(),
  text: z.string(),
  answer: z.string(),
  pseudoLabel: z.string().nullable(),
  reward: z.number().nullable(),
  advantage: z.number().nullable(),
})
export type RolloutSample = z.infer<typeof RolloutSample>

export const RolloutGroup = z.object({
  groupIndex: z.number().int(),
  record: z.number().int().nullable(),
  question: z.string(),
  /** The record's ground-truth answer, when it has one. */
  gt: z.string().nullable(),
  samples: z.array(RolloutSample),
})
export type RolloutGroup = z.infer<typeof RolloutGroup>

export const ResultRow = z.object({
  /** The run's name, or the group's value when grouped. */
  label: z.string(),
  mode: z.string(),
  runs: z.array(id),
  /** Held-out accuracy (0-1): at step 0, the best and its step, and at the last validation; mean over the runs. */
  before: z.number().nullable(),
  best: z.number().nullable(),
  bestStep: z.number().int().nullable(),
  final: z.number().nullable(),
  /** Min and max of best and final over the runs (grouped rows with several seeds). */
  bestRange: z.tuple([z.number(), z.number()]).nullable(),
  finalRange: z.tuple([z.number(), z.number()]).nullable(),
  /** The first collapse flag's step (earliest over the runs) and rule. */
  collapseStep: z.number().int().nullable(),
  collapseRule: z.string().nullable(),
})
export type ResultRow = z.infer<typeof ResultRow>

const runIds = z.array(id).min(1).max(64)

export const DatasetSummary = z.object({
  id,
  name: z.string(),
  records: z.number().int(),
  withAnswer: z.number().int(),
  paraphrases: z.number().int(),
  createdAt: z.string(),
})
export type DatasetSummary = z.infer<typeof DatasetSummary>

export const CheckpointSummary = z.object({
  id,
  run: id,
  runName: z.string(),
  step: z.number().int(),
  path: z.string(),
  tags: z.array(z.string()),
  createdAt: z.string(),
})
export type CheckpointSummary = z.infer<typeof CheckpointSummary>

/** Every method: its request schema (validated) and its response schema (the type the caller gets). */
export const methods = {
  'app.info': { params: noParams, result: AppInfo },
  'backends.list': { params: z.object({ refresh: z.boolean().optional() }).strict(), result: z.array(Backend) },
  'runs.list': { params: noParams, result: z.array(RunSummary) },
  'runs.get': { params: z.object({ run: id }).strict(), result: RunDetail },
  /** The run's log, status and alert events after `afterId` (to follow it live), oldest first. */
  'runs.log': {
    params: z
      .object({ run: id, afterId: z.number().int().min(0).optional(), limit: z.number().int().min(1).max(5000).optional() })
      .strict(),
    result: z.array(RunEvent),
  },
  /** The launch form's source: the run config's JSON Schema, each mode's defaults, and presets. */
  'runs.form': {
    params: noParams,
    result: z.object({
      schema: z.record(z.string(), z.unknown()),
      defaults: z.record(z.string(), z.record(z.string(), z.unknown())),
      presets: z.array(ConfigPreset),
      datasets: z.array(z.string()),
    }),
  },
  /** Checks a config as the trainer would: the complete config, or every bad field and why. */
  'runs.validate': {
    params: z.object({ config: z.unknown() }).strict(),
    result: z.object({ config: z.record(z.string(), z.unknown()).nullable(), issues: z.array(FieldIssue) }),
  },
  /** Queues one run per config (a preset or a seed sweep gives several); they start as cores free up. */
  'runs.launch': {
    params: z.object({ configs: z.array(z.unknown()).min(1).max(256) }).strict(),
    result: z.object({ runs: z.array(id) }),
  },
  /** The queue: how many run at a time here, which run and which wait. */
  'runs.queue': {
    params: noParams,
    result: z.object({ slots: z.number().int(), running: z.array(id), queued: z.array(id) }),
  },
  /** Asks the trainer to stop after its current step (with a checkpoint); a queued run is dequeued. */
  'runs.stop': { params: z.object({ run: id }).strict(), result: RunSummary },
  /** Queues a stopped, failed or interrupted run to resume from its latest checkpoint. */
  'runs.resume': { params: z.object({ run: id }).strict(), result: RunSummary },
  /** Ends the trainer process at once (no checkpoint); the run becomes failed and can be resumed. */
  'runs.kill': { params: z.object({ run: id }).strict(), result: RunSummary },
  'runs.update': {
    params: z
      .object({
        run: id,
        name: z.string().trim().min(1).max(200).optional(),
        notes: z.string().max(100_000).optional(),
        tags: z.array(z.string().trim().min(1).max(64)).max(64).optional(),
      })
      .strict(),
    result: RunSummary,
  },
  /** Deletes a run that is not running, with its metrics, samples, events, checkpoints and folder. */
  'runs.delete': { params: z.object({ run: id }).strict(), result: z.object({ run: id, freedBytes: z.number().int() }) },
  /** Applies a retention setting now: keeps the last `keep` checkpoints plus the tagged ones; returns removed steps. */
  'runs.prune': {
    params: z.object({ run: id, keep: z.number().int().min(1) }).strict(),
    result: z.object({ removed: z.array(z.number().int()), freedBytes: z.number().int() }),
  },
  /** Bytes on disk per run (run folder), for the run list. */
  'runs.disk': { params: noParams, result: z.array(z.object({ run: id, bytes: z.number().int() })) },
  /** The metric keys logged by any of the runs, with how many of them logged each. */
  'metrics.keys': {
    params: z.object({ runs: runIds }).strict(),
    result: z.array(z.object({ key: z.string(), runs: z.number().int() })),
  },
  /** Chart data: per key, one series per run (or per group: mean with min-max band), smoothed and downsampled. */
  'metrics.series': {
    params: z
      .object({
        runs: runIds,
        keys: z.array(z.string()).min(1).max(64),
        x: z.enum(X_AXES).default('step'),
        /** Exponential smoothing weight in [0, 1) (TensorBoard's; 0 = none). */
        smoothing: z.number().min(0).max(0.999).default(0),
        /** Group runs by `mode` or any config field path (`learning_rate`, `kl.coef`); null draws each run. */
        groupBy: z.string().min(1).nullable().default(null),
        /** Most points per drawn series (longer series are downsampled, keeping peaks). */
        maxPoints: z.number().int().min(10).max(100_000).default(1500),
      })
      .strict(),
    result: z.object({ series: z.array(ChartSeries), markers: z.array(CollapseMarker) }),
  },
  /** The config fields whose values differ between the runs (dotted paths; one value per run, in order). */
  'compare.configDiff': {
    params: z.object({ runs: runIds }).strict(),
    result: z.array(z.object({ path: z.string(), values: z.array(z.unknown()) })),
  },
  /** Best, final and at-a-step values of each key for each run. Best is the maximum, or the minimum for losses and KL. */
  'compare.summary': {
    params: z
      .object({ runs: runIds, keys: z.array(z.string()).min(1).max(64), atStep: z.number().int().min(0).optional() })
      .strict(),
    result: z.array(
      z.object({
        run: id,
        key: z.string(),
        best: z.number().nullable(),
        bestStep: z.number().int().nullable(),
        final: z.number().nullable(),
        finalStep: z.number().int().nullable(),
        at: z.number().nullable(),
        atStep: z.number().int().nullable(),
      }),
    ),
  },
  /** The paper-style results table: held-out accuracy before, best and final, per run or per group. */
  'compare.results': {
    params: z.object({ runs: runIds, groupBy: z.string().min(1).nullable().default(null) }).strict(),
    result: z.array(ResultRow),
  },
  /** The steps of a run with stored rollouts. */
  'rollouts.steps': { params: z.object({ run: id }).strict(), result: z.array(z.number().int()) },
  /** Each stored question group of a step with its rollouts per view. */
  'rollouts.get': { params: z.object({ run: id, step: z.number().int().min(0) }).strict(), result: z.array(RolloutGroup) },
  /** Co-rewarding-I: per question and step, whether the original's and the paraphrase's majority answers agree. */
  'rollouts.agreement': {
    params: z.object({ run: id }).strict(),
    result: z.object({
      steps: z.array(z.number().int()),
      questions: z.array(z.object({ record: z.number().int(), question: z.string(), gt: z.string().nullable() })),
      /** q and s index questions and steps; gtCorrect: the original's majority answer equals GT (null without GT). */
      cells: z.array(
        z.object({
          q: z.number().int(),
          s: z.number().int(),
          agree: z.boolean(),
          original: z.string(),
          paraphrase: z.string(),
          gtCorrect: z.boolean().nullable(),
        }),
      ),
    }),
  },
  'datasets.list': { params: noParams, result: z.array(DatasetSummary) },
  'checkpoints.list': {
    params: z.object({ run: id.optional() }).strict(),
    result: z.array(CheckpointSummary),
  },
} as const

export type MethodName = keyof typeof methods
export type Params<M extends MethodName> = z.input<(typeof methods)[M]['params']>
export type Result<M extends MethodName> = z.infer<(typeof methods)[M]['result']>

/** Events pushed from the host to every connected UI. */
export const events = {
  /** Another connection (a CLI command, a trainer) committed to the store: views re-read what they show. */
  'store.changed': z.object({ dataVersion: z.number().int() }),
  /** The backend probe finished (it runs off the UI thread after start-up). */
  'backends.changed': z.array(Backend),
  /** A run finished, failed, stopped or tripped a collapse rule: worth a desktop notification. */
  'run.notice': z.object({
    run: id,
    name: z.string(),
    kind: z.enum(['finished', 'failed', 'stopped', 'interrupted', 'alert']),
    message: z.string(),
  }),
} as const

export type EventName = keyof typeof events
export type EventPayload<E extends EventName> = z.infer<(typeof events)[E]>

export const ERROR_CODES = ['invalid_request', 'unknown_method', 'not_found', 'conflict', 'internal'] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ApiErrorBody {
  code: ErrorCode
  message: string
  /** For invalid requests: which field is wrong and why. */
  issues?: { path: string; message: string }[]
}

export type Reply<T> = { ok: true; result: T } | { ok: false; error: ApiErrorBody }

/** What every transport offers the renderer; the Electron preload exposes exactly this as `window.api`. */
export interface WorkbenchBridge {
  call(method: string, params: unknown): Promise<Reply<unknown>>
  on(listener: (event: string, payload: unknown) => void): () => void
}

export { IPC_CALL, IPC_EVENT } from './channels'
