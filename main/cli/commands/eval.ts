import { Command, Option } from 'commander'
import { datasetRecords, datasetSplits, findDataset } from '../../store/datasets'
import type { DatasetRecord } from '../../store/datasets'
import { recordName } from '../../store/records'
import { baseOption, modelFolder } from '../checkpoint-option'
import { printJson, progress } from '../output'
import { integerOption, numberOption } from '../parse'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface EvalOptions extends WorkspaceOptions {
  base?: string
  dataset: string
  split?: string
  samples?: number
  temperature: number
  seed: number
  limit?: number
  maxNewTokens: number
  json?: boolean
}

/** The labelled questions to evaluate on; `split` is null when the dataset has no labelled test or validation split. */
interface Questions {
  dataset: string
  split: string | null
  records: DatasetRecord[]
}

const counts = (splits: Record<string, number>): string =>
  Object.entries(splits)
    .map(([split, n]) => `${split} (${n})`)
    .join(', ')

/** The requested split, else test, else validation, else all labelled records; each error names what there is instead. */
function chooseSplit(
  dataset: string,
  requested: string | undefined,
  labelled: Record<string, number>,
  all: Record<string, number>,
): string | null {
  const withAnswers = Object.keys(labelled).length > 0 ? `Splits with answers: ${counts(labelled)}.` : ''
  if (requested !== undefined) {
    if (labelled[requested]) return requested
    if (all[requested]) {
      throw new Error(
        `Split "${requested}" of dataset "${dataset}" has ${all[requested]} records but none with an answer, and eval needs ground-truth answers. ${withAnswers || 'No split of it has answers.'}`,
      )
    }
    throw new Error(`Dataset "${dataset}" has no split "${requested}"; its splits are ${counts(all) || 'none (it is empty)'}.`)
  }
  if (labelled.test) return 'test'
  if (labelled.validation) return 'validation'
  if (Object.keys(labelled).length > 0) return null
  throw new Error(
    `Dataset "${dataset}" has no records with an answer (${counts(all) || 'it is empty'}), and eval needs ground-truth answers; choose a labelled dataset.`,
  )
}

function labelledQuestions(options: EvalOptions): Questions {
  const { dir, store } = openWorkspaceStore(options)
  try {
    const dataset = findDataset(store.db, options.dataset)
    if (!dataset) {
      const names = store
        .listDatasets()
        .map((d) => `"${d.name}"`)
        .reverse()
      throw new Error(
        names.length > 0
          ? `No dataset "${options.dataset}" in ${dir}; it has ${names.join(', ')}. Pass one of those (or its id) to --dataset.`
          : `No dataset "${options.dataset}" in ${dir}: the workspace has no datasets yet.`,
      )
    }
    const labelled = datasetSplits(store.db, dataset.id, { labelledOnly: true })
    const split = chooseSplit(dataset.name, options.split, labelled, datasetSplits(store.db, dataset.id))
    const records = datasetRecords(store.db, dataset.id, { split: split ?? undefined, labelledOnly: true })
    return { dataset: dataset.name, split, records }
  } finally {
    store.close()
  }
}

export function evalCommand(): Command {
  return withWorkspace(new Command('eval'))
    .addOption(baseOption())
    .description('evaluate a checkpoint on the labelled questions of a stored dataset: greedy pass@1, and avg@K, pass@K, maj@K')
    .argument(
      '<checkpoint>',
      'a checkpoint or model folder (cwb-gpt, qwen2, qwen3, llama), a Hugging Face hub id in the local cache, or RUN:STEP',
    )
    .requiredOption('--dataset <dataset>', 'a stored dataset: its name or id')
    .option('--split <split>', 'the split to evaluate on (default: test, else validation, else all labelled records)')
    .addOption(
      new Option('--samples <k>', 'also sample K completions per question for avg@K, pass@K and maj@K').argParser(
        integerOption('--samples', 2),
      ),
    )
    .addOption(
      new Option('--temperature <t>', 'sampling temperature for --samples')
        .default(1)
        .argParser(numberOption('--temperature', 0, 10)),
    )
    .addOption(new Option('--seed <n>', 'sampling seed').default(0).argParser(integerOption('--seed', 0)))
    .addOption(new Option('--limit <n>', 'evaluate only the first N questions').argParser(integerOption('--limit', 1)))
    .addOption(
      new Option('--max-new-tokens <n>', 'token budget per completion')
        .default(32)
        .argParser(integerOption('--max-new-tokens', 1)),
    )
    .option('--json', 'print {"checkpoint", "dataset", "split", "questions", "pass@1", ...} as the last stdout line')
    .action(async (spec: string, options: EvalOptions) => {
      const { dataset, split, records } = labelledQuestions(options)
      const questions = records.slice(0, options.limit).map((r) => ({ question: r.question, answer: r.answer ?? '' }))
      const folder = modelFolder(spec, options)
      const where = split === null ? 'all labelled records (no labelled test or validation split)' : `split ${split}`
      progress(
        `Dataset ${dataset}, ${where}: ${records.length} labelled question(s)${questions.length < records.length ? `, evaluating the first ${questions.length}` : ''}.`,
      )
      // The engine (tfjs) loads only for the commands that compute.
      const { useBackend } = await import('../../engine/backend')
      const { evaluate, promptFor } = await import('../../engine/evaluate')
      const { loadCausalLM } = await import('../../engine/model/causal-lm')
      const { systemPromptFor } = await import('../../engine/prompt')
      const { backend } = await useBackend()
      const lm = loadCausalLM(folder, { base: options.base })
      const { tokenizer } = lm
      if (!tokenizer) {
        lm.dispose()
        throw new Error(`eval needs the model's tokenizer to build prompts and read answers, and ${lm.tokenizerProblem}.`)
      }
      // The model's own chat template; the demo's system message for cwb-gpt, the reference's math instruction otherwise.
      const systemPrompt = systemPromptFor(lm.modelType)
      if (!tokenizer.hasChatTemplate)
        progress(`${folder} has no chat template: each prompt is the system message, a blank line and the question.`)
      const limit = lm.maxPositions
      const longest = questions
        .map((q, i) => ({ i, tokens: promptFor(tokenizer, systemPrompt, q.question).length }))
        .reduce((a, b) => (b.tokens > a.tokens ? b : a))
      if (longest.tokens + options.maxNewTokens > limit) {
        lm.dispose()
        throw new Error(
          `The prompt of ${recordName(records[longest.i]!, dataset)} is ${longest.tokens} tokens and --max-new-tokens ${options.maxNewTokens} would pass the model's context of ${limit} tokens (${folder}/config.json max_position_embeddings); lower --max-new-tokens or evaluate another split.`,
        )
      }
      const samples = options.samples ?? 0
      progress(
        `Evaluating ${folder} on ${backend}: greedy${samples > 0 ? `, then ${samples} samples at T=${options.temperature}` : ''}...`,
      )
      const n = questions.length
      // Generation stops at the tokenizer's EOS and at every eos id the model lists (generation_config.json).
      const stopTokenIds = lm.eosTokenIds.filter((id) => id !== tokenizer.eosTokenId)
      const result = await evaluate(lm.model, tokenizer, questions, {
        systemPrompt,
        maxNewTokens: options.maxNewTokens,
        samples,
        temperature: options.temperature,
        seed: options.seed,
        stopTokenIds,
        padTokenId: lm.padTokenId,
        onProgress: (done) => progress(done <= n ? `greedy ${done}/${n}` : `${samples} samples ${done - n}/${n}`),
      }).finally(() => lm.dispose())
      const scores: [string, number][] = [['pass@1', result.pass1]]
      if (samples > 0) {
        scores.push([`avg@${samples}`, result.avgK!], [`pass@${samples}`, result.passK!], [`maj@${samples}`, result.majK!])
      }
      if (options.json) {
        return printJson({ checkpoint: folder, dataset, split, questions: n, ...Object.fromEntries(scores) })
      }
      process.stdout.write(`${folder} on ${dataset}, ${where}, ${n} question(s):\n`)
      for (const [name, value] of scores) {
        process.stdout.write(`  ${name.padEnd(8)} ${(value * 100).toFixed(1)}%${name === 'pass@1' ? '  (greedy)' : ''}\n`)
      }
    })
}
