import { Command, Option } from 'commander'
import type { GenerateSource } from '../../data/paraphrase/generate'
import { getRecord, recordName } from '../../store/records'
import { checkpointFolder } from '../checkpoint-option'
import { UsageError } from '../errors'
import { apiKeyFromEnv, datasetNamed, untilInterrupted } from '../jobs'
import { printJson, progress, progressInTenths } from '../output'
import { integerOption } from '../parse'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface ParaphraseCliOptions extends WorkspaceOptions {
  templates?: boolean
  endpoint?: string
  model?: string
  apiKeyEnv?: string
  onnx?: string
  prompt?: string
  maxTokens: number
  concurrency: number
  retries: number
  limit?: number
  includeDone?: boolean
  json?: boolean
}

/** Failure reasons shown on stderr without --json (all of them are in the JSON). */
const FAILURES_SHOWN = 10

function sourceOf(options: ParaphraseCliOptions): GenerateSource {
  const chosen = [options.templates, options.endpoint, options.onnx].filter((x) => x !== undefined)
  if (chosen.length !== 1) throw new UsageError('choose one source: --templates, --endpoint URL --model M, or --onnx CHECKPOINT')
  if (options.templates) return { kind: 'templates' }
  if (options.onnx !== undefined)
    return { kind: 'onnx', folder: checkpointFolder(options.onnx, options), prompt: options.prompt, maxTokens: options.maxTokens }
  if (!options.model) throw new UsageError('--endpoint needs --model: the model name the server serves')
  return {
    kind: 'endpoint',
    url: options.endpoint!,
    model: options.model,
    apiKey: apiKeyFromEnv(options.apiKeyEnv),
    prompt: options.prompt,
    concurrency: options.concurrency,
    retries: options.retries,
  }
}

export function paraphraseCommand(): Command {
  return withWorkspace(new Command('paraphrase'))
    .description(
      "generate paraphrases (pending review) for a dataset's records: demo templates, an OpenAI-compatible endpoint, or a local ONNX model",
    )
    .argument('<dataset>', 'dataset id or name (`cwb datasets` lists them)')
    .option('--templates', "retell demo problems in their type's other scenario families (demo datasets only)")
    .option('--endpoint <url>', 'an OpenAI-compatible API base URL, e.g. http://localhost:8000/v1')
    .option('--model <name>', 'the model the endpoint serves')
    .option('--api-key-env <var>', 'read the API key from this environment variable (it is never stored)')
    .option('--onnx <checkpoint>', 'a local causal LM: a checkpoint folder or RUN:STEP, run through onnxruntime')
    .option('--prompt <text>', 'the rewrite prompt; {question} stands for the question (default: the built-in prompt)')
    .addOption(
      new Option('--max-tokens <n>', 'new tokens per rewrite (--onnx)').default(64).argParser(integerOption('--max-tokens', 1)),
    )
    .addOption(
      new Option('--concurrency <n>', 'requests in flight (--endpoint)').default(4).argParser(integerOption('--concurrency', 1)),
    )
    .addOption(
      new Option('--retries <n>', 'retries after 429, 5xx or network errors (--endpoint)')
        .default(4)
        .argParser(integerOption('--retries', 0)),
    )
    .addOption(new Option('--limit <n>', 'at most N records').argParser(integerOption('--limit', 1)))
    .option('--include-done', 'also records that already have a paraphrase from this kind of source (default: skip them)')
    .option('--json', 'print {"dataset", "generated", "failed": [{"record", "reason"}], "cancelled"} as the last stdout line')
    .action(async (datasetSpec: string, options: ParaphraseCliOptions) => {
      const source = sourceOf(options)
      const { generateParaphrases } = await import('../../data/paraphrase/generate')
      const { store } = openWorkspaceStore(options)
      try {
        const dataset = datasetNamed(store.db, datasetSpec)
        const result = await untilInterrupted((signal) =>
          generateParaphrases(store.db, {
            datasetId: dataset.id,
            filter: {},
            source,
            skipDone: !options.includeDone,
            limit: options.limit,
            signal,
            onProgress: progressInTenths('records'),
          }),
        )
        progress(
          `${result.cancelled ? 'Cancelled: ' : ''}${result.generated} paraphrases added to "${dataset.name}" (pending review); ${result.failed.length} records failed`,
        )
        if (options.json) {
          printJson({ dataset: dataset.id, ...result })
        } else {
          for (const f of result.failed.slice(0, FAILURES_SHOWN)) {
            const record = getRecord(store.db, f.record)
            progress(`  ${record ? recordName(record, dataset.name) : `record id ${f.record}`}: ${f.reason}`)
          }
          if (result.failed.length > FAILURES_SHOWN)
            progress(`  ... and ${result.failed.length - FAILURES_SHOWN} more (--json lists all)`)
          process.stdout.write(`Dataset ${dataset.id} "${dataset.name}": ${result.generated} new paraphrases.\n`)
        }
        if (result.cancelled) process.exitCode = 1
      } finally {
        store.close()
      }
    })
}
