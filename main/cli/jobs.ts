// What the CLI's long jobs (import, paraphrase, judge) share: Ctrl-C as a stop request, the dataset the command
// names, and an endpoint's API key read from the environment.
import type { Db } from '../store/database'
import { findDataset } from '../store/datasets'
import type { StoredDataset } from '../store/datasets'
import { UsageError } from './errors'

/**
 * Runs `work` with a signal that Ctrl-C aborts: the job stops after what it is doing and keeps what it stored.
 * The handler is removed when the work ends, however it ends.
 */
export async function untilInterrupted<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const onSignal = (): void => controller.abort()
  process.once('SIGINT', onSignal)
  try {
    return await work(controller.signal)
  } finally {
    process.off('SIGINT', onSignal)
  }
}

/** The dataset a command names by id or name, or an error that says how to list them. */
export function datasetNamed(db: Db, spec: string): StoredDataset {
  const dataset = findDataset(db, spec)
  if (!dataset) throw new Error(`No dataset "${spec}" in this workspace; \`cwb datasets\` lists them.`)
  return dataset
}

/** `--api-key-env VAR`'s key (undefined without the option); a variable that is not set is a usage mistake. */
export function apiKeyFromEnv(variable: string | undefined): string | undefined {
  if (variable === undefined) return undefined
  const key = process.env[variable]
  if (!key) throw new UsageError(`--api-key-env ${variable}: that environment variable is not set`)
  return key
}
