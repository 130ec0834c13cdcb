import { Command, Option } from 'commander'
import { PROBE_ENGINES } from '../../../preload/contract'
import { systemPromptFor } from '../../engine/prompt'
import { baseOption, modelFolder } from '../checkpoint-option'
import { UsageError } from '../errors'
import { printJson, progress } from '../output'
import { integerOption, numberOption } from '../parse'
import { withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface GenerateOptions extends WorkspaceOptions {
  base?: string
  checkpoint?: string
  prompt?: string
  promptIds?: number[]
  system?: string
  samples: number
  temperature: number
  topP: number
  maxNewTokens: number
  engine: (typeof PROBE_ENGINES)[number]
  seed: number
  json?: boolean
}

function idList(value: string): number[] {
  const ids = value.split(',').map((part) => part.trim())
  if (ids.some((id) => !/^\d+$/.test(id)) || ids.length === 0)
    throw new UsageError(`--prompt-ids ${value}: expected token ids separated by commas, e.g. 1,2,3`)
  return ids.map(Number)
}

export function generateCommand(): Command {
  return withWorkspace(new Command('generate'))
    .addOption(baseOption())
    .description('answer a question with a checkpoint: prints each completion and its extracted answer')
    .option(
      '--checkpoint <ckpt>',
      'a checkpoint or model folder, a Hugging Face hub id in the local cache, or RUN:STEP (default: the shipped base model)',
    )
    .option('--prompt <text>', 'the question (the user message); or give --prompt-ids')
    .addOption(
      new Option('--prompt-ids <ids>', 'the prompt as token ids (1,2,3), fed exactly as given: no template, no BOS').argParser(
        idList,
      ),
    )
    .option(
      '--system <text>',
      "the system message (default: the reference's math instruction; cwb-gpt models keep the demo's own)",
    )
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
      if ((options.prompt === undefined) === (options.promptIds === undefined))
        throw new UsageError('give exactly one of --prompt (the question) and --prompt-ids (token ids)')
      if (options.prompt !== undefined && options.prompt.trim() === '')
        throw new UsageError('--prompt is empty: give the question to answer')
      const folder = modelFolder(options.checkpoint, options)
      // The engine (tfjs, onnxruntime) loads only for the commands that compute.
      const { extractAnswer } = await import('../../engine/answers/extract')
      const { useBackend } = await import('../../engine/backend')
      const { promptFor } = await import('../../engine/evaluate')
      const { loadCausalLM } = await import('../../engine/model/causal-lm')
      const { generate, tfjsLogits } = await import('../../engine/sampling')
      await useBackend()
      const lm = loadCausalLM(folder, { base: options.base })
      const { tokenizer } = lm
      let prompt: number[]
      if (options.promptIds) {
        const bad = options.promptIds.find((id) => id >= lm.vocabSize)
        if (bad !== undefined) {
          lm.dispose()
          throw new UsageError(`--prompt-ids: ${bad} is not a token id in [0, ${lm.vocabSize}) (config.json vocab_size)`)
        }
        prompt = options.promptIds
      } else {
        if (!tokenizer) {
          lm.dispose()
          throw new Error(`--prompt needs a tokenizer, and ${lm.tokenizerProblem}; give --prompt-ids instead`)
        }
        prompt = promptFor(tokenizer, options.system ?? systemPromptFor(lm.modelType), options.prompt!)
        if (!tokenizer.hasChatTemplate)
          progress(`${folder} has no chat template: the prompt is the system message, a blank line and the question.`)
      }
      const limit = lm.maxPositions
      if (prompt.length + options.maxNewTokens > limit) {
        lm.dispose()
        throw new Error(
          `The prompt is ${prompt.length} tokens and --max-new-tokens ${options.maxNewTokens} would pass the model's context of ${limit} tokens (${folder}/config.json max_position_embeddings); shorten the question or lower --max-new-tokens.`,
        )
      }
      progress(`Generating ${options.samples} completion(s) with ${folder} (${options.engine})...`)
      let source = tfjsLogits(lm.model)
      let onnx: { release(): Promise<void> } | undefined
      if (options.engine === 'onnx' && lm.transformer) {
        const { onnxLogits } = await import('../../engine/onnx/generate')
        const { OnnxModel } = await import('../../engine/onnx/session')
        const model = await OnnxModel.ofTransformer(lm.transformer)
        onnx = model
        source = onnxLogits(model)
      } else if (options.engine === 'onnx') {
        // Hugging Face families: prefill on the KV-cached graph, then one token per step on the fixed-capacity graph.
        const { onnxDecoderOf } = await import('../../engine/onnx/decoder-session')
        try {
          const model = await onnxDecoderOf(lm)
          onnx = model
          source = model.sampler()
          lm.dispose() // the tfjs copy of the weights is not needed any more (disposing twice is harmless)
        } catch (error) {
          lm.dispose()
          throw error
        }
      }
      // The model's EOS ids, and the tokenizer's where the model's files name none: generation must stop somewhere.
      const eosIds = [...new Set([...lm.eosTokenIds, ...(lm.tokenizer ? [lm.tokenizer.eosTokenId] : [])])]
      const [eosTokenId = -1, ...stopTokenIds] = eosIds
      const completions = await generate(source, [prompt], {
        temperature: options.temperature,
        topP: options.topP,
        maxNewTokens: options.maxNewTokens,
        samples: options.samples,
        seed: options.seed,
        eosTokenId,
        stopTokenIds,
        padTokenId: lm.padTokenId,
      })
      await onnx?.release()
      lm.dispose()
      const results = completions.map((c) => {
        const text = tokenizer?.decode(c.tokens)
        const ids = c.stopToken === undefined ? c.tokens : [...c.tokens, c.stopToken]
        const base = { tokens: c.tokens.length, finished: c.finished, ids }
        return text === undefined ? base : { text, answer: extractAnswer(text) ?? '', ...base }
      })
      const shownPrompt = options.prompt ?? options.promptIds
      if (options.json)
        return printJson({ checkpoint: folder, engine: options.engine, prompt: shownPrompt, completions: results })
      results.forEach((r, i) => {
        const answer = 'answer' in r ? (r.answer === '' ? '(none)' : r.answer) : '(no tokenizer)'
        const body = 'text' in r ? r.text : `ids: ${r.ids.join(',')}`
        process.stdout.write(`#${i + 1}  answer: ${answer}${r.finished ? '' : '  (hit the token budget)'}\n    ${body}\n`)
      })
    })
}
