// The reward-mode registry: adding a mode is its module, one line in the list below, and what its fields declare.
// Everything else (run configs and their schema, the CLI, the launch form, the store, chart colours) asks the
// registry, so nothing outside a mode's module names it.
import { coRewardingIMode } from './co_rewarding_i'
import { coRewardingIIMode } from './co_rewarding_ii'
import { entropyMode } from './entropy'
import { groundTruthMode } from './ground_truth'
import { majorityVotingMode } from './majority_voting'
import { selfCertaintyMode } from './self_certainty'
import type { GroupScore, QuestionGroup, RewardMode, RewardModeInfo, ScoreOptions } from './shared/types'

/** In the order the CLI and the UI list them. */
const modes = new Map<string, RewardMode>(
  [groundTruthMode, majorityVotingMode, selfCertaintyMode, entropyMode, coRewardingIMode, coRewardingIIMode].map((mode) => [
    mode.id,
    mode,
  ]),
)

/** Tests only: adds a mode as a module would, and returns how to remove it again. */
export function registerRewardMode(mode: RewardMode): () => void {
  if (modes.has(mode.id)) throw new Error(`a reward mode ${mode.id} is already registered`)
  modes.set(mode.id, mode)
  return () => modes.delete(mode.id)
}

export const rewardModeIds = (): string[] => [...modes.keys()]

export const isRewardModeId = (id: string): boolean => modes.has(id)

/** The mode called `id`; an unknown name is an error that lists the known ones. */
export function rewardMode(id: string): RewardMode {
  const mode = modes.get(id)
  if (!mode) throw new Error(`"${id}" is not a reward mode; use one of ${rewardModeIds().join(', ')}`)
  return mode
}

/** Every mode as the UI knows it (app.info). */
export const rewardModeInfos = (): RewardModeInfo[] =>
  [...modes.values()].map(({ id, label, description, colour, extraViews, usesGroundTruth }) => ({
    id,
    label,
    description,
    colour,
    extraViews: [...extraViews],
    usesGroundTruth,
  }))

/** Whether the mode's question groups bring the EMA teacher's rollouts, so the trainer keeps a teacher. */
export const usesTeacher = (mode: RewardMode): boolean => mode.extraViews.includes('teacher')

/** Whether a mode rolls out each question's paraphrase beside it (Co-rewarding-I). */
export const hasParaphraseView = (mode: RewardMode): boolean => mode.extraViews.includes('paraphrase')

/** Scores a step's groups with a mode, after checking each brings the views the mode needs. */
export function scoreStep(mode: RewardMode, groups: readonly QuestionGroup[], options: ScoreOptions = {}): GroupScore[] {
  groups.forEach((group, index) => {
    for (const view of mode.extraViews)
      if (!group.views[view])
        throw new Error(`${mode.id} needs the ${view} rollouts of every question; question ${index + 1} of the step has none`)
  })
  // Only modes that declare it see ground truths, so labels cannot leak into a self-reward.
  const visible = mode.usesGroundTruth ? groups : groups.map(({ views }) => ({ views }))
  return mode.score(visible, options)
}
