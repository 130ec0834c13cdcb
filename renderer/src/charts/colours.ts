// One colour per run (or per group) on every panel, the picker and the tables, so a line is found by its colour.
import { modeColour } from './modes'

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

/** Colours for runs in the order they were picked (adding a run never recolours the others). */
export function runColours(runs: readonly number[]): Map<number, string> {
  return new Map(runs.map((run, i) => [run, paletteColour(i)]))
}

/** A group's value without the member count the host appends (`mode=entropy (3 runs)` -> `mode=entropy`). */
export const groupValue = (label: string): string => label.replace(/ \(\d+ runs?\)$/, '')

/** Colours by group value: a mode group takes its mode's colour, other groups the palette in value order. */
export function groupColours(labels: Iterable<string>): Map<string, string> {
  const values = [...new Set([...labels].map(groupValue))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
  return new Map(
    values.map((value, i) => {
      const mode = /^mode=(\w+)$/.exec(value)?.[1]
      return [value, (mode && modeColour(mode)) || paletteColour(i)]
    }),
  )
}
