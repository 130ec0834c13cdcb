// Names a checkpoint the way users type it: a folder path, or RUN:STEP (a run's id or name, then a step or `latest`).
// The store's answers are passed in, so this stays free of SQLite.
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'

const RUN_STEP = /^(.+):(\d+|latest)$/
const STEPS_SHOWN = 20
const HOW_TO_NAME = 'Name a checkpoint by its folder or as RUN:STEP (a run id or name, then a step or "latest"), e.g. my-run:200.'

function stepList(steps: number[]): string {
  const sorted = [...steps].sort((a, b) => a - b)
  const shown = sorted.slice(0, STEPS_SHOWN).join(', ')
  return sorted.length > STEPS_SHOWN ? `${shown} and ${sorted.length - STEPS_SHOWN} more up to ${sorted.at(-1)}` : shown
}

/**
 * The folder a checkpoint spec names. An existing folder wins, even if its name contains ':'; otherwise RUN:STEP
 * is looked up. `availableSteps` returns the run's checkpoint steps, or undefined when there is no such run.
 */
export function resolveCheckpoint(
  spec: string,
  lookup: (run: string, step: number) => string | undefined,
  availableSteps: (run: string) => number[] | undefined,
): string {
  if (existsSync(spec)) {
    if (statSync(spec).isDirectory()) return resolve(spec)
    throw new Error(`${spec} is a file, not a checkpoint folder. ${HOW_TO_NAME}`)
  }
  const match = RUN_STEP.exec(spec)
  if (!match) throw new Error(`No checkpoint folder ${spec}. ${HOW_TO_NAME}`)
  const [, run = '', stepText = ''] = match
  const steps = availableSteps(run)
  if (steps === undefined) {
    throw new Error(`No run "${run}" (from ${spec}), and no folder of that name. \`cwb runs\` lists the runs; ${HOW_TO_NAME}`)
  }
  if (steps.length === 0) throw new Error(`Run "${run}" has no checkpoints yet, so ${spec} names nothing.`)
  const step = stepText === 'latest' ? Math.max(...steps) : Number(stepText)
  const path = lookup(run, step)
  if (path === undefined) {
    throw new Error(
      `Run "${run}" has no checkpoint at step ${stepText}; it has checkpoints at steps ${stepList(steps)}. Use one of those, or ${run}:latest.`,
    )
  }
  if (!existsSync(path)) {
    throw new Error(
      `Checkpoint ${run}:${step} is recorded at ${path}, but that folder is gone (moved or deleted). Pick another step.`,
    )
  }
  return path
}
