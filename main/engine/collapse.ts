// Collapse and reward-hacking rules: the signals of co-rewarding.md section 10, read from a run's metric series
// (verl's keys, section 9, so runs imported from verl are judged the same way). The trainer checks them after
// every step (CollapseWatch), the Compare view and verl imports over the whole series (detectCollapse).
//
// The rules, as the README and the UI quote them (names in brackets are the options, defaults in COLLAPSE_DEFAULTS):
//
// Common to every rule
// - Missing and NaN values are skipped; a step logged twice (a resumed verl run) counts with its last value.
// - "Smoothed" means the mean of the last [smoothing] logged values up to that step (fewer at the very start),
//   so one noisy step moves the value by only a fraction; smoothing 1 compares the raw values.
// - A rule looks only at the steps up to the one it judges, so a flag raised at step s is still raised at step s
//   when more steps are logged: flags never move or disappear.
// - A rule fires at most once per run, at the first step where it holds, and never before step [minSteps].
//   A rule re-armed at step r is judged again as if the run started after r: only later steps count, its
//   baselines (best accuracy, starting length) restart there, and it fires no earlier than step r + [minSteps].
//
// A drop beyond sampling error (the accuracy rules): an accuracy is a share of questions, so a drop from the best
//   to the latest value counts only when it is larger than [gtDropThreshold] / [pseudoDropThreshold] and, where the
//   number of questions behind each value is known ([heldOutQuestions], [pseudoLabelQuestions]), a one-sided
//   two-proportion z-test says it is beyond sampling error. With 8 questions a step, 3/8 -> 2/8 is p = 0.29: noise;
//   with 200, 60% -> 40% is p = 3e-5. The test's level is [significance] spent over the run: the rule compares the
//   best so far with the latest at every logged value, and the best is the highest of many noisy windows, so the
//   comparison made when the series holds w windows of [smoothing] values must reach
//   p < significance / (pi^2 / 6 * smoothing * w^3). That keeps the chance that a run whose accuracy never changes
//   is flagged at all near [significance] (at most 0.03 for 0.05 in simulated 100-step runs at 8, 32 and 200
//   questions a step). A smoothed pseudo-label accuracy pools its values' questions (each step draws new ones);
//   held-out validations re-ask the same questions, so they count once. Without the counts (runs imported from
//   verl) only the thresholds apply.
//
// gt_drop_reward_rise: held-out accuracy falls while the training reward keeps rising (likely reward hacking).
//   Held-out accuracy at a validation step is the mean over benchmarks of `val-core/<source>/reward/mean@1`
//   (those with a value at that step), smoothed over validation steps. At every step the rule takes the latest
//   validation; it fires when that smoothed accuracy is below the best smoothed accuracy so far by a drop beyond
//   sampling error (above), and the training reward `critic/score/mean` is rising: both its least-squares slope over
//   the last [rewardRiseWindow] logged steps is above 0 and its smoothed value now is above its smoothed value
//   at the best validation step (at step 0, before training: the first logged reward).
//
// length_collapse: mean response length collapses (e.g. short consensus answers under majority voting).
//   Fires when the smoothed `response_length/mean` falls below [lengthCollapseFraction] of its length at the
//   start (the mean of the first [smoothing] logged values).
//
// length_pinned: responses run to the maximum length (e.g. repetition under entropy or self-certainty).
//   Fires when `response_length/clip_ratio`, the share of responses that hit the maximum, is at or above
//   [clipRatioPinned] for [pinnedSteps] logged steps in a row (no smoothing: the run of steps is the guard).
//
// pseudo_label_drop: the labels the self-reward is built from drift away from the ground truth.
//   Fires when the smoothed `coreward/pseudo_acc` is below its best smoothed value so far by a drop beyond sampling
//   error (above). Silent for runs without pseudo labels (ground_truth, self_certainty, entropy).

export type CollapseRule = 'gt_drop_reward_rise' | 'length_collapse' | 'length_pinned' | 'pseudo_label_drop'

/** Rule order for flags raised at the same step. */
export const COLLAPSE_RULES: readonly CollapseRule[] = [
  'gt_drop_reward_rise',
  'length_collapse',
  'length_pinned',
  'pseudo_label_drop',
]

export interface CollapseFlag {
  rule: CollapseRule
  step: number
  /** One sentence with the numbers compared. */
  message: string
  detail: Record<string, number>
}

/** A run's metrics by key: [step, value] in ascending step order; null for NaN or missing. */
export type MetricSeries = Readonly<Record<string, readonly (readonly [step: number, value: number | null])[]>>

export interface CollapseOptions {
  /** No rule fires before this step. */
  minSteps: number
  /** Logged values in the trailing mean compared by the rules (1 = raw values). */
  smoothing: number
  /** Held-out accuracy drop below its best (absolute, 0-1) that, with a rising reward, is flagged. */
  gtDropThreshold: number
  /** Logged steps over which the training reward's least-squares slope must be above 0. */
  rewardRiseWindow: number
  /** Mean response length below this fraction of its start is flagged. */
  lengthCollapseFraction: number
  /** Clip ratio (share of responses at the maximum length) at or above this counts as pinned. */
  clipRatioPinned: number
  /** Consecutive pinned steps that are flagged. */
  pinnedSteps: number
  /** Pseudo-label accuracy drop below its best (absolute, 0-1) that is flagged. */
  pseudoDropThreshold: number
  /** Level of the run-long one-sided two-proportion test a drop in accuracy must pass (1 = thresholds only). */
  significance: number
  /** Questions behind each `coreward/pseudo_acc` value (the run's questions per step); unknown = thresholds only. */
  pseudoLabelQuestions?: number
  /** Held-out questions behind each validation accuracy; unknown = thresholds only. */
  heldOutQuestions?: number
  /** The run's response budget in tokens, quoted in the length_pinned message. */
  maxResponseLength?: number
}

export const COLLAPSE_DEFAULTS: Readonly<CollapseOptions> = Object.freeze({
  minSteps: 5,
  smoothing: 3,
  gtDropThreshold: 0.1,
  rewardRiseWindow: 10,
  lengthCollapseFraction: 0.5,
  clipRatioPinned: 0.8,
  pinnedSteps: 5,
  pseudoDropThreshold: 0.1,
  significance: 0.05,
})

const REWARD = 'critic/score/mean'
const LENGTH = 'response_length/mean'
const CLIP_RATIO = 'response_length/clip_ratio'
const PSEUDO_ACCURACY = 'coreward/pseudo_acc'
const HELD_OUT_ACCURACY = /^val-core\/.+\/reward\/mean@1$/

export interface Point {
  step: number
  value: number
}

type Rows = MetricSeries[string]

const wholeAtLeast = (minimum: number) => (value: number) => Number.isInteger(value) && value >= minimum
const between = (low: number, high: number) => (value: number) => value >= low && value <= high

const OPTION_CHECKS: Record<keyof CollapseOptions, [ok: (value: number) => boolean, expected: string]> = {
  minSteps: [wholeAtLeast(0), 'a whole number of steps, 0 or more'],
  smoothing: [wholeAtLeast(1), 'a whole number of logged values, 1 or more (1 = no smoothing)'],
  gtDropThreshold: [between(0, 1), 'an accuracy drop between 0 and 1'],
  rewardRiseWindow: [wholeAtLeast(2), 'a whole number of steps, 2 or more'],
  lengthCollapseFraction: [(value) => value > 0 && value < 1, 'a fraction above 0 and below 1'],
  clipRatioPinned: [(value) => value > 0 && value <= 1, 'a share above 0 and at most 1'],
  pinnedSteps: [wholeAtLeast(1), 'a whole number of steps, 1 or more'],
  pseudoDropThreshold: [between(0, 1), 'an accuracy drop between 0 and 1'],
  significance: [(value) => value > 0 && value <= 1, 'a level above 0 and at most 1 (1 = thresholds only)'],
  pseudoLabelQuestions: [wholeAtLeast(1), 'a whole number of questions, 1 or more'],
  heldOutQuestions: [wholeAtLeast(1), 'a whole number of questions, 1 or more'],
  maxResponseLength: [wholeAtLeast(1), 'a whole number of tokens, 1 or more'],
}

/** The defaults overridden by the options given (undefined ones keep the default); throws on a bad value. */
function resolveOptions(options: Partial<CollapseOptions>): CollapseOptions {
  const resolved: CollapseOptions = { ...COLLAPSE_DEFAULTS }
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue
    const check = OPTION_CHECKS[name as keyof CollapseOptions]
    if (check === undefined)
      throw new RangeError(`collapse option ${name}: unknown; use one of ${Object.keys(OPTION_CHECKS).join(', ')}`)
    if (typeof value !== 'number' || !check[0](value))
      throw new RangeError(`collapse option ${name}: ${String(value)} is not valid; use ${check[1]}`)
    resolved[name as keyof CollapseOptions] = value
  }
  return resolved
}

const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length

/** Finite values after step `after`, in step order; a step logged twice keeps its last value. */
function points(rows: Rows | undefined, after: number): Point[] {
  const byStep = new Map<number, number>()
  for (const [step, value] of rows ?? []) if (step > after && value !== null && Number.isFinite(value)) byStep.set(step, value)
  return [...byStep].sort(([a], [b]) => a - b).map(([step, value]) => ({ step, value }))
}

/**
 * Held-out accuracy at each validation step after `after` (see gt_drop_reward_rise above): the mean over benchmarks
 * of the finite `val-core/<source>/reward/mean@1` values logged at that step. The results table reads it too.
 */
export function heldOutAccuracy(series: MetricSeries, after = -Infinity): Point[] {
  const byStep = new Map<number, number[]>()
  for (const [key, rows] of Object.entries(series)) {
    if (!HELD_OUT_ACCURACY.test(key)) continue
    for (const { step, value } of points(rows, after)) byStep.set(step, [...(byStep.get(step) ?? []), value])
  }
  return [...byStep].sort(([a], [b]) => a - b).map(([step, values]) => ({ step, value: mean(values) }))
}

/** A smoothed point, with how many logged values its mean is over. */
interface Smoothed extends Point {
  values: number
}

/** Trailing mean of the last `window` values at each point: it uses nothing logged later. */
const smooth = (series: Point[], window: number): Smoothed[] =>
  series.map((point, i) => {
    const values = series.slice(Math.max(0, i + 1 - window), i + 1).map((p) => p.value)
    return { step: point.step, value: mean(values), values: values.length }
  })

/** The standard normal distribution function (Abramowitz and Stegun 26.2.17, error below 7.5e-8). */
function normalCdf(z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z))
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))))
  const tail = (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) * poly
  return z >= 0 ? 1 - tail : tail
}

/**
 * One-sided p-value of a two-proportion z-test (pooled) that the share `before`, over `nBefore` questions, is above
 * the share `after`, over `nAfter`: how often sampling error alone would show a drop this large.
 */
export function dropPValue(before: number, nBefore: number, after: number, nAfter: number): number {
  const pooled = (before * nBefore + after * nAfter) / (nBefore + nAfter)
  const error = Math.sqrt(pooled * (1 - pooled) * (1 / nBefore + 1 / nAfter))
  if (!(error > 0)) return 1
  return 1 - normalCdf((before - after) / error)
}

/** A drop from the best to the latest value that the threshold and, with the questions known, the run-long test pass. */
interface Drop {
  /** The test's numbers, where it ran: the questions behind the best and the latest value, p, and the level p had to beat. */
  test?: { questions: [number, number]; pValue: number; level: number }
}

/**
 * Whether the drop from `best` to `now` counts (see "A drop beyond sampling error" above). `questions` is per logged
 * value; `pooled` says whether a smoothed value pools its values' questions; `logged` is how many values the series
 * holds up to `now`.
 */
function significantDrop(
  best: Smoothed,
  now: Smoothed,
  threshold: number,
  questions: number | undefined,
  pooled: boolean,
  logged: number,
  options: CollapseOptions,
): Drop | undefined {
  if (!(best.value - now.value > threshold)) return undefined
  if (questions === undefined || options.significance >= 1) return {}
  const windows = Math.ceil(logged / options.smoothing)
  const level = options.significance / ((Math.PI ** 2 / 6) * options.smoothing * windows ** 3)
  const count = (point: Smoothed): number => questions * (pooled ? point.values : 1)
  const pValue = dropPValue(best.value, count(best), now.value, count(now))
  return pValue < level ? { test: { questions: [count(best), count(now)], pValue, level } } : undefined
}

/** The test's words and numbers for a flag's message and detail. */
function testNote({ test }: Drop): { words: string; detail: Record<string, number> } {
  if (test === undefined) return { words: '', detail: {} }
  const [before, after] = test.questions
  return {
    words:
      ` (beyond sampling error: one-sided two-proportion test over ${before} and ${after} questions, ` +
      `p = ${probability(test.pValue)} < ${probability(test.level)})`,
    detail: { questionsAtBest: before, questions: after, pValue: test.pValue, level: test.level },
  }
}

function leastSquaresSlope(series: Point[]): number {
  const meanStep = mean(series.map((p) => p.step))
  const meanValue = mean(series.map((p) => p.value))
  let covariance = 0
  let variance = 0
  for (const { step, value } of series) {
    covariance += (step - meanStep) * (value - meanValue)
    variance += (step - meanStep) ** 2
  }
  return variance === 0 ? 0 : covariance / variance
}

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`
const wholePercent = (share: number): string => `${Math.round(share * 100)}%`
const tokens = (length: number): string => String(Number(length.toFixed(1)))
const probability = (p: number): string => (p < 0.001 ? p.toExponential(1) : p.toPrecision(2))

interface Judged {
  options: CollapseOptions
  /** Only steps after this count (the re-arm step, or -Infinity). */
  after: number
  /** The first step the rule may fire at. */
  firstStep: number
}

function gtDropRewardRise(series: MetricSeries, { options, after, firstStep }: Judged): CollapseFlag | undefined {
  const accuracy = smooth(heldOutAccuracy(series, after), options.smoothing)
  const rawReward = points(series[REWARD], after)
  const reward = smooth(rawReward, options.smoothing)
  const steps = [...new Set([...accuracy, ...reward].map((p) => p.step))].sort((a, b) => a - b)
  let latest = -1
  let best = -1
  let rewardIndex = -1
  let peakRewardIndex = -1
  for (const step of steps) {
    while (latest + 1 < accuracy.length && accuracy[latest + 1]!.step <= step) {
      latest++
      if (best < 0 || accuracy[latest]!.value > accuracy[best]!.value) best = latest
    }
    while (rewardIndex + 1 < reward.length && reward[rewardIndex + 1]!.step <= step) rewardIndex++
    if (step < firstStep || latest < 0 || rewardIndex < 1) continue
    const peak = accuracy[best]!
    const now = accuracy[latest]!
    const drop = significantDrop(peak, now, options.gtDropThreshold, options.heldOutQuestions, false, latest + 1, options)
    if (drop === undefined) continue
    while (peakRewardIndex + 1 < reward.length && reward[peakRewardIndex + 1]!.step <= peak.step) peakRewardIndex++
    const rewardNow = reward[rewardIndex]!.value
    const rewardAtPeak = reward[Math.max(0, peakRewardIndex)]!.value
    const slope = leastSquaresSlope(rawReward.slice(Math.max(0, rewardIndex + 1 - options.rewardRiseWindow), rewardIndex + 1))
    if (!(slope > 0 && rewardNow > rewardAtPeak)) continue
    const test = testNote(drop)
    return {
      rule: 'gt_drop_reward_rise',
      step,
      message:
        `Held-out accuracy fell from ${percent(peak.value)} (step ${peak.step}) to ${percent(now.value)} (step ${now.step})${test.words} ` +
        `while the training reward kept rising (${rewardAtPeak.toFixed(2)} -> ${rewardNow.toFixed(2)}): likely reward hacking.`,
      detail: {
        bestAccuracy: peak.value,
        bestStep: peak.step,
        accuracy: now.value,
        validationStep: now.step,
        rewardAtBest: rewardAtPeak,
        reward: rewardNow,
        rewardSlope: slope,
        ...test.detail,
      },
    }
  }
  return undefined
}

function lengthCollapse(series: MetricSeries, { options, after, firstStep }: Judged): CollapseFlag | undefined {
  const length = smooth(points(series[LENGTH], after), options.smoothing)
  const start = length[options.smoothing - 1]?.value
  if (start === undefined) return undefined
  const collapsed = length.find(
    (p, i) => i >= options.smoothing && p.step >= firstStep && p.value < options.lengthCollapseFraction * start,
  )
  if (collapsed === undefined) return undefined
  const fraction = collapsed.value / start
  return {
    rule: 'length_collapse',
    step: collapsed.step,
    message:
      `Mean response length fell to ${tokens(collapsed.value)} tokens, ${wholePercent(fraction)} of the ${tokens(start)} it started at ` +
      `(limit ${wholePercent(options.lengthCollapseFraction)}): the policy may be collapsing onto short consensus answers.`,
    detail: { length: collapsed.value, startLength: start, fraction },
  }
}

function lengthPinned(series: MetricSeries, { options, after, firstStep }: Judged): CollapseFlag | undefined {
  const clipRatio = points(series[CLIP_RATIO], after)
  let pinned = 0
  for (const [i, point] of clipRatio.entries()) {
    pinned = point.value >= options.clipRatioPinned ? pinned + 1 : 0
    if (pinned < options.pinnedSteps || point.step < firstStep) continue
    const run = clipRatio.slice(i + 1 - options.pinnedSteps, i + 1)
    const lowest = Math.min(...run.map((p) => p.value))
    const maximum =
      options.maxResponseLength === undefined ? 'the maximum length' : `the ${options.maxResponseLength}-token maximum`
    return {
      rule: 'length_pinned',
      step: point.step,
      message:
        `At least ${wholePercent(lowest)} of responses hit ${maximum} at each of steps ${run[0]!.step}-${point.step} ` +
        `(limit ${wholePercent(options.clipRatioPinned)} for ${options.pinnedSteps} steps in a row): ` +
        'the policy may be running to the maximum, often with repetition.',
      detail: {
        lowestClipRatio: lowest,
        firstStep: run[0]!.step,
        steps: options.pinnedSteps,
        ...(options.maxResponseLength === undefined ? {} : { maxResponseLength: options.maxResponseLength }),
      },
    }
  }
  return undefined
}

function pseudoLabelDrop(series: MetricSeries, { options, after, firstStep }: Judged): CollapseFlag | undefined {
  const accuracy = smooth(points(series[PSEUDO_ACCURACY], after), options.smoothing)
  let best: Smoothed | undefined
  for (const [i, point] of accuracy.entries()) {
    if (best === undefined || point.value > best.value) best = point
    if (point.step < firstStep) continue
    const questions = options.pseudoLabelQuestions
    const drop = significantDrop(best, point, options.pseudoDropThreshold, questions, true, i + 1, options)
    if (drop === undefined) continue
    const test = testNote(drop)
    return {
      rule: 'pseudo_label_drop',
      step: point.step,
      message:
        `Pseudo-label accuracy fell from ${percent(best.value)} (step ${best.step}) to ${percent(point.value)}, ` +
        `more than ${tokens(options.pseudoDropThreshold * 100)} points below its best${test.words}: ` +
        'the labels the reward is built from are drifting away from the ground truth.',
      detail: { bestAccuracy: best.value, bestStep: best.step, accuracy: point.value, ...test.detail },
    }
  }
  return undefined
}

const RULES: Record<CollapseRule, (series: MetricSeries, judged: Judged) => CollapseFlag | undefined> = {
  gt_drop_reward_rise: gtDropRewardRise,
  length_collapse: lengthCollapse,
  length_pinned: lengthPinned,
  pseudo_label_drop: pseudoLabelDrop,
}

/**
 * The collapse flags of a run's whole metric series, at most one per rule, sorted by step. Pure and deterministic.
 * `rearmedAt` holds the step each re-armed rule was re-armed at. Throws a RangeError naming a bad option.
 */
export function detectCollapse(
  series: MetricSeries,
  options: Partial<CollapseOptions> = {},
  rearmedAt: Partial<Record<CollapseRule, number>> = {},
): CollapseFlag[] {
  const resolved = resolveOptions(options)
  const flags: CollapseFlag[] = []
  for (const rule of COLLAPSE_RULES) {
    const after = rearmedAt[rule] ?? -Infinity
    const flag = RULES[rule](series, {
      options: resolved,
      after,
      firstStep: Math.max(resolved.minSteps, after + resolved.minSteps),
    })
    if (flag !== undefined) flags.push(flag)
  }
  return flags.sort((a, b) => a.step - b.step || COLLAPSE_RULES.indexOf(a.rule) - COLLAPSE_RULES.indexOf(b.rule))
}

/** The live trainer's view: call update with the run's series after each step; it returns only new flags. */
export class CollapseWatch {
  private readonly options: CollapseOptions
  private readonly raised = new Set<CollapseRule>()
  private readonly rearmedAt: Partial<Record<CollapseRule, number>> = {}
  private latestStep = -Infinity

  /** `reported`: flags already stored for this run (a resumed run), so their rules stay quiet. */
  constructor(options: Partial<CollapseOptions> = {}, reported: readonly CollapseFlag[] = []) {
    this.options = resolveOptions(options)
    for (const flag of reported) {
      this.raised.add(flag.rule)
      this.latestStep = Math.max(this.latestStep, flag.step)
    }
  }

  update(series: MetricSeries): CollapseFlag[] {
    for (const rows of Object.values(series)) for (const [step] of rows) this.latestStep = Math.max(this.latestStep, step)
    const fresh = detectCollapse(series, this.options, this.rearmedAt).filter((flag) => !this.raised.has(flag.rule))
    for (const flag of fresh) this.raised.add(flag.rule)
    return fresh
  }

  /** Lets a rule fire again, judged only on the steps after the latest one seen (see the rules above). */
  rearm(rule: CollapseRule): void {
    this.raised.delete(rule)
    this.rearmedAt[rule] = this.latestStep
  }
}
