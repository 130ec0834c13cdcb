// Plain constants of the API contract, kept apart from the zod schemas so the renderer can use them without
// bundling zod; preload/contract.ts re-exports them.

/** The dataset a new workspace starts with (the demo task), and the run config's default dataset. */
export const DEMO_DATASET_NAME = 'demo-arithmetic'

/** A run that waits for or has a trainer (live): it cannot be deleted or bundled until it ends. */
export const LIVE_RUN_STATUSES = ['queued', 'running', 'stopping'] as const

/** A run whose trainer has ended, each with the reason it ended. */
export const ENDED_RUN_STATUSES = ['finished', 'stopped', 'failed', 'interrupted'] as const

export const RUN_STATUSES = [...LIVE_RUN_STATUSES, ...ENDED_RUN_STATUSES] as const

export const isLiveStatus = (status: string): status is (typeof LIVE_RUN_STATUSES)[number] =>
  (LIVE_RUN_STATUSES as readonly string[]).includes(status)

export const RUN_ORIGINS = ['local', 'verl', 'trl', 'imported'] as const

export const RUN_PHASES = ['queued', 'starting', 'rollout', 'scoring', 'update', 'validation', 'checkpoint'] as const

/** Whose rollouts a sample is: the policy's on the original question or on its paraphrase, or the EMA teacher's. */
export const SAMPLE_VIEWS = ['original', 'paraphrase', 'teacher'] as const

export const EVENT_LEVELS = ['debug', 'info', 'warning', 'error'] as const

export const EVENT_KINDS = ['log', 'alert', 'status'] as const

/** What `runs.importLog` reads: a verl console log, a verl rollout dump folder, a TRL trainer_state.json. */
export const RUN_LOG_FORMATS = ['verl-console', 'verl-rollouts', 'trl'] as const

export const PARAPHRASE_STATUSES = ['pending', 'accepted', 'rejected'] as const

export const PARAPHRASE_ORIGINS = ['template', 'llm', 'manual', 'imported'] as const

/** The file kinds an import reads rows from. */
export const IMPORT_CONTAINERS = ['jsonl', 'csv', 'parquet'] as const

/** The column layouts an import recognises by itself; other files need a column map. */
export const IMPORT_SCHEMAS = ['verl', 'pairs', 'gsm8k', 'plain'] as const

/** The fields a column map names columns for (`--map question=COL,...`, the import dialog's map). */
export const IMPORT_MAP_FIELDS = ['question', 'answer', 'paraphrase', 'split'] as const

/** A checkpoint's policy weights, or (Co-rewarding-II) its EMA teacher's. */
export const CHECKPOINT_WEIGHTS = ['model', 'teacher'] as const

/** Which checkpoints a run bundle carries besides the run itself. */
export const BUNDLE_CHECKPOINTS = ['tagged', 'all', 'none'] as const

/** The answer-preservation checks (main/data/paraphrase/checks.ts); stored masks number them in this order, so add at the end. */
export const CHECK_NAMES = [
  'numbers',
  'expressions',
  'answer_leak',
  'too_similar',
  'length_ratio',
  'new_numbers',
  'negation',
] as const

/**
 * The model checks, for what rules cannot see (main/data/paraphrase/model-checks.ts): an OpenAI-compatible endpoint
 * judging whether both questions have the same answer, and a checkpoint's majority answers on both (the agreement
 * preview). Their findings are stored beside the rule checks' and survive a rule re-check of the same text.
 */
export const MODEL_CHECK_NAMES = ['judge', 'agreement'] as const

/** Every check a finding can name: the rule checks, then the model checks. */
export const FINDING_CHECKS = [...CHECK_NAMES, ...MODEL_CHECK_NAMES] as const

/** How much a check's finding matters: an error likely changes the answer, a warning may, a note is about form. */
export const SEVERITIES = ['error', 'warning', 'note'] as const

export const IMPORT_FORMATS = ['auto', 'jsonl', 'csv', 'parquet', 'verl', 'verl-pair', 'pairs', 'gsm8k'] as const

export const EXPORT_FORMATS = ['verl-pair', 'pairs', 'jsonl'] as const

/** The folders `export-model` / checkpoints.exportHf write: a Hugging Face folder (LoRA merged) or a PEFT adapter. */
export const MODEL_EXPORT_FORMATS = ['hf', 'peft'] as const

/** The markers a rewrite prompt asks the model to put its rewrite between. */
export const REWRITE_START = '<rewrite>'

export const REWRITE_END = '</rewrite>'

/** The default rewrite prompt of paraphrase generation (endpoint and ONNX); `{question}` is replaced by the question. */
export const DEFAULT_REWRITE_PROMPT = `Rewrite the math problem below so that it reads as a different problem on the surface: use other wording and
move it to another real-world setting (other people, objects or units), but keep every quantity, every relation
and the question asked exactly as they are, so that the mathematics and the final answer do not change. Do not
solve it and do not hint at the answer.

Problem:
{question}

Reply with the rewritten problem only, between ${REWRITE_START} and ${REWRITE_END}.`

/** What a chart's x axis can be: the step, the tokens processed so far, or the wall time. */
export const X_AXES = ['step', 'tokens', 'wall'] as const
