// Reward modes as the user reads them: labels, descriptions and chart colours come from the host's registry
// (app.info), so a mode added there shows here with no change to the renderer.
import { ref } from 'vue'
import type { RewardModeInfo } from '../../../preload/contract'

const known = ref<readonly RewardModeInfo[]>([])

/** Takes the host's modes (App.vue passes app.info's); every label and colour below follows. */
export function setRewardModes(modes: readonly RewardModeInfo[]): void {
  known.value = modes
}

/** The modes the host knows, in its order (empty until the host has answered). */
export const rewardModes = (): readonly RewardModeInfo[] => known.value

const infoOf = (mode: string): RewardModeInfo | undefined => known.value.find((info) => info.id === mode)

export const modeLabel = (mode: string): string => infoOf(mode)?.label ?? mode

/** The mode a group of runs stands for (`mode=entropy` -> `entropy`), when the runs are grouped by mode. */
export const groupMode = (value: string): string | undefined => /^mode=(\w+)$/.exec(value)?.[1]

/** A group's value as the user reads it: a mode group by its mode's name (`mode=entropy` -> `Entropy`). */
export const groupName = (value: string): string => {
  const mode = groupMode(value)
  return mode ? modeLabel(mode) : value
}

export const modeDescription = (mode: string): string | undefined => infoOf(mode)?.description

/** The mode's colour on every chart, picker and table; undefined for a mode the host does not know. */
export const modeColour = (mode: string): string | undefined => infoOf(mode)?.colour

/** Whether the mode's runs roll out `view` too: paraphrase (Co-rewarding-I), teacher (Co-rewarding-II's EMA teacher). */
export const modeHasView = (mode: string, view: RewardModeInfo['extraViews'][number]): boolean =>
  infoOf(mode)?.extraViews.includes(view) ?? false

/** Whether the mode's reward is label-free (every mode but the ground-truth reward). */
export const isLabelFree = (mode: string): boolean => !infoOf(mode)?.usesGroundTruth
