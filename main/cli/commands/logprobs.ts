import { Command, Option } from 'commander'
import { PROBE_ENGINES } from '../../../preload/contract'
import type { LogprobRow } from '../../engine/logprobs'
import type { OnnxLogitsModel } from '../../engine/onnx/token-stats'
import { baseOption, modelFolder } from '../checkpoint-option'
import { inputOption, LineError, mapJsonLineBatches, parseJsonLine } from '../jsonl'
import { progress } from '../output'
import { integerOption } from '../parse'
import { withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface LogprobsOptions extends WorkspaceOptions {
  base?: string
  input: string
  engine: (typeof PROBE_ENGINES)[number]
  batchSize: number
}

/** One input line: prompt and response ids, each an id in [0, vocab). */
function parseRow(text: string, line: number, vocab: number): LogprobRow {
  const record = parseJsonLine(text, line)
  if (typeof record !== 'object' || record === null || Array.isArray(record))
    throw new LineError(line, '(line)', 'expected an object {"prompt_ids": [...], "response_ids": [...]}')
  const ids = (field: 'prompt_ids' | 'response_ids'): number[] => {
    const value = (record as Record<string, unknown>)[field]
    if (!Array.isArray(value))
      throw new LineError(
        line,
        field,
        value === undefined ? 'missing; expected a list of token ids' : 'expected a list of token ids',
      )
    if (value.length === 0) {
      throw new LineError(
        line,
        field,
        field === 'response_ids'
          ? 'is empty; give at least one response token'
          : 'is empty; the first response token needs at least one token before it',
      )
    }
    value.forEach((id, i) => {
      if (!Number.isSafeInteger(id) || id < 0 || id >= vocab)
        throw new LineError(
          line,
          `${field}[${i}]`,
          `${JSON.stringify(id)} is not a token id in [0, ${vocab}) (config.json vocab_size)`,
        )
    })
    return value as number[]
  }
  return { prompt: ids('prompt_ids'), response: ids('response_ids') }
}

export function logprobsCommand(): Command {
  return withWorkspace(new Command('logprobs'))
    .addOption(baseOption())
    .description(
      'log-probabilities of given response token ids after given prompt ids: one {"logprobs": [...]} line per input line',
    )
    .argument('<model>', 'a model folder, a Hugging Face hub id in the local cache (e.g. Qwen/Qwen3-0.6B), or RUN:STEP')
    .addOption(inputOption())
    .addOption(new Option('--engine <engine>', 'inference engine').choices(PROBE_ENGINES).default('tfjs'))
    .addOption(
      new Option('--batch-size <n>', 'lines run together (left-padded)').default(8).argParser(integerOption('--batch-size', 1)),
    )
    .action(async (spec: string, options: LogprobsOptions) => {
      const folder = modelFolder(spec, options)
      const { useBackend } = await import('../../engine/backend')
      const { loadCausalLM } = await import('../../engine/model/causal-lm')
      const { tfjsLogprobs } = await import('../../engine/logprobs')
      const { onnxResponseStats } = await import('../../engine/onnx/token-stats')
      await useBackend()
      const lm = loadCausalLM(folder, { base: options.base })
      let compute = async (rows: LogprobRow[]): Promise<number[][]> => tfjsLogprobs(lm.model, rows)
      let release = async (): Promise<void> => {}
      // One batch in one pass; padding ids are masked, so their value does not matter.
      const onnxLogprobs = async (model: OnnxLogitsModel, rows: LogprobRow[]): Promise<number[][]> =>
        (await onnxResponseStats(model, rows, 0, rows.length, false)).logProbs.map((values) => [...values])
      if (options.engine === 'onnx' && !lm.transformer) {
        // Hugging Face families: one pass of the KV-cached graph over prompt + response, no past.
        const { onnxDecoderOf } = await import('../../engine/onnx/decoder-session')
        const model = await onnxDecoderOf(lm).catch((error: unknown) => {
          lm.dispose()
          throw error
        })
        lm.dispose() // the tfjs copy of the weights is not needed any more (disposing twice is harmless)
        compute = async (rows) => onnxLogprobs(model, rows)
        release = () => model.release()
      } else if (options.engine === 'onnx' && lm.transformer) {
        const { OnnxModel } = await import('../../engine/onnx/session')
        const onnx = await OnnxModel.ofTransformer(lm.transformer)
        compute = async (rows) => onnxLogprobs(onnx, rows)
        release = () => onnx.release()
      }
      progress(`Scoring with ${folder} (${lm.modelType}, ${options.engine})...`)
      try {
        await mapJsonLineBatches(
          options.input,
          options.batchSize,
          (text, line) => {
            const row = parseRow(text, line, lm.vocabSize)
            const tokens = row.prompt.length + row.response.length
            if (tokens > lm.maxPositions) {
              throw new LineError(
                line,
                '(line)',
                `${tokens} tokens pass the model's context of ${lm.maxPositions} (config.json max_position_embeddings)`,
              )
            }
            return row
          },
          async (rows) => (await compute(rows)).map((logprobs) => ({ logprobs })),
        )
      } finally {
        await release()
        lm.dispose()
      }
    })
}
