// The one API contract between the workbench UI and its host (Electron main or `cwb serve`).
// Requests are validated against these schemas at the boundary; responses and events are typed here
// so that both transports (Electron IPC, HTTP + WebSocket) and the renderer agree on one shape.
import { z } from 'zod'
import {
  RUN_STATUSES,
  ENDED_RUN_STATUSES,
  RUN_ORIGINS,
  RUN_PHASES,
  SAMPLE_VIEWS,
  EVENT_LEVELS,
  EVENT_KINDS,
  IMPORT_CONTAINERS,
  IMPORT_SCHEMAS,
  CHECKPOINT_WEIGHTS,
  BUNDLE_CHECKPOINTS,
  X_AXES,
  RUN_LOG_FORMATS,
  PARAPHRASE_STATUSES,
  PARAPHRASE_ORIGINS,
  FINDING_CHECKS,
  SEVERITIES,
  IMPORT_FORMATS,
  EXPORT_FORMATS,
  MODEL_EXPORT_FORMATS,
} from './constants'

// The plain constants are part of the contract too.
export * from './constants'

const noParams = z.object({}).strict()
const id = z.number().int().positive()

export const Backend = z.object({
  family: z.enum(['tfjs', 'onnxruntime']),
  name: z.string(),
  available: z.boolean(),
  detail: z.string(),
})
export type Backend = z.infer<typeof Backend>

/** A reward mode as the UI shows it. The host's registry (main/engine/rewards) knows the modes: the contract takes
 * any mode name and the host checks it, so a mode added there needs no change here. */
export const RewardModeInfo = z.object({
  id: z.string(),
  label: z.string(),
  description: z.string(),
  colour: z.string(),
  /** The views its runs roll out besides the original: paraphrase (Co-rewarding-I), teacher (Co-rewarding-II). */
  extraViews: z.array(z.enum(SAMPLE_VIEWS).exclude(['original'])),
  /** Rewards with the ground truth; every other mode is label-free. */
  usesGroundTruth: z.boolean(),
})
export type RewardModeInfo = z.infer<typeof RewardModeInfo>

const rewardModeName = z.string().min(1)

export const AppInfo = z.object({
  version: z.string(),
  workspace: z.string(),
  host: z.enum(['electron', 'browser']),
  schemaVersion: z.number().int(),
  /** The reward modes the host knows, in its order: where the UI takes their labels and chart colours from. */
  modes: z.array(RewardModeInfo),
})
export type AppInfo = z.infer<typeof AppInfo>

const DatasetSummaryBase = z.object({
  id,
  name: z.string(),
  records: z.number().int(),
  withAnswer: z.number().int(),
  paraphrases: z.number().int(),
  createdAt: z.string(),
})
export const DatasetSummary = DatasetSummaryBase
export type DatasetSummary = z.infer<typeof DatasetSummary>

export const RunSummary = z.object({
  id,
  name: z.string(),
  mode: rewardModeName,
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
  /** Held-out accuracy (greedy, mean over the validation sources) at the last validated step, and that step. */
  heldOut: z.number().nullable(),
  heldOutStep: z.number().int().nullable(),
  /** The training score (`critic/score/mean`, the reward the run's own mode gave) at its last step. */
  reward: z.number().nullable(),
  /** A running run whose trainer has shown no activity for several times its median step time. */
  stalled: z.boolean(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
})
export type RunSummary = z.infer<typeof RunSummary>

export const RunEvent = z.object({
  id,
  time: z.string(),
  level: z.enum(EVENT_LEVELS),
  kind: z.enum(EVENT_KINDS),
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
  /** NaN is null; JSON has no infinities, so they travel as the strings "Infinity" and "-Infinity". */
  latest: z.array(
    z.object({
      key: z.string(),
      step: z.number().int(),
      value: z.union([z.number(), z.enum(['Infinity', '-Infinity'])]).nullable(),
    }),
  ),
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
  /** One sentence; `{mode}` stands for the mode of a one-run preset's config, which the user may change. */
  description: z.string(),
  /** One config per run the preset launches (partial: defaults fill the rest). */
  configs: z.array(z.record(z.string(), z.unknown())),
})
export type ConfigPreset = z.infer<typeof ConfigPreset>

export const FieldIssue = z.object({ path: z.string(), message: z.string() })
export type FieldIssue = z.infer<typeof FieldIssue>

const PLAN_PHASES = ['always', 'rollout', 'logprob', 'update'] as const

/**
 * A run's memory plan before launch (the launch form's panel, `cwb train --plan`): parameters, trainable parameters
 * and the bytes each part of a GRPO step holds, against the limit of the backend its trainer will use.
 */
export const MemoryPlan = z.object({
  /** The model's model_type (cwb-gpt, qwen2, qwen3, llama). */
  model: z.string(),
  backend: z.string(),
  parameters: z.number().int().min(0),
  /** Parameters the optimizer updates: all of them, or LoRA's adapters alone. */
  trainable: z.number().int().min(0),
  components: z.array(
    z.object({
      /** weights, gradients, optimizer state, teacher or KL reference, activations, rollout KV cache, ... */
      name: z.string(),
      bytes: z.number().int().min(0),
      /** When it is held: the whole run ('always'), or during one phase of a step. */
      phase: z.enum(PLAN_PHASES),
      /** False for host memory outside the backend's limit (onnxruntime's buffers on wasm or a GPU). */
      counted: z.boolean(),
      /** How it is computed. */
      note: z.string(),
    }),
  ),
  /** The phase whose transient memory sets the peak. */
  peakPhase: z.enum(PLAN_PHASES).exclude(['always']),
  /** Peak bytes held against the limit. */
  total: z.number().int().min(0),
  /** Peak host bytes outside the backend's limit; 0 when everything counts. */
  outside: z.number().int().min(0),
  /** The backend's limit in bytes; null when the backend does not report one (a GPU that says nothing). */
  limit: z.number().int().min(0).nullable(),
  fits: z.boolean(),
  /** When it does not fit: concrete changes, each with the total it gives. */
  advice: z.array(z.string()),
})
export type MemoryPlan = z.infer<typeof MemoryPlan>

export type XAxis = (typeof X_AXES)[number]

/** One line on a chart: a run, or a group of runs drawn as mean with a min-max band. */
export const ChartSeries = z.object({
  key: z.string(),
  /** Legend label: the run's name, or the group's value (`mode=co_rewarding_i`). */
  label: z.string(),
  runs: z.array(id),
  /** [x, y] raw values (downsampled), nulls where NaN was logged. */
  raw: z.array(z.tuple([z.number(), z.number().nullable()])),
  /** The step of each point of `raw` (and `smoothed`), whatever the x axis: a clicked point opens that step's rollouts. */
  steps: z.array(z.number().int()),
  /** [x, y] after exponential smoothing (equal to raw when smoothing is 0 or the series is sparse). */
  smoothed: z.array(z.tuple([z.number(), z.number().nullable()])),
  /** Groups only: [x, min, max] of the members' smoothed values. */
  band: z.array(z.tuple([z.number(), z.number(), z.number()])).optional(),
  /** Points before downsampling. */
  total: z.number().int(),
  /** Logged on too few steps to smooth (validation metrics, or under half its run's steps): `smoothed` equals `raw`. */
  sparse: z.boolean(),
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

/** A pseudo label the tie-break chose: two or more answers shared the winning count of the vote that set it. */
export const VoteTie = z.object({
  /** The view scored against the label (original; paraphrase for Co-rewarding-I, scored against the original's vote). */
  view: z.enum(SAMPLE_VIEWS),
  /** The tied answers in the order first seen: the label, which the tie-break took for coming first, leads. */
  answers: z.array(z.string()),
  /** Votes each tied answer got, and the rollouts that voted. */
  count: z.number().int(),
  total: z.number().int(),
})
export type VoteTie = z.infer<typeof VoteTie>

export const RolloutGroup = z.object({
  groupIndex: z.number().int(),
  record: z.number().int().nullable(),
  question: z.string(),
  /** The record's ground-truth answer, when it has one. */
  gt: z.string().nullable(),
  samples: z.array(RolloutSample),
  /** Views whose pseudo label came from a tie; absent where the run's mode has no vote to recount. */
  ties: z.array(VoteTie).optional(),
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

/** What one answer-preservation check found, how much it matters and what to look at. */
export const Finding = z.object({
  check: z.enum(FINDING_CHECKS),
  severity: z.enum(SEVERITIES),
  message: z.string(),
})
export type Finding = z.infer<typeof Finding>

/** A paraphrase with its answer-preservation checks (main/data/paraphrase/checks.ts). */
export const Paraphrase = z.object({
  id,
  text: z.string(),
  origin: z.enum(PARAPHRASE_ORIGINS),
  status: z.enum(PARAPHRASE_STATUSES),
  /** Names of the checks with a finding; `checks` holds the details (missing numbers, distance, ratio...). */
  failed: z.array(z.enum(FINDING_CHECKS)),
  /** The findings, errors first. */
  findings: z.array(Finding),
  checks: z.record(z.string(), z.unknown()),
  updatedAt: z.string(),
})
export type Paraphrase = z.infer<typeof Paraphrase>

export const DatasetRecordRow = z.object({
  id,
  position: z.number().int(),
  question: z.string(),
  answer: z.string().nullable(),
  split: z.string(),
  flags: z.array(z.string()),
  paraphrases: z.array(Paraphrase),
})
export type DatasetRecordRow = z.infer<typeof DatasetRecordRow>

/** Which records a page, a bulk action or a generation job covers. */
export const RecordFilter = z
  .object({
    /** Full-text search over questions, answers and paraphrases. */
    search: z.string().max(500).optional(),
    split: z.string().optional(),
    /** Records with at least one paraphrase in this status; 'none' = records without paraphrases. */
    status: z.enum([...PARAPHRASE_STATUSES, 'none']).optional(),
    /** Records with a paraphrase that has a finding of this check (and of `severity`, when both are given). */
    failedCheck: z.enum(FINDING_CHECKS).optional(),
    /** Records with a paraphrase that has a finding of this severity. */
    severity: z.enum(SEVERITIES).optional(),
    origin: z.enum(PARAPHRASE_ORIGINS).optional(),
    duplicate: z.boolean().optional(),
    noAnswer: z.boolean().optional(),
  })
  .strict()
export type RecordFilter = z.infer<typeof RecordFilter>

export const ImportPreview = z.object({
  file: z.string(),
  container: z.enum(IMPORT_CONTAINERS),
  columns: z.array(z.string()),
  /** The recognised schema, or null when the user must map the columns. */
  schema: z.enum(IMPORT_SCHEMAS).nullable(),
  rows: z.number().int(),
  /** The first rows, values as JSON-safe data. */
  sample: z.array(z.record(z.string(), z.unknown())),
  suggestedName: z.string(),
  /** Rows that cannot be read (a line that is not a JSON object, a CSV record that does not parse), and the first. */
  unreadable: z.object({ rows: z.number().int(), first: z.string() }).optional(),
})
export type ImportPreview = z.infer<typeof ImportPreview>

/** A row an import left out with skipBadRows: its file, data row, the file line it starts on (text files), field, reason. */
export const SkippedImportRow = z.object({
  file: z.string(),
  row: z.number().int(),
  line: z.number().int().nullable(),
  field: z.string().nullable(),
  reason: z.string(),
})
export type SkippedImportRow = z.infer<typeof SkippedImportRow>

export const DatasetDetail = DatasetSummaryBase.extend({
  description: z.string(),
  source: z.record(z.string(), z.unknown()),
  splits: z.array(z.object({ split: z.string(), records: z.number().int(), withAnswer: z.number().int() })),
  /** The split whose labelled records are the audit/validation set (GT quarantine), if one is marked. */
  auditSplit: z.string().nullable(),
  byStatus: z.record(z.string(), z.number().int()),
  /** Paraphrases with a finding of each check, and of each severity. */
  byFailedCheck: z.record(z.string(), z.number().int()),
  bySeverity: z.record(z.string(), z.number().int()),
  duplicates: z.number().int(),
  noAnswer: z.number().int(),
})
export type DatasetDetail = z.infer<typeof DatasetDetail>

const runIds = z.array(id).min(1).max(64)

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

/** A checkpoint as the API names it: its id in the store, or a folder on the host, RUN:STEP, or `base` (the shipped base model). */
export const CheckpointRef = z.union([id, z.string().min(1)])
export type CheckpointRef = z.infer<typeof CheckpointRef>

/** A run's checkpoint with the run's metrics at its step. */
export const CheckpointRow = CheckpointSummary.extend({
  /** Held-out accuracy at the step: the mean of `val-core/<source>/reward/mean@1` (null when not validated there). */
  heldOut: z.number().nullable(),
  /** `critic/score/mean` at the step: the reward the policy was trained on (self-reward in label-free modes). */
  selfReward: z.number().nullable(),
  /** `coreward/pseudo_acc` at the step: how often the pseudo label matched the hidden ground truth. */
  pseudoAcc: z.number().nullable(),
  /** The folder holds the Co-rewarding-II EMA teacher (teacher.safetensors). */
  hasTeacher: z.boolean(),
  /** The folder is gone from disk (moved or deleted outside the workbench). */
  missing: z.boolean(),
  bytes: z.number().int(),
})
export type CheckpointRow = z.infer<typeof CheckpointRow>

/** Tags computed from the metrics: best held-out accuracy, best self-reward, the highest step. */
export const CHECKPOINT_AUTO_TAGS = ['best-gt', 'best-self', 'latest'] as const

/** Held-out questions answered right at a validated step, of those validated there (all sources together). */
const HeldOutCount = z.object({ step: z.number().int(), correct: z.number().int(), questions: z.number().int() })

export const CheckpointTable = z.object({
  run: id,
  runName: z.string(),
  mode: rewardModeName,
  /** The folder the run started from (its base model). */
  startCheckpoint: z.string().nullable(),
  checkpoints: z.array(CheckpointRow),
  /**
   * Steps of the best by held-out GT accuracy and by self-reward, among the validated steps (checkpoints and step 0,
   * the base model's validation; 0 names the base). Null when nothing was validated or the top value is tied.
   */
  bestGt: z.number().int().nullable(),
  bestSelf: z.number().int().nullable(),
  /** The candidates: step 0 (when the base model was validated) and the checkpoints' validated steps. */
  validatedSteps: z.array(z.number().int()),
  /** Held-out questions per source at each validation (the run config's validation.questions); null when unknown. */
  questionsPerSource: z.number().int().nullable(),
  /**
   * Set when the two bests' held-out accuracies differ by more than sampling error (two-proportion z-test, 95%, over
   * the validated questions' counts): the gap between what the policy is rewarded for and what is right.
   */
  rewardHacking: z
    .object({
      gt: HeldOutCount,
      self: HeldOutCount,
      /** The pooled two-proportion z statistic of gt's accuracy over self's; above 1.96. */
      z: z.number(),
      validatedSteps: z.number().int(),
    })
    .nullable(),
  /** rewardHacking in words (the line `cwb checkpoints` prints). */
  warning: z.string().nullable(),
})
export type CheckpointTable = z.infer<typeof CheckpointTable>

/** One checkpoint (of a run, or an external folder) for inspection. */
export const CheckpointDetail = z.object({
  /** The store's id, run and step; null for a folder that is no run's checkpoint. */
  id: id.nullable(),
  run: id.nullable(),
  runName: z.string().nullable(),
  step: z.number().int().nullable(),
  path: z.string(),
  tags: z.array(z.string()),
  /** config.json as stored. */
  config: z.record(z.string(), z.unknown()),
  modelType: z.string(),
  parameters: z.number().int(),
  files: z.array(z.object({ name: z.string(), bytes: z.number().int() })),
  /**
   * A LoRA checkpoint (PEFT adapter folder): its settings, the base folder it applies to and the adapter's own
   * parameters (config, modelType and parameters above are the base's). Absent for a full model.
   */
  adapter: z
    .object({
      rank: z.number().int(),
      alpha: z.number(),
      dropout: z.number(),
      targetModules: z.array(z.string()),
      base: z.string(),
      parameters: z.number().int(),
    })
    .optional(),
  hasTeacher: z.boolean(),
  /** Every metric the run logged at this step. */
  metrics: z.array(z.object({ key: z.string(), value: z.number().nullable() })),
  heldOut: z.number().nullable(),
  selfReward: z.number().nullable(),
  pseudoAcc: z.number().nullable(),
  /** What a delta can be taken against: the run's start checkpoint, and the checkpoint before (or the start). */
  base: z.string().nullable(),
  previous: z.object({ id: id.nullable(), step: z.number().int().nullable(), path: z.string() }).nullable(),
  /** The run this checkpoint's run branched from (its parent checkpoint), if any. */
  parent: z.object({ id, run: id, step: z.number().int() }).nullable(),
  /** Runs started from this checkpoint. */
  children: z.array(z.object({ id, name: z.string(), status: z.enum(RUN_STATUSES) })),
})
export type CheckpointDetail = z.infer<typeof CheckpointDetail>

const Histogram = z.object({
  /** The bins split [min, max] evenly; `counts[i]` covers [min + i*w, min + (i+1)*w), the last bin includes max. */
  min: z.number(),
  max: z.number(),
  counts: z.array(z.number().int()),
})

const LayerStats = z.object({
  layer: z.string(),
  tensors: z.number().int(),
  count: z.number().int(),
  /** NaN and infinite values, left out of the statistics. */
  nonFinite: z.number().int(),
  norm: z.number(),
  mean: z.number(),
  std: z.number(),
  min: z.number(),
  max: z.number(),
})

const AdapterNorms = z.object({
  normA: z.number(),
  normB: z.number(),
  /** ||scale · B · A|| */
  normUpdate: z.number(),
  /** ||W|| of the base weight(s) */
  baseNorm: z.number(),
  /** normUpdate / baseNorm (null when the base weight is all zeros) */
  relative: z.number().nullable(),
})

const AdapterStats = z.object({
  rank: z.number().int(),
  alpha: z.number(),
  /** alpha / rank */
  scale: z.number(),
  /** The base model folder. */
  base: z.string(),
  modules: z.array(
    AdapterNorms.extend({
      /** e.g. model.layers.0.self_attn.q_proj */
      module: z.string(),
      layer: z.string(),
      shape: z.array(z.number().int()),
      rank: z.number().int(),
    }),
  ),
  layers: z.array(AdapterNorms.extend({ layer: z.string(), modules: z.number().int() })),
  total: AdapterNorms.extend({ layer: z.string(), modules: z.number().int() }),
})

export const WeightStats = z.object({
  path: z.string(),
  /** The file read: model.safetensors, or teacher.safetensors for the EMA teacher. */
  file: z.string(),
  tensors: z.array(
    LayerStats.omit({ tensors: true }).extend({
      name: z.string(),
      dtype: z.string(),
      shape: z.array(z.number().int()),
      histogram: Histogram,
    }),
  ),
  /** Per layer (`embeddings`, `layers.N`, `final_norm`, ...), in model order. */
  layers: z.array(LayerStats),
  total: LayerStats,
  /**
   * A LoRA checkpoint's adapter statistics (the tensors above are then its A and B): per adapted module the norms
   * of A, B and of the update scale·B·A, and the update's norm relative to the base weight's; per layer combined.
   */
  adapter: AdapterStats.optional(),
})
export type WeightStats = z.infer<typeof WeightStats>

const DeltaValues = z.object({
  count: z.number().int(),
  /** ||a - b|| */
  diffNorm: z.number(),
  /** ||a - b|| / ||b|| (null when b is all zeros) */
  relative: z.number().nullable(),
  /** max |a - b| */
  maxAbs: z.number(),
  /** cosine similarity of a and b (null when either is all zeros) */
  cosine: z.number().nullable(),
  nonFinite: z.number().int(),
})

export const DELTA_AGAINST = ['base', 'previous', 'teacher'] as const

export const WeightDelta = z.object({
  /** a: the checkpoint's weights; b: what they are compared against. */
  path: z.string(),
  against: z.object({ kind: z.enum([...DELTA_AGAINST, 'checkpoint']), path: z.string(), label: z.string() }),
  tensors: z.array(DeltaValues.extend({ name: z.string(), layer: z.string() })),
  layers: z.array(DeltaValues.extend({ layer: z.string(), tensors: z.number().int() })),
  total: DeltaValues.extend({ layer: z.string(), tensors: z.number().int() }),
  onlyInA: z.array(z.string()),
  onlyInB: z.array(z.string()),
  /** Tensors of different shapes ("name: [a] vs [b]"), not compared. */
  mismatched: z.array(z.string()),
})
export type WeightDelta = z.infer<typeof WeightDelta>

const ProbeCompletion = z.object({
  text: z.string(),
  /** The extracted answer ("" when the completion gives none). */
  answer: z.string(),
  tokens: z.number().int(),
  /** Mean entropy (nats) of the next-token distribution over the completion. */
  entropy: z.number(),
})

const DiffSide = z.object({
  greedy: ProbeCompletion,
  /** The greedy answer matches the ground truth (null without one). */
  correct: z.boolean().nullable(),
  samples: z.array(z.string()),
  /** The majority of the sampled answers ("" when none answered) and its count. */
  vote: z.string(),
  votes: z.number().int(),
  voteCorrect: z.boolean().nullable(),
})

export const FLIPS = ['correct->wrong', 'wrong->correct'] as const

const SideSummary = z.object({
  correct: z.number().int(),
  voteCorrect: z.number().int(),
  answered: z.number().int(),
  greedyLength: z.number(),
  greedyEntropy: z.number(),
  sampleLength: z.number().nullable(),
  sampleEntropy: z.number().nullable(),
})

export const PROBE_ENGINES = ['tfjs', 'onnx'] as const

export const BehaviourDiffResult = z.object({
  a: z.object({ path: z.string(), label: z.string() }),
  b: z.object({ path: z.string(), label: z.string() }),
  dataset: z.string(),
  /** The probe split (null: all labelled records of the dataset). */
  split: z.string().nullable(),
  rows: z.array(
    z.object({
      index: z.number().int(),
      record: z.number().int().nullable(),
      question: z.string(),
      gt: z.string().nullable(),
      a: DiffSide,
      b: DiffSide,
      /** From A to B by the greedy answers; voteFlip by the sample votes. */
      flip: z.enum(FLIPS).nullable(),
      voteFlip: z.enum(FLIPS).nullable(),
      changed: z.boolean(),
    }),
  ),
  summary: z.object({
    questions: z.number().int(),
    labelled: z.number().int(),
    samples: z.number().int(),
    a: SideSummary,
    b: SideSummary,
    correctToWrong: z.number().int(),
    wrongToCorrect: z.number().int(),
    voteCorrectToWrong: z.number().int(),
    voteWrongToCorrect: z.number().int(),
    changed: z.number().int(),
    /** "A correct: x/N, B correct: y/N, flipped correct->wrong: c, wrong->correct: d" */
    line: z.string(),
  }),
})
export type BehaviourDiffResult = z.infer<typeof BehaviourDiffResult>

const checkpointWeights = z.enum(CHECKPOINT_WEIGHTS).default('model')
export type CheckpointWeights = (typeof CHECKPOINT_WEIGHTS)[number]

/** Every method: its request schema (validated) and its response schema (the type the caller gets). */
export const methods = {
  'app.info': { params: noParams, result: AppInfo },
  /**
   * Desktop only: the operating system's folder picker; `path` is null when the user cancels. Browser mode has no
   * picker (a page cannot read host paths): it answers invalid_request, and the UI shows the button only on desktop.
   */
  'app.pickFolder': {
    params: z.object({ title: z.string().max(200).optional() }).strict(),
    result: z.object({ path: z.string().nullable() }),
  },
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
      /** Each dataset's audit/validation split (GT quarantine), where one is marked: the form validates on it. */
      auditSplits: z.record(z.string(), z.string()),
    }),
  },
  /** Checks a config as the trainer would: the complete config, or every bad field and why. */
  'runs.validate': {
    params: z.object({ config: z.unknown() }).strict(),
    result: z.object({ config: z.record(z.string(), z.unknown()).nullable(), issues: z.array(FieldIssue) }),
  },
  /**
   * The memory plan of a config from its starting checkpoint on the backend the trainer will use (whether it fits,
   * and when not, what to change); `plan` is null and `issues` say why when the config is invalid.
   */
  'runs.plan': {
    params: z.object({ config: z.unknown() }).strict(),
    result: z.object({ plan: MemoryPlan.nullable(), issues: z.array(FieldIssue) }),
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
  /**
   * Several runs' rollouts side by side: per run (in the order asked) its stored steps and its groups at the stored
   * step nearest `step` (null, with no groups, when it stored none), so one question can be read across the runs.
   */
  'rollouts.across': {
    params: z.object({ runs: runIds, step: z.number().int().min(0) }).strict(),
    result: z.array(
      z.object({ run: id, steps: z.array(z.number().int()), step: z.number().int().nullable(), groups: z.array(RolloutGroup) }),
    ),
  },
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
  'datasets.get': { params: z.object({ dataset: id }).strict(), result: DatasetDetail },
  /** A page of records (with their paraphrases) that match a filter, in dataset order. */
  'datasets.records': {
    params: z
      .object({
        dataset: id,
        filter: RecordFilter.default({}),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(500).default(100),
      })
      .strict(),
    result: z.object({ total: z.number().int(), rows: z.array(DatasetRecordRow) }),
  },
  /**
   * Where a record (by its 0-based place in the dataset: its number in the list, less one) is in the list a filter
   * makes: its index there, or null when the filter hides it (record null: no such record).
   */
  'datasets.locate': {
    params: z.object({ dataset: id, filter: RecordFilter.default({}), position: z.number().int().min(0) }).strict(),
    result: z.object({
      record: z.object({ id, position: z.number().int() }).nullable(),
      index: z.number().int().nullable(),
    }),
  },
  /** Reads a file's columns and first rows (a path on the host, or an uploaded file's token) for the import dialog. */
  'datasets.previewImport': {
    params: z.object({ path: z.string().min(1), format: z.enum(IMPORT_FORMATS).default('auto') }).strict(),
    result: ImportPreview,
  },
  /** Imports in the background; `job.progress` events (kind import) follow it; the result comes when it is stored. */
  'datasets.import': {
    params: z
      .object({
        path: z.string().min(1),
        rewrite: z.string().min(1).optional(),
        name: z.string().trim().min(1).max(200).optional(),
        format: z.enum(IMPORT_FORMATS).default('auto'),
        map: z
          .object({
            question: z.string().min(1),
            answer: z.string().optional(),
            paraphrase: z.string().optional(),
            split: z.string().optional(),
          })
          .strict()
          .optional(),
        paraphraseStatus: z.enum(['pending', 'accepted']).default('accepted'),
        /** Leave out rows that cannot be read or become a record (listed in `skipped`) instead of failing. */
        skipBadRows: z.boolean().default(false),
        /** Chosen by the caller so it can cancel and follow progress. */
        job: z.string().min(1).max(100),
      })
      .strict(),
    result: z.object({
      dataset: id,
      name: z.string(),
      records: z.number().int(),
      paraphrases: z.number().int(),
      withAnswer: z.number().int(),
      /** The rows left out (skipBadRows), uploads named as the user named them; empty when none were. */
      skipped: z.array(SkippedImportRow),
    }),
  },
  /**
   * Removes a file uploaded for an import that was abandoned (the dialog closed, another file chosen). Only an
   * upload of this workspace is removed; `removed` says whether there was one to remove.
   */
  'uploads.discard': {
    params: z.object({ path: z.string().min(1) }).strict(),
    result: z.object({ removed: z.boolean() }),
  },
  /** Cancels a running import or generation job; nothing of an import is stored. */
  'jobs.cancel': { params: z.object({ job: z.string().min(1) }).strict(), result: z.object({ cancelled: z.boolean() }) },
  'datasets.update': {
    params: z
      .object({
        dataset: id,
        name: z.string().trim().min(1).max(200).optional(),
        description: z.string().max(10_000).optional(),
        auditSplit: z.string().nullable().optional(),
      })
      .strict(),
    result: DatasetDetail,
  },
  /** Deletes a dataset no run trains on right now. */
  'datasets.delete': { params: z.object({ dataset: id }).strict(), result: z.object({ dataset: id }) },
  /** Writes an export on the host (desktop app: a folder the user chose; browser mode: then download it). */
  'datasets.export': {
    params: z
      .object({
        dataset: id,
        format: z.enum(EXPORT_FORMATS),
        out: z.string().min(1).optional(),
        acceptedOnly: z.boolean().default(false),
      })
      .strict(),
    result: z.object({ files: z.array(z.string()), rows: z.number().int(), withoutParaphrase: z.number().int() }),
  },
  /** Edits one paraphrase (text and/or status); the change is recorded for undo. */
  'paraphrases.update': {
    params: z
      .object({ paraphrase: id, text: z.string().trim().min(1).optional(), status: z.enum(PARAPHRASE_STATUSES).optional() })
      .strict(),
    result: Paraphrase,
  },
  /** Adds a paraphrase the user wrote (origin manual, accepted); one undo step removes it. */
  'paraphrases.add': {
    params: z.object({ record: id, text: z.string().trim().min(1) }).strict(),
    result: Paraphrase,
  },
  /**
   * Sets the status of every paraphrase of the records matching a filter (only pending ones unless onlyPending is
   * false); one undo step. Says how many changed, by the status each had before; `dryRun` only counts them.
   */
  'paraphrases.bulkStatus': {
    params: z
      .object({
        dataset: id,
        filter: RecordFilter,
        status: z.enum(PARAPHRASE_STATUSES),
        onlyPending: z.boolean().default(true),
        dryRun: z.boolean().default(false),
      })
      .strict(),
    result: z.object({
      changed: z.number().int(),
      from: z.object({ pending: z.number().int(), accepted: z.number().int(), rejected: z.number().int() }),
    }),
  },
  /**
   * Undoes the last edit step in a dataset (an edit, an add, a bulk status change): what it undid in words (null:
   * nothing left), and the records the step touched (id and 0-based place), in dataset order.
   */
  'edits.undo': {
    params: z.object({ dataset: id }).strict(),
    result: z.object({
      undone: z.string().nullable(),
      records: z.array(z.object({ id, position: z.number().int() })),
    }),
  },
  'edits.list': {
    params: z.object({ dataset: id, limit: z.number().int().min(1).max(500).default(50) }).strict(),
    result: z.array(
      z.object({
        id,
        entity: z.string(),
        entityId: z.number().int(),
        field: z.string(),
        before: z.string().nullable(),
        after: z.string().nullable(),
        createdAt: z.string(),
        /** The undo step the edit belongs to (a bulk change is one step of many edits). */
        step: z.number().int(),
        /** The record of the paraphrase edited (null once the paraphrase is gone). */
        record: z.number().int().nullable(),
        /** That record's 0-based place in the dataset: the list shows it as record recordPosition + 1. */
        recordPosition: z.number().int().nullable(),
      }),
    ),
  },
  /** Generates paraphrases for the matching records in the background (templates, an OpenAI-compatible endpoint, or a local ONNX model); `job.progress` events follow it. */
  'paraphrases.generate': {
    params: z
      .object({
        dataset: id,
        filter: RecordFilter.default({}),
        job: z.string().min(1).max(100),
        source: z.discriminatedUnion('kind', [
          z.object({ kind: z.literal('templates') }).strict(),
          z
            .object({
              kind: z.literal('endpoint'),
              url: z.string().url(),
              model: z.string().min(1),
              apiKey: z.string().optional(),
              prompt: z.string().min(1).optional(),
              concurrency: z.number().int().min(1).max(64).default(4),
              retries: z.number().int().min(0).max(10).default(4),
            })
            .strict(),
          z
            .object({
              kind: z.literal('onnx'),
              checkpoint: z.string().min(1),
              prompt: z.string().min(1).optional(),
              maxTokens: z.number().int().min(1).max(512).default(64),
            })
            .strict(),
        ]),
        /** Skip records that already have a paraphrase of this origin (resume a stopped job). */
        skipDone: z.boolean().default(true),
        limit: z.number().int().min(1).optional(),
      })
      .strict(),
    result: z.object({
      generated: z.number().int(),
      failed: z.array(z.object({ record: id, reason: z.string() })),
      cancelled: z.boolean(),
    }),
  },
  /**
   * Samples a checkpoint (a folder, RUN:STEP, or `base` for the shipped base model) G times on each record and on
   * each of its paraphrases that is not rejected, and compares their majority answers; a record with a pair that
   * disagrees gets the flag `majority-disagrees` (cleared when its pairs agree again).
   */
  'paraphrases.agreement': {
    params: z
      .object({
        checkpoint: z.string().min(1),
        records: z.array(id).min(1).max(200),
        samples: z.number().int().min(1).max(32).default(8),
        job: z.string().min(1).max(100),
        /**
         * Sample pairs again that were checked with this checkpoint and G already (their stored results are returned
         * otherwise, so a stopped preview resumes where it stopped).
         */
        again: z.boolean().default(false),
      })
      .strict(),
    result: z.array(
      z.object({
        record: id,
        paraphrase: id,
        /** The majority answers on the original and on the paraphrase ("" when no sample gave an answer). */
        original: z.string(),
        rewrite: z.string(),
        agree: z.boolean(),
        originalVotes: z.record(z.string(), z.number().int()),
        rewriteVotes: z.record(z.string(), z.number().int()),
      }),
    ),
  },
  /**
   * Asks an OpenAI-compatible endpoint, for each paraphrase of the matching records (not rejected ones unless the
   * filter asks for them), whether it has the same final answer as its original, with one line of reason; stores the
   * verdict as a finding of check `judge` (different: error, unsure: warning, same: note). Pairs the same model
   * judged already are skipped unless `again`; `job.progress` events (kind judge) follow it; a stopped job keeps
   * what it stored.
   */
  'paraphrases.judge': {
    params: z
      .object({
        dataset: id,
        filter: RecordFilter.default({}),
        job: z.string().min(1).max(100),
        url: z.string().url(),
        model: z.string().min(1),
        apiKey: z.string().optional(),
        concurrency: z.number().int().min(1).max(64).default(4),
        retries: z.number().int().min(0).max(10).default(4),
        again: z.boolean().default(false),
        limit: z.number().int().min(1).optional(),
      })
      .strict(),
    result: z.object({
      /** Pairs judged now, by verdict. */
      judged: z.number().int(),
      same: z.number().int(),
      different: z.number().int(),
      unsure: z.number().int(),
      /** Pairs this model had judged already (skipped). */
      skipped: z.number().int(),
      /** Pairs the endpoint gave no verdict on (nothing stored: a rerun tries them again). */
      failed: z.array(z.object({ record: id, paraphrase: id, pair: z.string(), reason: z.string() })),
      cancelled: z.boolean(),
    }),
  },
  /**
   * Imports a run trained elsewhere (a verl console log, a verl rollout dump folder, a TRL trainer_state.json; a path
   * on the host or an upload) as a new run, or adds the source to `run`. Importing a path again appends what was
   * written since; a later line for a stored step replaces it. Sources are listed in the run's environment.sources.
   */
  'runs.importLog': {
    params: z
      .object({
        path: z.string().min(1),
        format: z.enum(['auto', ...RUN_LOG_FORMATS]).default('auto'),
        name: z.string().trim().min(1).max(200).optional(),
        run: id.optional(),
        /** Reward mode of a new run; by default read from its metric keys. */
        mode: rewardModeName.optional(),
      })
      .strict(),
    result: z.object({
      run: id,
      /** Distinct steps stored for the run, distinct metric keys, and the steps this call added. */
      steps: z.number().int(),
      metrics: z.number().int(),
      newSteps: z.number().int(),
    }),
  },
  /** Follows a source of a run (a growing cluster log): the host re-imports it every ~2 s while on, until it closes. */
  'runs.follow': {
    params: z.object({ run: id, path: z.string().min(1), on: z.boolean() }).strict(),
    result: z.object({ following: z.array(z.string()) }),
  },
  /** The sources of a run this host follows now. */
  'runs.following': { params: z.object({ run: id }).strict(), result: z.object({ following: z.array(z.string()) }) },
  /**
   * Writes a local run's data, a verl launch script for its Co-rewarding fork and a README (default folder
   * `<workspace>/exports/verl-<run>-<time>`); self-certainty and entropy runs are refused (neither fork has them).
   */
  'runs.exportVerl': {
    params: z
      .object({
        run: id,
        out: z.string().min(1).optional(),
        /**
         * Hugging Face model id or path (actor_rollout_ref.model.path), or a LoRA checkpoint (its base is the path, its
         * rank, alpha and target modules verl's LoRA keys); default: the run's starting checkpoint.
         */
        model: z.string().trim().min(1).max(500).optional(),
        /** A LoRA checkpoint's base folder, when it moved from where the adapter says. */
        base: z.string().min(1).optional(),
        gpus: z.number().int().min(1).max(1024).optional(),
        nodes: z.number().int().min(1).max(4096).optional(),
        /** Keep the run's learning rate, batch size and lengths rather than the reference's. */
        keepHparams: z.boolean().optional(),
      })
      .strict(),
    result: z.object({
      fork: z.enum(['Co-rewarding-I', 'Co-rewarding-II']),
      /** actor_rollout_ref.model.path. */
      model: z.string(),
      /** LoRA's settings when verl trains adapters (the run's `lora`, or the adapter given as the model), else null. */
      lora: z.object({ rank: z.number().int(), alpha: z.number(), target_modules: z.array(z.string()) }).nullable(),
      overrides: z.array(z.string()),
      files: z.object({ script: z.string(), readme: z.string(), train: z.array(z.string()), validation: z.string() }),
    }),
  },
  /** Packs a run with the chosen checkpoints into `<workspace>/exports/<name>.tgz` (browser mode: then download it). */
  'runs.bundle': {
    params: z.object({ run: id, checkpoints: z.enum(BUNDLE_CHECKPOINTS).default('tagged') }).strict(),
    result: z.object({ file: z.string(), checkpoints: z.array(z.number().int()) }),
  },
  /** Adds the run in a bundle (a path on the host or an upload) to this workspace as a new run. */
  'runs.unbundle': { params: z.object({ path: z.string().min(1) }).strict(), result: z.object({ run: id, name: z.string() }) },
  'checkpoints.list': {
    params: z.object({ run: id.optional() }).strict(),
    result: z.array(CheckpointSummary),
  },
  /** A run's checkpoints with the metrics at their steps, the best by held-out GT and by self-reward, and whether they differ. */
  'checkpoints.overview': { params: z.object({ run: id }).strict(), result: CheckpointTable },
  /** One checkpoint: config, files, tags, the metrics at its step, what it can be compared against, its branches. */
  'checkpoints.get': { params: z.object({ checkpoint: CheckpointRef }).strict(), result: CheckpointDetail },
  /**
   * An external folder in Hugging Face layout, checked for inspection and as a starting checkpoint: a `model_type`
   * the engine does not support is refused, naming it and the supported ones.
   */
  'checkpoints.openFolder': { params: z.object({ path: z.string().min(1) }).strict(), result: CheckpointDetail },
  /** Per tensor norm, mean, std, min, max and a 32-bin histogram, and per layer; computed off the UI thread. */
  'checkpoints.stats': {
    params: z.object({ checkpoint: CheckpointRef, weights: checkpointWeights }).strict(),
    result: WeightStats,
  },
  /**
   * How far the weights moved, per tensor and per layer: against `base` (the run's start checkpoint), `previous` (the
   * checkpoint before, or the start for the first), `teacher` (Co-rewarding-II's EMA teacher) or another checkpoint.
   */
  'checkpoints.delta': {
    params: z.object({ checkpoint: CheckpointRef, against: z.union([z.enum(DELTA_AGAINST), CheckpointRef]) }).strict(),
    result: WeightDelta,
  },
  /**
   * The behaviour diff of two checkpoints (or of a checkpoint, `a`, and its EMA teacher with `teacher: true`) on the
   * first `probe` held-out labelled questions: greedy and `samples` sampled answers per question with fixed seeds;
   * `job.progress` events (kind diff) follow it.
   */
  'checkpoints.diff': {
    params: z
      .object({
        a: CheckpointRef,
        b: CheckpointRef.optional(),
        teacher: z.boolean().default(false),
        probe: z.number().int().min(1).max(1000).default(32),
        samples: z.number().int().min(0).max(64).default(4),
        /** Default: the dataset and validation split of A's (else B's) run. */
        dataset: z.union([id, z.string().min(1)]).optional(),
        split: z.string().min(1).optional(),
        temperature: z.number().min(0).max(10).default(1),
        seed: z.number().int().min(0).default(0),
        maxNewTokens: z.number().int().min(1).max(4096).default(32),
        engine: z.enum(PROBE_ENGINES).default('tfjs'),
        job: z.string().min(1).max(100),
      })
      .strict()
      .refine((p) => (p.b === undefined) === p.teacher, {
        message: 'give either b (another checkpoint) or teacher: true (the EMA teacher of a), not both or neither',
        path: ['b'],
      }),
    result: BehaviourDiffResult,
  },
  /** `cwb eval` on a checkpoint: greedy pass@1 and, with samples, avg@K, pass@K, maj@K; `job.progress` (kind evaluate). */
  'checkpoints.evaluate': {
    params: z
      .object({
        checkpoint: CheckpointRef,
        /** Default: the dataset of the checkpoint's run. */
        dataset: z.union([id, z.string().min(1)]).optional(),
        split: z.string().min(1).optional(),
        limit: z.number().int().min(1).optional(),
        samples: z.number().int().min(0).max(64).default(0),
        temperature: z.number().min(0).max(10).default(1),
        seed: z.number().int().min(0).default(0),
        maxNewTokens: z.number().int().min(1).max(4096).default(32),
        job: z.string().min(1).max(100),
      })
      .strict(),
    result: z.object({
      path: z.string(),
      dataset: z.string(),
      split: z.string().nullable(),
      questions: z.number().int(),
      samples: z.number().int(),
      pass1: z.number(),
      avgK: z.number().nullable(),
      passK: z.number().nullable(),
      majK: z.number().nullable(),
    }),
  },
  /**
   * Writes the checkpoint as an ONNX model (default: <workspace>/exports/) and checks it: onnxruntime-node's logits
   * against the engine's on a few prompts, the largest difference reported.
   */
  'checkpoints.exportOnnx': {
    params: z
      .object({
        checkpoint: CheckpointRef,
        weights: checkpointWeights,
        out: z.string().min(1).optional(),
        prompts: z.number().int().min(1).max(64).default(4),
      })
      .strict(),
    result: z.object({
      file: z.string(),
      bytes: z.number().int(),
      check: z.object({
        prompts: z.number().int(),
        positions: z.number().int(),
        maxAbsDiff: z.number(),
        tolerance: z.number(),
        ok: z.boolean(),
      }),
    }),
  },
  /**
   * Writes a checkpoint as a plain model folder, without optimizer, teacher or trainer state. `format` 'hf': a Hugging
   * Face folder (config, weights, tokenizer); a LoRA checkpoint's adapters are merged into its base's weights (float32).
   * 'peft': a LoRA checkpoint's adapter alone (adapter_config.json, adapter_model.safetensors); refused for others.
   * `base`: a LoRA checkpoint's base folder when it moved from where the adapter says.
   */
  'checkpoints.exportHf': {
    params: z
      .object({
        checkpoint: CheckpointRef,
        out: z.string().min(1),
        weights: checkpointWeights,
        format: z.enum(MODEL_EXPORT_FORMATS).default('hf'),
        base: z.string().min(1).optional(),
      })
      .strict(),
    result: z.object({
      folder: z.string(),
      /** What the checkpoint was: the workbench's cwb-gpt, a full Hugging Face model, or a LoRA adapter. */
      kind: z.enum(['cwb-gpt', 'full', 'lora']),
      /** The base the adapters were merged into (LoRA, format 'hf'), else null. */
      base: z.string().nullable(),
      files: z.array(z.object({ name: z.string(), bytes: z.number().int() })),
    }),
  },
  /**
   * Queues a new run that starts from a checkpoint: the checkpoint's run config (or the mode's defaults) with
   * `checkpoint` set to it and `config` fields over it; the new run records the checkpoint as its parent.
   */
  'checkpoints.branch': {
    params: z
      .object({
        checkpoint: CheckpointRef,
        name: z.string().trim().min(1).max(200).optional(),
        config: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
    result: z.object({ run: id, config: z.record(z.string(), z.unknown()) }),
  },
  /**
   * Deletes a checkpoint and its folder (when inside the workspace). Refused for one a run that is not finished starts
   * from, and for the latest of a run that is queued or training; a tagged one needs `force`.
   */
  'checkpoints.delete': {
    params: z.object({ checkpoint: id, force: z.boolean().default(false) }).strict(),
    result: z.object({
      checkpoint: id,
      run: id,
      step: z.number().int(),
      freedBytes: z.number().int(),
      removedFolder: z.boolean(),
    }),
  },
  /** Adds and removes user tags (the computed tags best-gt, best-self and latest cannot be set by hand). */
  'checkpoints.tag': {
    params: z
      .object({
        checkpoint: id,
        add: z.array(z.string().trim().min(1).max(64)).max(64).default([]),
        remove: z.array(z.string().trim().min(1).max(64)).max(64).default([]),
      })
      .strict(),
    result: z.object({ checkpoint: id, tags: z.array(z.string()) }),
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
  /** Progress of a background job (import, paraphrase generation, agreement preview, behaviour diff, evaluation). */
  'job.progress': z.object({
    job: z.string(),
    kind: z.enum(['import', 'generate', 'agreement', 'judge', 'diff', 'evaluate']),
    stage: z.string(),
    done: z.number(),
    total: z.number(),
    message: z.string().optional(),
  }),
  /** A run finished, failed, stopped or tripped a collapse rule: worth a desktop notification. */
  'run.notice': z.object({
    run: id,
    name: z.string(),
    kind: z.enum([...ENDED_RUN_STATUSES, 'alert']),
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
