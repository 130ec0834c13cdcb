import { Command, Option } from 'commander'
import { FINDING_CHECKS, PARAPHRASE_STATUSES, SEVERITIES } from '../../../preload/constants'
import type { RecordFilter } from '../../../preload/contract'
import { UsageError } from '../errors'
import { apiKeyFromEnv, datasetNamed, untilInterrupted } from '../jobs'
import { printJson, progress, progressInTenths } from '../output'
import { integerOption } from '../parse'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface JudgeCliOptions extends WorkspaceOptions {
  endpoint: string
  model: string
  apiKeyEnv?: string
  concurrency: number
  retries: number
  limit?: number
  again?: boolean
  split?: string
  status?: RecordFilter['status']
  check?: RecordFilter['failedCheck']
  severity?: RecordFilter['severity']
  search?: string
  json?: boolean
}

/** Failures shown on stderr without --json (all of them are in the JSON). */
const FAILURES_SHOWN = 10

function filterOf(options: JudgeCliOptions): RecordFilter {
  return {
    ...(options.split !== undefined ? { split: options.split } : {}),
    ...(options.status !== undefined ? { status: options.status } : {}),
    ...(options.check !== undefined ? { failedCheck: options.check } : {}),
    ...(options.severity !== undefined ? { severity: options.severity } : {}),
    ...(options.search !== undefined ? { search: options.search } : {}),
  }
}

export function judgeCommand(): Command {
  return withWorkspace(new Command('judge'))
    .description(
      "ask an OpenAI-compatible endpoint whether each paraphrase has its original's final answer (same / different / unsure, with one line of reason) and store the verdict as a finding of check judge: different is an error, unsure a warning, same a note",
    )
    .argument('<dataset>', 'dataset id or name (`cwb datasets` lists them)')
    .requiredOption('--endpoint <url>', 'an OpenAI-compatible API base URL, e.g. http://localhost:8000/v1')
    .requiredOption('--model <name>', 'the model the endpoint serves (its name is stored with each verdict)')
    .option('--api-key-env <var>', 'read the API key from this environment variable (it is never stored)')
    .addOption(new Option('--concurrency <n>', 'requests in flight').default(4).argParser(integerOption('--concurrency', 1)))
    .addOption(
      new Option('--retries <n>', 'retries after 429, 5xx or network errors').default(4).argParser(integerOption('--retries', 0)),
    )
    .addOption(new Option('--limit <n>', 'at most N pairs (after skipping judged ones)').argParser(integerOption('--limit', 1)))
    .option('--again', 'judge again the pairs this model judged already (default: skip them, so a stopped run resumes)')
    .option('--split <split>', 'only records of this split')
    .addOption(
      new Option('--status <status>', 'only paraphrases of this status (default: all but rejected)').choices([
        ...PARAPHRASE_STATUSES,
      ]),
    )
    .addOption(new Option('--check <check>', 'only paraphrases with a finding of this check').choices([...FINDING_CHECKS]))
    .addOption(new Option('--severity <severity>', 'only paraphrases with a finding of this severity').choices([...SEVERITIES]))
    .option('--search <text>', 'only records matching this text (as the Datasets view searches)')
    .option(
      '--json',
      'print {"dataset", "judged", "same", "different", "unsure", "skipped", "failed": [{"record", "paraphrase", "pair", "reason"}], "cancelled"} as the last stdout line',
    )
    .action(async (datasetSpec: string, options: JudgeCliOptions) => {
      const apiKey = apiKeyFromEnv(options.apiKeyEnv)
      try {
        new URL(options.endpoint)
      } catch {
        throw new UsageError(`--endpoint ${options.endpoint}: not a URL; give the API's base URL, e.g. http://localhost:8000/v1`)
      }
      const { judgeParaphrases } = await import('../../data/paraphrase/judge')
      const { ensureChecks } = await import('../../data/datasets')
      const { store } = openWorkspaceStore(options)
      try {
        const dataset = datasetNamed(store.db, datasetSpec)
        ensureChecks(store.db)
        const result = await untilInterrupted((signal) =>
          judgeParaphrases(store.db, {
            datasetId: dataset.id,
            filter: filterOf(options),
            endpoint: {
              url: options.endpoint,
              model: options.model,
              apiKey,
              concurrency: options.concurrency,
              retries: options.retries,
            },
            again: options.again ?? false,
            limit: options.limit,
            signal,
            onProgress: progressInTenths('pairs'),
          }),
        )
        progress(
          `${result.cancelled ? 'Cancelled: ' : ''}${result.judged} pairs of "${dataset.name}" judged by ${options.model} (${result.different} different, ${result.unsure} unsure, ${result.same} same); ${result.skipped} judged before, skipped; ${result.failed.length} failed`,
        )
        for (const f of result.failed.slice(0, FAILURES_SHOWN)) progress(`  ${f.pair}: ${f.reason}`)
        if (result.failed.length > FAILURES_SHOWN)
          progress(`  ... and ${result.failed.length - FAILURES_SHOWN} more${options.json ? '' : ' (--json lists all)'}`)
        if (result.failed.length > 0) progress('Run the same command again to retry them: judged pairs are skipped.')
        if (options.json) {
          printJson({ dataset: dataset.name, ...result })
        } else {
          process.stdout.write(
            `Dataset "${dataset.name}": ${result.judged} pairs judged, ${result.different} with a different answer (errors), ${result.unsure} unsure (warnings). In the app, filter by check "judge" to review them.\n`,
          )
        }
        if (result.cancelled || result.failed.length > 0) process.exitCode = 1
      } finally {
        store.close()
      }
    })
}
