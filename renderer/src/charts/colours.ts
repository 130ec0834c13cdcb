// One colour per run (or per group) on every panel, the picker and the tables, so a line is found by its colour.
// A run's colour follows from its id alone, so it is the same in the runs list, on its page, in Compare and in
// Checkpoints, whichever other runs are shown beside it.
import { groupMode, modeColour } from './modes'

/** Distinct on white and to most colour-blind readers in the first eight. */
export const PALETTE = [
  '#3b5bdb',
  '#e8590c',
  '#2f9e44',
  '#c2255c',
  '#7048e8',
  '#0c8599',
  '#f08c00',
  '#5c940d',
  '#862e9c',
  '#1971c2',
  '#e03131',
  '#495057',
  '#a61e4d',
  '#087f5b',
  '#364fc7',
  '#d9480f',
] as const

export const paletteColour = (index: number): string => PALETTE[index % PALETTE.length]!

/** Run `id`'s colour everywhere: runs 1 to 16 take the palette in order, then it repeats. */
export const runColour = (id: number): string => paletteColour(Math.max(0, id - 1))

/** The colours of `runs`, by id (adding or removing a run never recolours the others). */
export const runColours = (runs: readonly number[]): Map<number, string> => new Map(runs.map((run) => [run, runColour(run)]))

/** A group's value without the member count the host appends (`mode=entropy (3 runs)` -> `mode=entropy`). */
export const groupValue = (label: string): string => label.replace(/ \(\d+ runs?\)$/, '')

/** Colours by group value: a mode group takes its mode's colour, other groups the palette in value order. */
export function groupColours(labels: Iterable<string>): Map<string, string> {
  const values = [...new Set([...labels].map(groupValue))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
  return new Map(
    values.map((value, i) => {
      const mode = groupMode(value)
      return [value, (mode && modeColour(mode)) || paletteColour(i)]
    }),
  )
}
