// The one interface every reward mode implements (method doc section 5): a mode scores the question groups of
// a step, view by view, and says which pseudo label scored each view so the audit can check it.
import type { SAMPLE_VIEWS } from '../../../../preload/contract'
import type { Vote, VoteOptions } from '../../answers/vote'

/** original: the policy on the question; paraphrase: the policy on its rewrite (Co-I); teacher: the EMA teacher (Co-II). */
export type View = (typeof SAMPLE_VIEWS)[number]

/** Per-token statistics of one response (main/engine/model/token-stats.ts), over its padded length. */
export interface TokenStats {
  /** logsumexp(logits) - mean(logits) at each position. */
  selfCertainty: ArrayLike<number>
  /** -sum p log p at each position. */
  entropy: ArrayLike<number>
  /** 1 at the response's own tokens, 0 at padding. */
  mask: ArrayLike<number>
}

export interface Rollout {
  text: string
  /** The extracted final answer; null or "" when the response gives none. */
  answer: string | null
  /** Needed by self_certainty and entropy only. */
  tokens?: TokenStats
}

export interface QuestionGroup {
  views: { original: Rollout[]; paraphrase?: Rollout[]; teacher?: Rollout[] }
  /** Read only by ground_truth and the audit: the registry hides it from every other mode. */
  groundTruth?: string
}

export interface ScoredView {
  /** One reward per rollout of the view, in rollout order. */
  rewards: number[]
  /** The vote whose label scored this view (modes that reward agreement with a pseudo label). */
  vote?: Vote
  /**
   * Set when the vote was a tie (two or more answers shared its winning count): those answers in the order first
   * seen, the label, which the tie-break took for coming first, leading.
   */
  tie?: string[]
}

/** The views that train, each with its own GRPO group: original always, paraphrase too for co_rewarding_i. */
export interface GroupScore {
  original: ScoredView
  paraphrase?: ScoredView
}

export interface ScoreOptions {
  voting?: VoteOptions
  /**
   * Two-view modes (Co-rewarding-I): score each view against the other view's vote (true, the default and the
   * reference) or against its own (false, the ablation without cross-view supervision). Single-view modes ignore it.
   */
  crossView?: boolean
}

/** What the UI knows of a mode (the host serves it; the renderer cannot import the engine). */
export interface RewardModeInfo {
  /** The mode's name in configs, the CLI, metrics and the store (main/engine/rewards/index.ts lists the modes). */
  id: string
  /** As the user reads it: "Co-rewarding-I". */
  label: string
  /** One sentence on how it rewards a rollout. */
  description: string
  /** Its colour on every chart, picker and table (a CSS colour). */
  colour: string
  /** The views each question must bring besides original; `teacher` makes the trainer keep an EMA teacher. */
  extraViews: Exclude<View, 'original'>[]
  /** Reads the ground truth; every other mode gets groups without it (label-free). */
  usesGroundTruth: boolean
}

export interface RewardMode extends RewardModeInfo {
  /** The KL loss coefficient a run of this mode starts from (`kl.coef` overrides it). */
  klCoef: number
  /** Rewards are 0 or 1, so they can be checked against the GT reward (coreward/reward_acc). */
  binary: boolean
  /** Needs per-token statistics (so it cannot score saved text alone). */
  needsTokenStats: boolean
  score(groups: readonly QuestionGroup[], options: ScoreOptions): GroupScore[]
}
