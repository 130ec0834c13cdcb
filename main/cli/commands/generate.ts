import { Command, Option } from 'commander'
import { PROBE_ENGINES } from '../../../preload/contract'
import { SYSTEM_PROMPT } from '../../engine/prompt'
import type { OnnxModel } from '../../engine/onnx/session'
import { checkpointFolder } from '../checkpoint-option'
import { UsageError } from '../errors'
import { printJson, progress } from '../output'
import { integerOption, numberOption } from '../parse'
import { withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface GenerateOptions extends WorkspaceOptions {
  checkpoint?: string
  prompt: string
  system: string
  samples: number
  temperature: number
  topP: number
  maxNewTokens: number
  engine: (typeof PROBE_ENGINES)[number]
  seed: number
  json?: boolean
}

export function generateCommand(): Command {
  return withWorkspace(new Command('generate'))
    .description('answer a question with a checkpoint: prints each completion and its extracted answer')
    .option('--checkpoint <ckpt>', 'a checkpoint folder or RUN:STEP (default: the shipped base model)')
    .requiredOption('--prompt <text>', 'the question (the user message)')
    .option('--system <text>', 'the system message', SYSTEM_PROMPT)
    .addOption(new Option('--samples <n>', 'completions to sample').default(1).argParser(integerOption('--samples', 1)))
    .addOption(
      new Option('--temperature <t>', 'sampling temperature; 0 = greedy')
        .default(1)
        .argParser(numberOption('--temperature', 0, 10)),
    )
    .addOption(new Option('--top-p <p>', 'nucleus sampling mass').default(1).argParser(numberOption('--top-p', 0.01, 1)))
    .addOption(
      new Option('--max-new-tokens <n>', 'token budget per completion')
        .default(32)
        .argParser(integerOption('--max-new-tokens', 1)),
    )
    .addOption(new Option('--engine <engine>', 'inference engine').choices(PROBE_ENGINES).default('tfjs'))
    .addOption(new Option('--seed <n>', 'sampling seed').default(0).argParser(integerOption('--seed', 0)))
    .option('--json', 'print {"checkpoint", "engine", "completions": [...]} as the last stdout line')
    .action(async (options: GenerateOptions) => {
      if (options.prompt.trim() === '') throw new UsageError('--prompt is empty: give the question to answer')
      const folder = checkpointFolder(options.checkpoint, options)
      // The engine (tfjs, onnxruntime) loads only for the commands that compute.
      const { extractAnswer } = await import('../../engine/answers/extract')
      const { useBackend } = await import('../../engine/backend')
      const { promptFor } = await import('../../engine/evaluate')
      const { loadModel } = await import('../../engine/model/load')
      const { generate, tfjsLogits } = await import('../../engine/sampling')
      await useBackend()
      const model = loadModel(folder)
      const prompt = promptFor(model.tokenizer, options.system, options.prompt)
      const limit = model.config.max_position_embeddings
      if (prompt.length + options.maxNewTokens > limit) {
        throw new Error(
          `The prompt is ${prompt.length} tokens and --max-new-tokens ${options.maxNewTokens} would pass the model's context of ${limit} tokens (${folder}/config.json max_position_embeddings); shorten the question or lower --max-new-tokens.`,
        )
      }
      progress(`Generating ${options.samples} completion(s) with ${folder} (${options.engine})...`)
      let source = tfjsLogits(model.transformer)
      let onnx: OnnxModel | undefined
      if (options.engine === 'onnx') {
        const { onnxLogits } = await import('../../engine/onnx/generate')
        const { OnnxModel } = await import('../../engine/onnx/session')
        onnx = await OnnxModel.ofTransformer(model.transformer)
        source = onnxLogits(onnx)
      }
      const completions = await generate(source, [prompt], {
        temperature: options.temperature,
        topP: options.topP,
        maxNewTokens: options.maxNewTokens,
        samples: options.samples,
        seed: options.seed,
        eosTokenId: model.tokenizer.eosTokenId,
        padTokenId: model.tokenizer.padTokenId,
      })
      await onnx?.release()
      model.transformer.dispose()
      const results = completions.map((c) => {
        const text = model.tokenizer.decode(c.tokens)
        return { text, answer: extractAnswer(text) ?? '', tokens: c.tokens.length, finished: c.finished }
      })
      if (options.json)
        return printJson({ checkpoint: folder, engine: options.engine, prompt: options.prompt, completions: results })
      results.forEach((r, i) => {
        process.stdout.write(
          `#${i + 1}  answer: ${r.answer === '' ? '(none)' : r.answer}${r.finished ? '' : '  (hit the token budget)'}\n    ${r.text}\n`,
        )
      })
    })
}
