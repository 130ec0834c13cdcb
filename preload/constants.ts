// Plain constants of the API contract, kept apart from the zod schemas so the renderer can use them without
// bundling zod; preload/contract.ts re-exports them.

export const RUN_STATUSES = ['queued', 'running', 'stopping', 'finished', 'stopped', 'failed', 'interrupted'] as const

export const REWARD_MODES = [
  'ground_truth',
  'majority_voting',
  'self_certainty',
  'entropy',
  'co_rewarding_i',
  'co_rewarding_ii',
] as const

/** What `runs.importLog` reads: a verl console log, a verl rollout dump folder, a TRL trainer_state.json. */
export const RUN_LOG_FORMATS = ['verl-console', 'verl-rollouts', 'trl'] as const

export const PARAPHRASE_STATUSES = ['pending', 'accepted', 'rejected'] as const

export const PARAPHRASE_ORIGINS = ['template', 'llm', 'manual', 'imported'] as const

export const CHECK_NAMES = ['numbers', 'expressions', 'answer_leak', 'too_similar', 'length_ratio'] as const

export const IMPORT_FORMATS = ['auto', 'jsonl', 'csv', 'parquet', 'verl', 'verl-pair', 'pairs', 'gsm8k'] as const

export const EXPORT_FORMATS = ['verl-pair', 'pairs', 'jsonl'] as const

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
