// The GRPO trainer. One step (design.md section 5): sample the batch -> rollouts (policy; the paraphrase view
// for Co-rewarding-I; the EMA teacher for Co-rewarding-II) -> answers -> rewards + audit -> advantages ->
// loss + update -> events (metrics, samples) -> validation every N steps -> checkpoint every M steps.
// Everything random is a function of (seed, step), so a run resumed from a checkpoint continues exactly.
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { extractAnswer } from '../answers/extract'
import { useBackend } from '../backend'
import { evaluate, promptFor } from '../evaluate'
import { groupAdvantages } from '../grpo/advantages'
import { asTensors } from '../model/load'
import type { Decoder } from '../model/families/decoder'
import type { Transformer } from '../model/transformer'
import { accumulatedGradients } from '../optim/accumulate'
import { AdamW, learningRateAt } from '../optim/adamw'
import { systemPromptFor } from '../prompt'
import { auditStep } from '../rewards/shared/audit'
import { rewardMode, scoreStep, usesTeacher } from '../rewards'
import type { GroupScore, QuestionGroup, Rollout, View } from '../rewards/shared/types'
import { collapseOptions, crossView, emaConfig, klCoefficient, loraSettings, promptsParaphrases } from '../run-config'
import type { RunConfig } from '../run-config'
import type { OnnxKvSession } from '../onnx/decoder-session'
import { generate, tfjsLogits } from '../sampling'
import type { Completion } from '../sampling'
import { CollapseWatch } from '../collapse'
import type { CollapseFlag } from '../collapse'
import { Random } from '../../random'
import { emaRate, updateTeacher } from './ema'
import { peakRssBytes, resetPeakRss } from './peak-memory'
import type { FaultHook } from './faults'
import type { WeightFeed } from '../onnx/export'
import { onnxResponseStats } from '../onnx/token-stats'
import type { OnnxLogitsModel, ResponseStats } from '../onnx/token-stats'
import type { OnnxTrainingGraph } from '../onnx/train-graph'
import { microBatchLoss, responseTokenStats, trainingBatch } from './grpo'
import type { LossSettings, TrainingRow } from './grpo'
import { openPolicy, OPTIMIZER_FILE, TEACHER_FILE } from './policy'
import type { Policy, TrainableModel } from './policy'

export interface TrainRecord {
  id: number | null
  /** How messages name the record, as the Datasets view numbers it (e.g. `record 3 of dataset "x" (id 2501)`). */
  name?: string
  question: string
  /** Ground truth, for the GT reward and the audit only. */
  answer: string | null
  /** Accepted paraphrases (Co-rewarding-I draws one per step). */
  paraphrases: string[]
}

export interface TrainerJob {
  config: RunConfig
  /** This run's folder: checkpoints go to <runDir>/checkpoints/step-N. */
  runDir: string
  /** The checkpoint the run starts from (folder). */
  startCheckpoint: string
  /** A checkpoint of this run to resume from. */
  resumeFrom?: string
  train: TrainRecord[]
  validation: { question: string; answer: string }[]
  /** `<source>` of val-core/<source>/reward/mean@1. */
  validationSource: string
  /** When resuming: the run's stored metrics and the collapse flags already raised, so the rules see the whole run. */
  history?: { series: Record<string, [number, number | null][]>; flags: CollapseFlag[] }
}

export interface SampleEvent {
  recordId: number | null
  groupIndex: number
  view: View
  prompt: string
  text: string
  answer: string
  pseudoLabel: string | null
  reward: number | null
  advantage: number | null
}

export type TrainerEvent =
  | { type: 'started'; step: number; totalSteps: number; backend: string; parameters: number; resumed: boolean }
  | { type: 'phase'; step: number; phase: 'rollout' | 'scoring' | 'update' | 'validation' | 'checkpoint' }
  | { type: 'step'; step: number; wallTime: number; tokens: number; metrics: Record<string, number>; samples: SampleEvent[] }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'alert'; step: number; rule: string; message: string; detail: Record<string, number> }
  | { type: 'log'; level: 'info' | 'warning'; message: string }

/** A NaN or infinity in the loss, the gradients, the weights or a metric: the run stops at `step`. */
export class NumericalFault extends Error {
  constructor(
    readonly step: number,
    what: string,
    lastCheckpoint: number | undefined,
  ) {
    super(
      `numerical fault at step ${step}: ${what}. The run stops; ` +
        (lastCheckpoint === undefined
          ? 'it has no checkpoint yet, so start it again (lower learning_rate)'
          : `its last good checkpoint is step ${lastCheckpoint} (resume from it, or lower learning_rate)`),
    )
  }
}

export interface TrainerOptions {
  /** Test-only (CWB_FAULT): called between the phases of each step, where a test may break its state. */
  faults?: FaultHook
}

/** One view's rollouts of the step: G per question, question by question. */
interface ViewRollouts {
  view: View
  /** One per question. */
  prompts: number[][]
  completions: Completion[]
  texts: string[]
  /** The completions' tokens as trained on: EOS appended where it was generated. */
  responses: number[][]
}

/** A view the policy trains on (the teacher's rollouts only score). */
type TrainedRollouts = ViewRollouts & { view: Exclude<View, 'teacher'> }

type Row = TrainingRow & { view: TrainedRollouts['view'] }

/** Per trained view, in the same order: its log-probs (and token statistics) under the policy and the KL reference. */
interface LogProbPasses {
  policy: ResponseStats[]
  reference: ResponseStats[]
}

/** Per view: its random stream (its rollouts' seeds) and its timing key (method doc section 9). */
const VIEWS: Record<View, { stream: number; timing: string }> = {
  original: { stream: 0, timing: 'timing_s/gen' },
  paraphrase: { stream: 1, timing: 'timing_s/gen_aug' },
  teacher: { stream: 2, timing: 'timing_s/gen_ref' },
}

interface TrainerState {
  step: number
  wallTime: number
  tokens: number
}

/** A stable 32-bit mix of the seed and small integers, for per-step random streams. */
function streamSeed(seed: number, ...parts: number[]): number {
  let h = seed >>> 0
  for (const part of parts) h = Math.imul(h ^ (part + 0x9e3779b9), 0x85ebca6b) >>> 0
  return h
}

export class Trainer {
  private readonly mode
  private readonly klCoef: number
  private readonly teacher: TrainableModel | undefined
  private readonly reference: TrainableModel
  private readonly optimizer: AdamW
  private readonly watch: CollapseWatch
  /** One onnxruntime session for the log-prob passes, exported with weights as inputs so it stays warm. */
  private session: (OnnxLogitsModel & { release(): Promise<void> }) | undefined
  /** The KV-cached rollout session (rollout_engine "onnx"), opened at the first rollout. */
  private rolloutSession: OnnxKvSession | undefined
  /** The update's training graph on onnxruntime (cwb-gpt), opened at the first update. */
  private trainingGraph: OnnxTrainingGraph | undefined
  /**
   * Each model's weights as session inputs, computed once per state of its weights: the policy's serve its rollouts,
   * its old-log-prob pass and the validation after an update until the next update; Co-rewarding-II's teacher's until
   * it moves; the frozen KL reference's for the whole run.
   */
  private readonly feeds = new Map<TrainableModel, Record<string, WeightFeed>>()
  private readonly series: Record<string, [number, number | null][]> = {}
  private state: TrainerState = { step: 0, wallTime: 0, tokens: 0 }
  /** The step of the newest checkpoint written (or resumed from): what a numerical fault falls back to. */
  private lastCheckpoint: number | undefined

  private constructor(
    private readonly job: TrainerJob,
    private readonly policy: Policy,
    private readonly emit: (event: TrainerEvent) => void,
    private readonly backend: string,
    private readonly options: TrainerOptions,
  ) {
    const { config } = job
    this.mode = rewardMode(config.mode)
    this.klCoef = klCoefficient(config)
    // A mode with an EMA teacher (Co-rewarding-II) takes it as the KL reference; every other, the frozen initial policy.
    this.teacher = usesTeacher(this.mode) ? policy.model.clone() : undefined
    this.reference = this.teacher ?? policy.model.clone()
    this.optimizer = new AdamW(policy.model.weights, {
      beta1: config.adam_betas[0],
      beta2: config.adam_betas[1],
      epsilon: 1e-8,
      weightDecay: config.weight_decay,
      maxGradNorm: config.grad_clip,
    })
    this.watch = new CollapseWatch(collapseOptions(config, job.validation.length), job.history?.flags ?? [])
    for (const [key, points] of Object.entries(job.history?.series ?? {})) this.series[key] = [...points]
  }

  static async create(job: TrainerJob, emit: (event: TrainerEvent) => void, options: TrainerOptions = {}): Promise<Trainer> {
    const { backend } = await useBackend()
    const from = job.resumeFrom ?? job.startCheckpoint
    const require = job.resumeFrom ? [OPTIMIZER_FILE, ...(usesTeacher(rewardMode(job.config.mode)) ? [TEACHER_FILE] : [])] : []
    const policy = openPolicy(from, { lora: loraSettings(job.config), seed: job.config.seed, require })
    let trainer: Trainer | undefined
    try {
      trainer = new Trainer(job, policy, emit, backend, options)
      trainer.checkPrompts()
      if (job.resumeFrom) trainer.restore()
      return trainer
    } catch (error) {
      if (trainer) trainer.dispose()
      else policy.dispose()
      throw error
    }
  }

  private restore(): void {
    const { policy } = this
    const state = policy.trainerState as
      { step?: number; wall_time?: number; tokens?: number; initial_checkpoint?: string } | undefined
    if (!state || typeof state.step !== 'number')
      throw new Error(`${policy.dir}/trainer_state.json has no step: it is not a checkpoint of a run`)
    this.state = { step: state.step, wallTime: state.wall_time ?? 0, tokens: state.tokens ?? 0 }
    this.lastCheckpoint = state.step
    const optimizer = policy.extra(OPTIMIZER_FILE) ?? {}
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {}
    let step = 0
    for (const [name, tensor] of Object.entries(optimizer)) {
      if (name === 'step') step = Number(tensor.data[0])
      else tensors[name] = tensor
    }
    this.optimizer.restore({ step, tensors })
    const teacherTensors = policy.extra(TEACHER_FILE)
    if (this.teacher && teacherTensors) {
      const arrays = Object.fromEntries(Object.entries(teacherTensors).map(([name, t]) => [name, t.data]))
      policy.assign(this.teacher, arrays, `${policy.dir}/${TEACHER_FILE}`)
    }
    if (!this.teacher) {
      // The frozen reference is the run's starting model, not the resumed weights.
      const initial = state.initial_checkpoint ?? this.job.startCheckpoint
      policy.assign(this.reference, policy.initialArrays(initial), initial)
    }
  }

  private checkPrompts(): void {
    const { config } = this.job
    if (this.job.train.length === 0) throw new Error('the training split has no questions')
    const usesParaphrases = promptsParaphrases(config)
    const check = (text: string, what: string): void => {
      const length = this.prompt(text).length
      if (length > config.max_prompt_tokens) {
        throw new Error(
          `${what}: the prompt is ${length} tokens, over max_prompt_tokens ${config.max_prompt_tokens}; raise it or shorten the text`,
        )
      }
    }
    this.job.train.forEach((record, i) => {
      const name = `training ${record.name ?? `question ${i + 1}`}`
      check(record.question, name)
      if (usesParaphrases) record.paraphrases.forEach((text, p) => check(text, `${name}, paraphrase ${p + 1}`))
    })
    const bare = usesParaphrases ? this.job.train.filter((r) => r.paraphrases.length === 0) : []
    const without = bare.length
    if (without > 0 && config.question_view === 'paraphrase') {
      const named = bare.slice(0, 3).map((r) => r.name ?? `question ${this.job.train.indexOf(r) + 1}`)
      throw new Error(
        `question_view "paraphrase" trains on rephrased questions only, but ${without} of ${this.job.train.length} training ` +
          `questions have no accepted paraphrase (${named.join(', ')}${without > named.length ? ', ...' : ''}); ` +
          'accept a paraphrase for each, train on a split where every question has one, or use question_view "original"',
      )
    }
    if (without > 0) {
      this.emit({
        type: 'log',
        level: 'warning',
        message: `${without} training questions have no accepted paraphrase; their paraphrase view repeats the original`,
      })
    }
  }

  /** The model's system message (the demo's own for cwb-gpt), rendered by its chat template. */
  private get systemPrompt(): string {
    return systemPromptFor(this.policy.modelType)
  }

  private prompt(text: string): number[] {
    return promptFor(this.policy.tokenizer, this.systemPrompt, text)
  }

  private get transformer(): TrainableModel {
    return this.policy.model
  }

  get currentStep(): number {
    return this.state.step
  }

  /** The questions of step `step` (1-based): epochs of a seeded shuffle of the training split. */
  batchFor(step: number): TrainRecord[] {
    const { batch_size: size, seed } = this.job.config
    const n = this.job.train.length
    const batch: TrainRecord[] = []
    for (let i = (step - 1) * size; i < step * size; i++) {
      const epoch = Math.floor(i / n)
      const order = new Random(streamSeed(seed, 1, epoch)).shuffled(this.job.train.map((_, j) => j))
      batch.push(this.job.train[order[i % n]!]!)
    }
    return batch
  }

  private async rollouts(prompts: number[][], step: number, view: number, model: TrainableModel): Promise<Completion[]> {
    const { config } = this.job
    // onnxruntime decodes with the model's current weights as inputs; the same seed samples the same tokens either way
    // wherever the two engines' logits round alike (they agree to ~1e-6).
    const source =
      config.rollout_engine === 'onnx'
        ? (this.rolloutSession ??= await this.policy.rolloutSession()).sampler(this.feedsOf(model))
        : tfjsLogits(model as Transformer | Decoder)
    return generate(source, prompts, {
      temperature: config.temperature,
      topP: config.top_p,
      maxNewTokens: config.max_response_tokens,
      samples: config.rollouts,
      seed: streamSeed(config.seed, 2, step, view),
      eosTokenId: this.policy.tokenizer.eosTokenId,
      stopTokenIds: this.policy.stopTokenIds,
      padTokenId: this.policy.tokenizer.padTokenId,
    })
  }

  private async validate(): Promise<Record<string, number>> {
    const { config } = this.job
    const started = performance.now()
    const questions = this.job.validation.slice(0, config.validation.questions)
    // Greedy decoding on the rollouts' engine: onnxruntime with the current weights, or tfjs.
    const feeds = config.rollout_engine === 'onnx' ? this.feedsOf(this.transformer) : undefined
    const session = feeds && (this.rolloutSession ??= await this.policy.rolloutSession())
    const model = session ? () => session.sampler(feeds) : (this.transformer as Transformer | Decoder)
    const result = await evaluate(model, this.policy.tokenizer, questions, {
      systemPrompt: this.systemPrompt,
      stopTokenIds: this.policy.stopTokenIds,
      maxNewTokens: config.max_response_tokens,
      samples: 0,
      temperature: 0,
      seed: config.seed,
      extractor: config.extractor,
    })
    return {
      [`val-core/${this.job.validationSource}/reward/mean@1`]: result.pass1,
      'timing_s/testing': (performance.now() - started) / 1000,
    }
  }

  /** Runs from the current step to the end (or until `shouldStop`), emitting events; returns the last step done. */
  async run(
    shouldStop: () => boolean,
  ): Promise<{ status: 'finished' | 'stopped'; steps: number; final: Record<string, number> }> {
    const { config } = this.job
    const resumed = this.state.step > 0
    this.emit({
      type: 'started',
      step: this.state.step,
      totalSteps: config.steps,
      backend: this.backend,
      parameters: this.transformer.trainableVariables().reduce((sum, v) => sum + v.size, 0),
      resumed,
    })
    let final: Record<string, number> = {}
    if (!resumed) {
      this.emit({ type: 'phase', step: 0, phase: 'validation' })
      const metrics = await this.validate()
      this.record(0, metrics)
      this.emit({ type: 'step', step: 0, wallTime: 0, tokens: 0, metrics, samples: [] })
    }
    let stopped = false
    while (this.state.step < config.steps) {
      // Tensor work is synchronous: let the owner's messages (stop) in between steps.
      await new Promise((resolve) => setImmediate(resolve))
      if (shouldStop()) {
        stopped = true
        break
      }
      const step = this.state.step + 1
      resetPeakRss()
      const started = performance.now()
      const { metrics, samples, tokens } = await this.trainStep(step)
      // The step's time and memory: rollouts to the update, nothing of validation (timing_s/testing) or checkpoints.
      const seconds = (performance.now() - started) / 1000
      const rss = peakRssBytes()
      if (step % config.validation.every === 0 || step === config.steps) {
        this.emit({ type: 'phase', step, phase: 'validation' })
        Object.assign(metrics, await this.validate())
      }
      metrics['timing_s/step'] = seconds
      metrics['perf/total_num_tokens'] = tokens
      metrics['perf/throughput'] = tokens / seconds
      metrics['perf/max_memory_allocated_gb'] = rss / 2 ** 30
      // Memory per step and over a long run (the soak bench checks both stay flat): the process's peak RSS during the
      // step and tfjs's live tensors.
      metrics['perf/rss_mb'] = rss / 2 ** 20
      metrics['perf/tensors'] = tf.memory().numTensors
      // The run's wall time counts validation too.
      const elapsed = (performance.now() - started) / 1000
      this.state = { step, wallTime: this.state.wallTime + elapsed, tokens: this.state.tokens + tokens }
      for (const [key, value] of Object.entries(metrics)) if (!Number.isFinite(value)) this.numericalFault(step, key, value)
      this.record(step, metrics)
      this.emit({ type: 'step', step, wallTime: this.state.wallTime, tokens: this.state.tokens, metrics, samples })
      final = metrics
      const flags = this.watch.update(this.series)
      for (const flag of flags)
        this.emit({ type: 'alert', step: flag.step, rule: flag.rule, message: flag.message, detail: flag.detail })
      const stopForFlag = config.stop_on_collapse && flags.length > 0
      await new Promise((resolve) => setImmediate(resolve))
      if (step % config.checkpoint_every === 0 || step === config.steps || shouldStop() || stopForFlag) this.checkpoint(step)
      if (stopForFlag) {
        stopped = true
        break
      }
    }
    if (stopped && this.state.step > 0 && this.state.step % config.checkpoint_every !== 0) this.checkpoint(this.state.step)
    return { status: stopped ? 'stopped' : 'finished', steps: this.state.step, final }
  }

  private numericalFault(step: number, key: string, value: number): never {
    throw new NumericalFault(step, `${key} is ${value}`, this.lastCheckpoint)
  }

  /** The first policy weight holding a NaN or an infinity, if any (one reduction per weight, one read back). */
  private nonFiniteWeight(model: TrainableModel): string | undefined {
    const names = [...model.weights.keys()]
    const sums = tf.tidy(() => tf.stack([...model.weights.values()].map((w) => tf.sum(w))).dataSync())
    const index = sums.findIndex((value) => !Number.isFinite(value))
    return index < 0 ? undefined : names[index]
  }

  private checkWeights(step: number, when: string): void {
    const bad = this.nonFiniteWeight(this.transformer)
    if (bad !== undefined) throw new NumericalFault(step, `weight ${bad} is not finite ${when}`, this.lastCheckpoint)
  }

  private record(step: number, metrics: Record<string, number>): void {
    for (const [key, value] of Object.entries(metrics))
      (this.series[key] ??= []).push([step, Number.isFinite(value) ? value : null])
  }

  /** One GRPO step, top to bottom: sample -> log-prob passes -> score -> advantages -> update -> metrics. */
  private async trainStep(step: number): Promise<{ metrics: Record<string, number>; samples: SampleEvent[]; tokens: number }> {
    const metrics: Record<string, number> = {}
    const timed = timer(metrics)
    const batch = this.batchFor(step)

    this.emit({ type: 'phase', step, phase: 'rollout' })
    const views = await this.sample(batch, step, timed)

    this.emit({ type: 'phase', step, phase: 'scoring' })
    const trained = views.filter(isTrained)
    // Before scoring: the policy's pass also gives the token statistics a mode may score (needsTokenStats).
    const passes = await this.logProbPasses(trained, timed)
    const groups = this.questionGroups(batch, views, trained, passes.policy)
    const options = { voting: { normalised: this.job.config.voting.normalised }, crossView: crossView(this.job.config) }
    const scores = await timed('timing_s/reward', () => scoreStep(this.mode, groups, options))
    Object.assign(metrics, auditStep(this.mode, groups, scores, options))

    this.emit({ type: 'phase', step, phase: 'update' })
    const rows = trainingRows(trained, scores, passes, this.job.config.rollouts)
    this.options.faults?.({ at: 'update', step, rows })
    Object.assign(metrics, await timed('timing_s/update_actor', () => this.update(rows, step)))
    this.feeds.delete(this.transformer)
    this.options.faults?.({ at: 'updated', step, policy: this.transformer })
    this.checkWeights(step, 'after the update')

    Object.assign(metrics, stepMetrics(views, scores, rows))
    return { metrics, samples: this.samples(batch, views, scores, rows), tokens: tokensOf(views) }
  }

  /** The step's rollouts: the policy on the questions, then each view the mode declares, in its order. */
  private async sample(batch: TrainRecord[], step: number, timed: Timer): Promise<ViewRollouts[]> {
    const { tokenizer } = this.policy
    const views: ViewRollouts[] = []
    for (const view of ['original', ...this.mode.extraViews] as const) {
      if (view === 'teacher') this.moveTeacher(step)
      const model = view === 'teacher' ? this.teacher! : this.transformer
      const prompts = this.promptsOf(view, batch, step)
      const completions = await timed(VIEWS[view].timing, () => this.rollouts(prompts, step, VIEWS[view].stream, model))
      views.push({
        view,
        prompts,
        completions,
        texts: completions.map((c) => tokenizer.decode(c.tokens)),
        responses: completions.map((c) => (c.finished ? [...c.tokens, c.stopToken ?? tokenizer.eosTokenId] : c.tokens)),
      })
    }
    return views
  }

  /**
   * A view's prompts: the questions, or their paraphrases (Co-rewarding-I's second view; the hybrid teacher's; a
   * single-view mode's only view under question_view "paraphrase", which draws the paraphrase Co-rewarding-I would).
   */
  private promptsOf(view: View, batch: TrainRecord[], step: number): number[][] {
    const { config } = this.job
    const onParaphrases =
      view === 'paraphrase' ||
      (view === 'teacher' && emaConfig(config).teacher_view === 'paraphrase') ||
      (view === 'original' && config.question_view === 'paraphrase')
    if (!onParaphrases) return batch.map((record) => this.prompt(record.question))
    const random = new Random(streamSeed(config.seed, 3, step))
    return batch.map((record) => this.prompt(record.paraphrases.length ? random.pick(record.paraphrases) : record.question))
  }

  /** The EMA teacher moves towards the policy after the policy's rollouts of the step, before its own (section 8). */
  private moveTeacher(step: number): void {
    const { config } = this.job
    const ema = emaConfig(config)
    if (ema.enabled && (step - 1) % ema.update_interval === 0) {
      updateTeacher(this.teacher!, this.transformer, emaRate(step, config.steps, ema.alpha_start, ema.alpha_end))
      this.feeds.delete(this.teacher!)
    }
  }

  /** Each trained view's log-probs under the policy that sampled it and under the KL reference, with no gradient. */
  private async logProbPasses(trained: TrainedRollouts[], timed: Timer): Promise<LogProbPasses> {
    const rows = trained.map(({ prompts, completions, responses }) =>
      completions.map((c, i) => ({ prompt: prompts[c.prompt]!, response: responses[i]! })),
    )
    return {
      policy: await timed('timing_s/old_log_prob', () => this.tokenStats('policy', rows, this.mode.needsTokenStats)),
      reference: await timed('timing_s/ref', () => this.tokenStats('reference', rows, false)),
    }
  }

  /** Each question's rollouts, view by view, with their answers (and token statistics where the mode scores them). */
  private questionGroups(
    batch: TrainRecord[],
    views: ViewRollouts[],
    trained: TrainedRollouts[],
    policy: ResponseStats[],
  ): QuestionGroup[] {
    const G = this.job.config.rollouts
    return batch.map((record, q) => {
      const group: QuestionGroup = { views: { original: [] }, groundTruth: record.answer ?? undefined }
      for (const v of views) {
        const stats = this.mode.needsTokenStats && isTrained(v) ? policy[trained.indexOf(v)] : undefined
        group.views[v.view] = v.texts.slice(q * G, (q + 1) * G).map((text, i) => {
          const rollout: Rollout = { text, answer: extractAnswer(text, this.job.config.extractor) }
          if (stats) {
            const index = q * G + i
            rollout.tokens = {
              selfCertainty: stats.selfCertainty[index]!,
              entropy: stats.entropy[index]!,
              mask: new Float32Array(stats.entropy[index]!.length).fill(1),
            }
          }
          return rollout
        })
      }
      return group
    })
  }

  /** Log-probs (and token statistics) of each view's rows under the policy or the KL reference, with no gradient. */
  private async tokenStats(
    which: 'policy' | 'reference',
    views: { prompt: number[]; response: number[] }[][],
    withStats: boolean,
  ): Promise<ResponseStats[]> {
    const { config } = this.job
    const pad = this.policy.tokenizer.padTokenId
    const model = which === 'policy' ? this.transformer : this.reference
    if (config.logprob_engine === 'tfjs')
      return views.map((rows) => responseTokenStats(model, rows, pad, config.micro_batch_size, withStats, config.temperature))
    // The weights reach the session as inputs: the policy's and the teacher's as they move, the frozen reference's once.
    const session = (this.session ??= await this.policy.onnxSession())
    const feeds = this.feedsOf(model)
    const stats: ResponseStats[] = []
    for (const rows of views)
      stats.push(await onnxResponseStats(session, rows, pad, config.micro_batch_size, withStats, feeds, config.temperature))
    return stats
  }

  /** The policy update: PPO-clip + KL over the rows, in mini-batches of micro-batches (method doc section 6). */
  private async update(rows: Row[], step: number): Promise<Record<string, number>> {
    const { config } = this.job
    const lr = learningRateAt(step, config.learning_rate, Math.round(config.steps * config.warmup_fraction), config.steps)
    const order = new Random(streamSeed(config.seed, 4, step)).shuffled(rows.map((_, i) => i))
    const perMini = Math.ceil(rows.length / config.mini_batches)
    const totals = { pg: new Map<string, number>(), kl: new Map<string, number>(), clip: 0, entropy: 0, gradNorm: 0 }
    const viewsPresent = new Set(rows.map((r) => r.view))
    for (let m = 0; m < config.mini_batches; m++) {
      const mini = order.slice(m * perMini, (m + 1) * perMini).map((i) => rows[i]!)
      if (mini.length === 0) continue
      // The micro-batches of each view, in a fixed order (gradients add up in this order).
      const micros: { view: string; rows: Row[] }[] = []
      for (const view of viewsPresent) {
        const ofView = mini.filter((r) => r.view === view)
        const tokens = ofView.reduce((sum, r) => sum + r.response.length, 0)
        for (const row of ofView) row.weight = tokens === 0 ? 0 : 1 / tokens
        for (let start = 0; start < ofView.length; start += config.micro_batch_size)
          micros.push({ view, rows: ofView.slice(start, start + config.micro_batch_size) })
      }
      const parts: { view: string; pg: number; kl: number; clip: number; entropy: number }[] = []
      const { loss, grads } = await this.gradients(micros, step, parts)
      // Never apply a broken update: the weights (and the next checkpoint) stay as they were.
      const norm = Number.isFinite(loss) ? AdamW.gradNorm(grads) : NaN
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
        tf.dispose(Object.values(grads))
        this.numericalFault(step, Number.isFinite(loss) ? 'actor/grad_norm' : 'the loss', Number.isFinite(loss) ? norm : loss)
      }
      totals.gradNorm = this.optimizer.apply(grads, lr, norm)
      tf.dispose(Object.values(grads))
      for (const part of parts) {
        totals.pg.set(part.view, (totals.pg.get(part.view) ?? 0) + part.pg / config.mini_batches)
        totals.kl.set(part.view, (totals.kl.get(part.view) ?? 0) + part.kl / config.mini_batches)
        totals.clip += part.clip / (config.mini_batches * viewsPresent.size)
        totals.entropy += part.entropy / (config.mini_batches * viewsPresent.size)
      }
    }
    const sumOf = (map: Map<string, number>): number => [...map.values()].reduce((a, b) => a + b, 0)
    const metrics: Record<string, number> = {
      'actor/pg_loss': sumOf(totals.pg),
      'actor/kl_loss': sumOf(totals.kl),
      'actor/entropy': totals.entropy,
      'actor/grad_norm': totals.gradNorm,
      'actor/lr': lr,
      'actor/pg_clipfrac': totals.clip,
    }
    if (viewsPresent.has('paraphrase')) {
      metrics['actor/pg_loss_ori'] = totals.pg.get('original') ?? 0
      metrics['actor/pg_loss_aug'] = totals.pg.get('paraphrase') ?? 0
      metrics['actor/kl_loss_ori'] = totals.kl.get('original') ?? 0
      metrics['actor/kl_loss_aug'] = totals.kl.get('paraphrase') ?? 0
    }
    return metrics
  }

  /** `model`'s current weights as session inputs (see `feeds`). */
  private feedsOf(model: TrainableModel): Record<string, WeightFeed> {
    let feeds = this.feeds.get(model)
    if (!feeds) this.feeds.set(model, (feeds = this.policy.onnxFeeds(model)))
    return feeds
  }

  private lossSettings(): LossSettings {
    const { config } = this.job
    return {
      clipLow: config.clip_ratio_low,
      clipHigh: config.clip_ratio_high,
      dualClip: config.dual_clip,
      klCoef: this.klCoef,
      temperature: config.temperature,
    }
  }

  /**
   * The loss and its gradients summed over `micros`, each micro-batch's parts pushed to `parts`: on onnxruntime's
   * training graph where the policy has one (and the run asks for it), else by tfjs autodiff.
   */
  private async gradients(
    micros: { view: string; rows: Row[] }[],
    step: number,
    parts: { view: string; pg: number; kl: number; clip: number; entropy: number }[],
  ): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
    const { config } = this.job
    const pad = this.policy.tokenizer.padTokenId
    if (config.update_engine === 'onnx' && this.policy.trainingGraph) {
      const graph = (this.trainingGraph ??= await this.policy.trainingGraph('grpo'))
      const weights = this.transformer.toArrays()
      let loss = 0
      const sums: Record<string, Float32Array> = {}
      for (const micro of micros) {
        const pass = await graph.run(weights, trainingBatch(micro.rows, pad), this.lossSettings())
        loss += pass.loss
        parts.push({ view: micro.view, pg: pass.pg, kl: pass.kl, clip: pass.clip, entropy: pass.entropy })
        for (const [name, grad] of Object.entries(pass.grads)) {
          const sum = sums[name]
          if (!sum) sums[name] = grad
          else for (let i = 0; i < sum.length; i++) sum[i]! += grad[i]!
        }
      }
      const grads: Record<string, tf.Tensor> = {}
      for (const [name, variable] of this.policy.model.weights) grads[name] = tf.tensor(sums[name]!, variable.shape)
      return { loss, grads }
    }
    const chunks = micros.map((micro, index) => () => {
      // LoRA's dropout masks are a function of (seed, step, chunk), so a resumed run draws the same ones.
      const dropoutSeed = config.lora?.dropout ? streamSeed(config.seed, 5, step, index) : undefined
      const part = microBatchLoss(this.transformer, micro.rows, this.lossSettings(), pad, dropoutSeed)
      parts.push({ view: micro.view, pg: part.pgLoss, kl: part.klLoss, clip: part.clipFraction, entropy: part.entropy })
      return part.loss
    })
    return accumulatedGradients(chunks)
  }

  /** The rollouts stored with the step: every view of its first sample_groups questions. */
  private samples(batch: TrainRecord[], views: ViewRollouts[], scores: GroupScore[], rows: Row[]): SampleEvent[] {
    const G = this.job.config.rollouts
    const groups = Math.min(this.job.config.sample_groups, batch.length)
    const out: SampleEvent[] = []
    for (const v of views) {
      const firstRow = rows.findIndex((r) => r.view === v.view)
      for (let q = 0; q < groups; q++) {
        const score = isTrained(v) ? scores[q]![v.view] : undefined
        const promptText = this.policy.tokenizer.decode(v.prompts[q]!)
        for (let i = 0; i < G; i++) {
          const text = v.texts[q * G + i]!
          out.push({
            recordId: batch[q]!.id,
            groupIndex: q,
            view: v.view,
            prompt: promptText,
            text,
            answer: extractAnswer(text, this.job.config.extractor) ?? '',
            pseudoLabel: score?.vote?.label ?? null,
            reward: score ? score.rewards[i]! : null,
            advantage: firstRow >= 0 ? rows[firstRow + q * G + i]!.advantage : null,
          })
        }
      }
    }
    return out
  }

  /** Saves policy, optimizer, teacher and trainer state as <runDir>/checkpoints/step-N (atomically). */
  checkpoint(step: number): string {
    this.emit({ type: 'phase', step, phase: 'checkpoint' })
    const path = join(this.job.runDir, 'checkpoints', `step-${step}`)
    // A checkpoint with NaN weights would poison every resume: refuse it, keeping the last good one.
    this.checkWeights(step, 'at the checkpoint')
    const optimizerState = this.optimizer.state()
    for (const [name, tensor] of Object.entries(optimizerState.tensors)) {
      if (!tensor.data.every(Number.isFinite))
        throw new NumericalFault(step, `optimizer state ${name} is not finite at the checkpoint`, this.lastCheckpoint)
    }
    const optimizerTensors = asTensors(
      Object.fromEntries(Object.entries(optimizerState.tensors).map(([name, t]) => [name, t.data])),
      Object.fromEntries(Object.entries(optimizerState.tensors).map(([name, t]) => [name, t.shape])),
    )
    optimizerTensors.step = { dtype: 'F32', shape: [1], data: Float32Array.of(optimizerState.step) }
    this.policy.save(path, {
      model: this.transformer,
      teacher: this.teacher,
      optimizer: optimizerTensors,
      trainerState: {
        kind: 'grpo',
        step,
        wall_time: this.state.wallTime,
        tokens: this.state.tokens,
        seed: this.job.config.seed,
        initial_checkpoint: this.job.startCheckpoint,
        config: this.job.config as unknown as Record<string, unknown>,
      },
    })
    this.lastCheckpoint = step
    this.emit({ type: 'checkpoint', step, path })
    return path
  }

  dispose(): void {
    void this.session?.release()
    void this.rolloutSession?.release()
    void this.trainingGraph?.release()
    this.optimizer.dispose()
    this.teacher?.dispose()
    if (this.reference !== this.teacher) this.reference.dispose()
    this.policy.dispose()
  }
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length
}

function summary(prefix: string, values: number[]): Record<string, number> {
  return {
    [`${prefix}/mean`]: mean(values),
    [`${prefix}/max`]: values.length ? Math.max(...values) : 0,
    [`${prefix}/min`]: values.length ? Math.min(...values) : 0,
  }
}

type Timer = <T>(key: string, work: () => T | Promise<T>) => Promise<T>

/** Runs work and records its seconds under `key` (timing_s/...) in `metrics`. */
function timer(metrics: Record<string, number>): Timer {
  return async (key, work) => {
    const start = performance.now()
    const result = await work()
    metrics[key] = (performance.now() - start) / 1000
    return result
  }
}

const isTrained = (view: ViewRollouts): view is TrainedRollouts => view.view !== 'teacher'

/** Each trained view's rollouts with their GRPO advantages (per view and question) and the passes' log-probs. */
function trainingRows(trained: TrainedRollouts[], scores: GroupScore[], passes: LogProbPasses, G: number): Row[] {
  const rows: Row[] = []
  trained.forEach((v, t) => {
    scores.forEach((score, q) => {
      const advantages = groupAdvantages(score[v.view]!.rewards)
      for (let i = 0; i < G; i++) {
        const index = q * G + i
        rows.push({
          view: v.view,
          prompt: v.prompts[q]!,
          response: v.responses[index]!,
          advantage: advantages[i]!,
          oldLogProbs: passes.policy[t]!.logProbs[index]!,
          refLogProbs: passes.reference[t]!.logProbs[index]!,
          weight: 0,
        })
      }
    })
  })
  return rows
}

/** Scores, advantages and response lengths of the step (the original view's, as the reference's critic/score). */
function stepMetrics(views: ViewRollouts[], scores: GroupScore[], rows: Row[]): Record<string, number> {
  const original = views[0]!
  const rewards = scores.flatMap((s) => s.original.rewards)
  const tokenAdvantages = rows.flatMap((row) => row.response.map(() => row.advantage))
  const lengths = original.responses.map((r) => r.length)
  return {
    ...summary('critic/score', rewards),
    ...(scores[0]?.paraphrase ? { 'critic/score_aug/mean': mean(scores.flatMap((s) => s.paraphrase!.rewards)) } : {}),
    ...summary('critic/advantages', tokenAdvantages),
    ...summary('response_length', lengths),
    'response_length/clip_ratio': mean(original.completions.map((c) => (c.finished ? 0 : 1))),
  }
}

/** Prompt and response tokens of every rollout of the step, the teacher's included. */
function tokensOf(views: ViewRollouts[]): number {
  return views.reduce(
    (sum, v) => sum + v.completions.reduce((s, c, i) => s + v.prompts[c.prompt]!.length + v.responses[i]!.length, 0),
    0,
  )
}
