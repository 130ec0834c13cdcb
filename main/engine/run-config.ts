// A run's complete configuration: every hyper-parameter of a GRPO run, with the reference's defaults
// (co-rewarding.md section 6) scaled for the demo model where noted. resources/run-config.schema.json is
// generated from this schema (a test keeps them equal); `cwb train --print-config MODE` prints the defaults.
import { z } from 'zod'
import { DEMO_DATASET_NAME } from '../../preload/constants'
import { COLLAPSE_DEFAULTS } from './collapse'
import type { CollapseOptions } from './collapse'
import { LORA_MODULES } from './model/lora-modules'
import type { LoraSettings } from './model/lora'
import { hasParaphraseView, isRewardModeId, rewardMode, rewardModeIds, usesTeacher } from './rewards'
import type { RewardMode } from './rewards/shared/types'
import { plainErrors } from '../plain-errors'

const probability = z.number().min(0).max(1)
const positiveInt = z.number().int().min(1)

export const EmaConfig = z
  .object({
    enabled: z.boolean().default(true).describe('Update the teacher (off = the frozen-teacher ablation)'),
    alpha_start: probability.default(0.01).describe('EMA rate at the first step'),
    alpha_end: probability.default(1e-5).describe('EMA rate at the last step'),
    update_interval: positiveInt.default(1).describe('Update the teacher every N steps'),
    teacher_view: z
      .enum(['original', 'paraphrase'])
      .default('original')
      .describe('Teacher answers the original or the paraphrase (hybrid)'),
  })
  .strict()
export type EmaConfig = z.output<typeof EmaConfig>

export const LoraConfig = z
  .object({
    rank: positiveInt.max(4096).describe("r: the adapters' rank"),
    alpha: z.number().gt(0).describe('lora_alpha: the update is scaled by alpha / rank'),
    target_modules: z
      .array(z.enum([...LORA_MODULES, 'all-linear']))
      .min(1)
      .describe('Linear layers to adapt (PEFT names), or ["all-linear"]'),
    dropout: z.number().min(0).lt(1).default(0).describe("lora_dropout on the adapters' input while training"),
  })
  .strict()
export type LoraConfig = z.output<typeof LoraConfig>

/** The run's LoRA settings as the engine takes them, or undefined for full fine-tuning. */
export function loraSettings(config: { lora?: LoraConfig | null }): LoraSettings | undefined {
  const lora = config.lora
  if (!lora) return undefined
  const targets = lora.target_modules.includes('all-linear') ? [...LORA_MODULES] : [...new Set(lora.target_modules)]
  return { rank: lora.rank, alpha: lora.alpha, targetModules: targets, dropout: lora.dropout }
}

/** The modes are looked up when a config is parsed or the schema written, so a mode added to the registry is offered. */
const ModeField = z
  .string()
  .superRefine((mode, context) => {
    if (!isRewardModeId(mode)) context.addIssue({ code: 'invalid_value', values: rewardModeIds(), input: mode })
  })
  .describe('Reward mode')

export const RunConfig = z
  .object({
    name: z.string().min(1).max(200).describe('Run name shown in the run list'),
    mode: ModeField,
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1)
      .describe('Seed for data order, sampling and paraphrase choice'),
    dataset: z.string().min(1).default(DEMO_DATASET_NAME).describe('Training dataset (name or id)'),
    question_view: z
      .enum(['original', 'paraphrase'])
      .default('original')
      .describe(
        'The question a single-view mode rolls out, scores and votes on: the original, or one of its accepted paraphrases drawn per step as Co-rewarding-I draws them (the ablation "majority voting on the rephrased questions only"; every training question needs an accepted paraphrase)',
      ),
    cross_view: z
      .boolean()
      .optional()
      .describe(
        "Co-rewarding-I only (default true): score each view against the other view's vote; false scores each view against its own vote (the ablation without cross-view supervision)",
      ),
    train_split: z.string().min(1).default('train').describe('Split the questions are drawn from'),
    validation_split: z.string().min(1).default('validation').describe('Labelled held-out split for greedy validation'),
    checkpoint: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Starting checkpoint: a folder (cwb-gpt, or a Hugging Face qwen2 / qwen3 / llama folder), a cached hub id, a LoRA adapter folder, or RUN:STEP (default: the shipped base model)',
      ),
    lora: LoraConfig.nullable()
      .default(null)
      .describe('LoRA adapters over a frozen base (Hugging Face families; PEFT semantics and layout); null = full fine-tuning'),
    steps: positiveInt.max(1_000_000).default(60).describe('Training steps (optimizer updates x mini-batches)'),
    batch_size: positiveInt.max(4096).default(8).describe('Questions per step (reference 128; 8 for the demo model)'),
    rollouts: z.number().int().min(2).max(64).default(8).describe('Rollouts per question and view (G)'),
    temperature: z.number().gt(0).max(10).default(1).describe('Sampling temperature for rollouts'),
    top_p: z.number().gt(0).max(1).default(1).describe('Nucleus sampling mass for rollouts'),
    max_prompt_tokens: positiveInt.max(65536).default(48).describe('Longest prompt (reference 512; 48 for the demo)'),
    max_response_tokens: positiveInt.max(65536).default(32).describe('Response budget (reference 3072; 32 for the demo)'),
    learning_rate: z
      .number()
      .gt(0)
      .max(1)
      .default(1e-5)
      .describe('Peak learning rate (reference 3e-6 for 1.7B-8B models; 1e-5 for the ~1M-parameter demo model)'),
    warmup_fraction: probability.default(0.1).describe('Share of steps with linear warm-up, then half-cosine to 0'),
    weight_decay: z.number().min(0).max(1).default(0.01).describe('AdamW weight decay'),
    adam_betas: z.tuple([probability, probability]).default([0.9, 0.999]).describe('AdamW betas'),
    grad_clip: z.number().min(0).default(1).describe('Gradient-norm clip (0 = off)'),
    clip_ratio_low: z.number().min(0).max(1).default(0.2).describe('PPO clip epsilon below 1'),
    clip_ratio_high: z.number().min(0).max(10).default(0.2).describe('PPO clip epsilon above 1'),
    dual_clip: z.number().min(1).default(3).describe('Dual-clip constant c for negative advantages'),
    mini_batches: positiveInt
      .max(64)
      .default(1)
      .describe('Optimizer updates per step over the batch (1 = fully on-policy, the reference default)'),
    logprob_engine: z
      .enum(['onnx', 'tfjs'])
      .default('onnx')
      .describe('Where the log-prob passes (old policy, KL reference) run: onnxruntime (native kernels) or tfjs'),
    rollout_engine: z
      .enum(['onnx', 'tfjs'])
      .default('onnx')
      .describe(
        'Where rollouts and greedy validation are decoded: onnxruntime through a KV-cached graph fed the current weights (native kernels), or tfjs',
      ),
    update_engine: z
      .enum(['onnx', 'tfjs'])
      .default('onnx')
      .describe(
        'Where the update (forward, backward) runs: onnxruntime through the training graph of cwb-gpt models, or tfjs (the Hugging Face families and LoRA train on tfjs either way)',
      ),
    micro_batch_size: positiveInt
      .max(4096)
      .default(32)
      .describe('Sequences per backward pass (memory only; results do not depend on it)'),
    kl: z
      .object({
        coef: z.number().min(0).max(10).optional().describe('KL loss coefficient (default by mode: Co-I 0.005, others 0.001)'),
      })
      .strict()
      .default({})
      .describe('k3 KL loss against the frozen initial model (Co-II: the EMA teacher), clamped to [-10, 10]'),
    ema: EmaConfig.optional().describe('Co-rewarding-II teacher (only for mode co_rewarding_ii)'),
    voting: z
      .object({
        normalised: z.boolean().default(false).describe('Match answers by GT equivalence (the reference matches exact strings)'),
      })
      .strict()
      .default({ normalised: false }),
    extractor: z.enum(['boxed', 'gsm8k', 'last-number']).default('boxed').describe('Answer extractor'),
    validation: z
      .object({
        every: positiveInt.default(10).describe('Validate every N steps (and at step 0)'),
        questions: positiveInt.max(100000).default(200).describe('Held-out questions per validation'),
      })
      .strict()
      .default({ every: 10, questions: 200 }),
    checkpoint_every: positiveInt.default(10).describe('Save a checkpoint every N steps (and at the end)'),
    keep_checkpoints: z.number().int().min(0).default(0).describe('Keep the last K checkpoints besides tagged ones (0 = all)'),
    sample_groups: z.number().int().min(0).default(8).describe('Question groups per step whose rollouts are stored'),
    stop_on_collapse: z.boolean().default(false).describe('Stop the run when a collapse rule fires'),
    collapse: z
      .object({
        min_steps: z
          .number()
          .int()
          .min(0)
          .default(COLLAPSE_DEFAULTS.minSteps)
          .describe('No collapse rule fires before this step'),
        smoothing: positiveInt
          .default(COLLAPSE_DEFAULTS.smoothing)
          .describe('Trailing mean over this many logged values before comparing'),
        gt_drop_threshold: probability
          .default(COLLAPSE_DEFAULTS.gtDropThreshold)
          .describe(
            'Held-out accuracy drop below its best that, with a rising reward, is flagged, if the significance test over the validation questions also finds it beyond sampling error',
          ),
        reward_rise_window: z
          .number()
          .int()
          .min(2)
          .default(COLLAPSE_DEFAULTS.rewardRiseWindow)
          .describe('Steps over which the training reward must be rising'),
        length_collapse_fraction: probability
          .default(COLLAPSE_DEFAULTS.lengthCollapseFraction)
          .describe('Mean response length below this fraction of its start is flagged'),
        clip_ratio_pinned: z
          .number()
          .gt(0)
          .max(1)
          .default(COLLAPSE_DEFAULTS.clipRatioPinned)
          .describe('Clip ratio at or above this counts as pinned at the maximum length'),
        pinned_steps: positiveInt.default(COLLAPSE_DEFAULTS.pinnedSteps).describe('Consecutive pinned steps that are flagged'),
        pseudo_drop_threshold: probability
          .default(COLLAPSE_DEFAULTS.pseudoDropThreshold)
          .describe(
            'Pseudo-label accuracy drop below its best that is flagged, if the significance test over the questions of those steps (batch_size each) also finds it beyond sampling error',
          ),
        significance: z
          .number()
          .gt(0)
          .max(1)
          .default(COLLAPSE_DEFAULTS.significance)
          .describe(
            'Level of the one-sided two-proportion test an accuracy drop must pass to be flagged, spent over the run so a run with steady accuracy is flagged with about this chance (with 8 questions per step, 3/8 -> 2/8 is noise; with 200, 60% -> 40% is not); 1 = thresholds only',
          ),
      })
      .strict()
      .default({
        min_steps: COLLAPSE_DEFAULTS.minSteps,
        smoothing: COLLAPSE_DEFAULTS.smoothing,
        gt_drop_threshold: COLLAPSE_DEFAULTS.gtDropThreshold,
        reward_rise_window: COLLAPSE_DEFAULTS.rewardRiseWindow,
        length_collapse_fraction: COLLAPSE_DEFAULTS.lengthCollapseFraction,
        clip_ratio_pinned: COLLAPSE_DEFAULTS.clipRatioPinned,
        pinned_steps: COLLAPSE_DEFAULTS.pinnedSteps,
        pseudo_drop_threshold: COLLAPSE_DEFAULTS.pseudoDropThreshold,
        significance: COLLAPSE_DEFAULTS.significance,
      })
      .describe('Collapse rules (see main/engine/collapse.ts)'),
  })
  .strict()

export type RunConfig = z.output<typeof RunConfig>
export type RunConfigInput = z.input<typeof RunConfig>

export function klCoefficient(config: RunConfig): number {
  return config.kl.coef ?? rewardMode(config.mode).klCoef
}

/**
 * The collapse rules' options for a run: its collapse settings, and the questions behind each accuracy value for the
 * significance test (batch_size per step; the validation questions, or `heldOutAvailable` where the split has fewer).
 */
export function collapseOptions(config: RunConfig, heldOutAvailable = Infinity): CollapseOptions {
  const c = config.collapse
  return {
    minSteps: c.min_steps,
    smoothing: c.smoothing,
    gtDropThreshold: c.gt_drop_threshold,
    rewardRiseWindow: c.reward_rise_window,
    lengthCollapseFraction: c.length_collapse_fraction,
    clipRatioPinned: c.clip_ratio_pinned,
    pinnedSteps: c.pinned_steps,
    pseudoDropThreshold: c.pseudo_drop_threshold,
    significance: c.significance,
    pseudoLabelQuestions: config.batch_size,
    heldOutQuestions: Math.max(1, Math.min(config.validation.questions, heldOutAvailable)),
    maxResponseLength: config.max_response_tokens,
  }
}

/** Whether each view of a two-view mode (Co-rewarding-I) is scored against the other view's vote: the default. */
export function crossView(config: RunConfig): boolean {
  return config.cross_view ?? true
}

export function emaConfig(config: RunConfig): EmaConfig {
  return config.ema ?? EmaConfig.parse({})
}

/** Whether a run prompts the model with paraphrases: its mode's paraphrase view, a teacher reading them, or question_view. */
export function promptsParaphrases(config: RunConfig): boolean {
  const mode = rewardMode(config.mode)
  return (
    config.question_view === 'paraphrase' ||
    hasParaphraseView(mode) ||
    (usesTeacher(mode) && emaConfig(config).teacher_view === 'paraphrase')
  )
}

/** The modes for which a rule holds, as a message lists them. */
const modesWhere = (rule: (mode: RewardMode) => boolean): string =>
  rewardModeIds()
    .filter((id) => rule(rewardMode(id)))
    .join(', ')

/** Validates a run config, naming the first bad field and why (`<source>: <field>: <reason>`). */
export function parseRunConfig(raw: unknown, source: string): RunConfig {
  const parsed = RunConfig.safeParse(raw, { error: plainErrors })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`${source}: ${issue?.path.join('.') || '(config)'}: ${issue?.message}`)
  }
  if (parsed.data.ema !== undefined && !usesTeacher(rewardMode(parsed.data.mode))) {
    const teachers = rewardModeIds().filter((id) => usesTeacher(rewardMode(id)))
    throw new Error(
      `${source}: ema: only ${teachers.join(', ')} has an EMA teacher; remove ema or use mode ${teachers.join(' or ')}`,
    )
  }
  const mode = rewardMode(parsed.data.mode)
  if (parsed.data.cross_view !== undefined && !hasParaphraseView(mode)) {
    throw new Error(
      `${source}: cross_view: mode ${mode.id} has one view, so there is no other view to score against; ` +
        `cross_view applies to ${modesWhere(hasParaphraseView)} only: remove it`,
    )
  }
  if (parsed.data.question_view === 'paraphrase' && mode.extraViews.length > 0) {
    throw new Error(
      `${source}: question_view: "paraphrase" swaps the question of a single-view mode (${modesWhere((m) => m.extraViews.length === 0)}); ` +
        `${mode.id} already rolls out ${mode.extraViews.join(' and ')} rollouts besides the original` +
        (usesTeacher(mode) ? ' (for a teacher that answers the paraphrase, set ema.teacher_view "paraphrase")' : '') +
        ': use question_view "original"',
    )
  }
  return parsed.data
}

/** The complete default config of a mode, as `cwb train --print-config MODE` prints it. */
export function defaultRunConfig(mode: string): RunConfig {
  const config = RunConfig.parse({ name: `demo-${mode}`, mode })
  return {
    ...config,
    kl: { coef: klCoefficient(config) },
    ...(hasParaphraseView(rewardMode(mode)) ? { cross_view: crossView(config) } : {}),
    ...(usesTeacher(rewardMode(mode)) ? { ema: emaConfig(config) } : {}),
  }
}

export function runConfigJsonSchema(): object {
  return z.toJSONSchema(RunConfig, {
    io: 'input',
    target: 'draft-2020-12',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema === ModeField) jsonSchema.enum = rewardModeIds()
    },
  })
}
