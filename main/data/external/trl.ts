// TRL's `trainer_state.json`: `log_history` is a list of dicts, each with a `step` and the metrics logged then
// (training logs and evaluation logs may share a step). GRPO metric names that mean what a canonical key means
// (co-rewarding.md section 9) are renamed; every other key is kept as TRL wrote it.

/** TRL key -> canonical key, only where the two measure the same thing. */
export const TRL_KEY_MAP: Readonly<Record<string, string>> = {
  reward: 'critic/score/mean',
  reward_std: 'critic/score/std',
  frac_reward_zero_std: 'critic/score/zero_std_frac',
  completion_length: 'response_length/mean',
  'completions/mean_length': 'response_length/mean',
  'completions/max_length': 'response_length/max',
  'completions/min_length': 'response_length/min',
  'completions/clipped_ratio': 'response_length/clip_ratio',
  kl: 'actor/kl_loss',
  entropy: 'actor/entropy',
  grad_norm: 'actor/grad_norm',
  learning_rate: 'actor/lr',
  'clip_ratio/region_mean': 'actor/pg_clipfrac',
}

/** Bookkeeping fields of a log entry, not metrics. */
const NOT_METRICS = new Set([
  'step',
  'epoch',
  'num_tokens',
  'total_flos',
  'train_runtime',
  'train_samples_per_second',
  'train_steps_per_second',
])

export interface TrlStep {
  step: number
  metrics: Record<string, number>
  /** Tokens processed so far (TRL's num_tokens), when logged. */
  tokens?: number
}

export function parseTrainerState(text: string, file: string): TrlStep[] {
  let state: unknown
  try {
    // Python's json writes NaN and infinities bare, which JSON.parse refuses: quote them (outside strings).
    state = JSON.parse(
      text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (token) => (token.startsWith('"') ? token : `"${token}"`)),
    )
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message}); is it a TRL trainer_state.json?`, { cause: error })
  }
  const history = (state as { log_history?: unknown })?.log_history
  if (!Array.isArray(history)) throw new Error(`${file}: no "log_history" list; is it a TRL trainer_state.json?`)
  const steps = new Map<number, TrlStep>()
  history.forEach((entry: unknown, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      throw new Error(`${file}: log_history[${i}] is not an object.`)
    const record = entry as Record<string, unknown>
    const step = record.step
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0)
      throw new Error(`${file}: log_history[${i}]: field "step" should be a whole number, got ${JSON.stringify(step)}.`)
    const target = steps.get(step) ?? { step, metrics: {} }
    for (const [key, value] of Object.entries(record)) {
      if (NOT_METRICS.has(key)) continue
      const number =
        typeof value === 'number'
          ? value
          : value === 'NaN'
            ? Number.NaN
            : value === 'Infinity'
              ? Infinity
              : value === '-Infinity'
                ? -Infinity
                : undefined
      if (number === undefined) continue
      target.metrics[TRL_KEY_MAP[key] ?? key] = number
    }
    if (typeof record.num_tokens === 'number') target.tokens = Math.round(record.num_tokens)
    steps.set(step, target)
  })
  return [...steps.values()].filter((s) => Object.keys(s.metrics).length > 0).sort((a, b) => a.step - b.step)
}
