import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { Command, Option } from 'commander'
import { PROBE_ENGINES } from '../../../preload/contract'
import type { LogprobRow } from '../../engine/logprobs'
import { modelFolder } from '../checkpoint-option'
import { EXIT } from '../errors'
import { inputOption, LineError } from '../jsonl'
import { progress } from '../output'
import { integerOption } from '../parse'
import { withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface LogprobsOptions extends WorkspaceOptions {
  input: string
  engine: (typeof PROBE_ENGINES)[number]
  batchSize: number
}

/** One input line: prompt and response ids, each an id in [0, vocab). */
function parseRow(text: string, line: number, vocab: number): LogprobRow {
  let record: unknown
  try {
    record = JSON.parse(text)
  } catch (error) {
    throw new LineError(line, '(line)', `not valid JSON (${(error as Error).message})`)
  }
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
      const { logprobsFromLogits, tfjsLogprobs } = await import('../../engine/logprobs')
      await useBackend()
      const lm = loadCausalLM(folder)
      let compute = async (rows: LogprobRow[]): Promise<number[][]> => tfjsLogprobs(lm.model, rows)
      let release = async (): Promise<void> => {}
      if (options.engine === 'onnx') {
        if (!lm.transformer) {
          lm.dispose()
          throw new Error(
            `--engine onnx is not yet supported for model_type "${lm.modelType}" (ONNX export covers cwb-gpt only); use --engine tfjs`,
          )
        }
        const { OnnxModel } = await import('../../engine/onnx/session')
        const onnx = await OnnxModel.ofTransformer(lm.transformer)
        compute = async (rows) => {
          const sequences = rows.map((row) => [...row.prompt, ...row.response])
          const length = Math.max(...sequences.map((s) => s.length))
          const ids = new Int32Array(rows.length * length)
          const mask = new Int32Array(rows.length * length)
          sequences.forEach((s, r) => {
            ids.set(s, r * length + length - s.length)
            mask.fill(1, r * length + length - s.length, (r + 1) * length)
          })
          return logprobsFromLogits(await onnx.logits(ids, mask, rows.length, length), rows, length, onnx.vocabSize)
        }
        release = () => onnx.release()
      }
      progress(`Scoring with ${folder} (${lm.modelType}, ${options.engine})...`)
      const lines = createInterface({
        input: options.input === '-' ? process.stdin : createReadStream(options.input),
        crlfDelay: Infinity,
      })
      const stopOnClosedOutput = (error: NodeJS.ErrnoException): void => {
        if (error.code === 'EPIPE') lines.close()
      }
      process.stdout.on('error', stopOnClosedOutput)
      let batch: LogprobRow[] = []
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return
        const results = await compute(batch)
        batch = []
        const text = results.map((logprobs) => `${JSON.stringify({ logprobs })}\n`).join('')
        if (!process.stdout.write(text)) await once(process.stdout, 'drain')
      }
      let line = 0
      try {
        for await (const text of lines) {
          line += 1
          if (text.trim() === '') continue
          const row = parseRow(text, line, lm.vocabSize)
          if (row.prompt.length + row.response.length > lm.maxPositions) {
            throw new LineError(
              line,
              '(line)',
              `${row.prompt.length + row.response.length} tokens pass the model's context of ${lm.maxPositions} (config.json max_position_embeddings)`,
            )
          }
          batch.push(row)
          if (batch.length >= options.batchSize) await flush()
        }
        await flush()
      } catch (error) {
        if (error instanceof LineError) {
          await flush() // the valid lines before the bad one are answered
          process.stderr.write(`${error.message}\n`)
          process.exitCode = EXIT.failure
          return
        }
        const { code, syscall } = error as NodeJS.ErrnoException
        if (code === 'EPIPE') return
        if (code && (syscall === 'open' || syscall === 'read'))
          throw new Error(`cannot read --input ${options.input} (${code}); give a readable JSONL file, or - for stdin`, {
            cause: error,
          })
        throw error
      } finally {
        lines.close()
        process.stdout.off('error', stopOnClosedOutput)
        await release()
        lm.dispose()
      }
    })
}
