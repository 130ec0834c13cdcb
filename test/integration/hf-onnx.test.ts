// Hugging Face qwen2 / qwen3 / llama folders through `--engine onnx` (the KV-cached graph of
// main/engine/onnx/decoder-export.ts run by onnxruntime-node), against the float64 PyTorch reference
// (test/reference/hf_families.py) and the tfjs decoder: `cwb logprobs` per token, left-padded batches against single
// rows, greedy `cwb generate --prompt-ids` decoding one token per step through the cache, and the graph's names.
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openWeightFiles } from '../../main/engine/checkpoint/hf-weights'
import { parseDecoderConfig } from '../../main/engine/model/families/index'
import { OnnxDecoder } from '../../main/engine/onnx/decoder-session'
import { cliGreedy, cliLogprobs, LINES, maxDiff } from '../helpers/hf-cli'
import {
  greedyCases,
  referenceGreedy,
  referenceGreedyMany,
  referenceLogprobsMany,
  torchAvailable,
  useReferenceFixtures,
} from '../helpers/reference'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()
const noTorch = torchAvailable()
const TOLERANCE = 1e-3

describe.skipIf(noTorch !== undefined)(
  `Hugging Face families on onnxruntime against the float64 reference${noTorch ? ` (skipped: ${noTorch})` : ''}`,
  () => {
    const fixtures = useReferenceFixtures()

    it(
      'cwb logprobs --engine onnx agrees with the reference and tfjs per token; a padded batch equals single rows',
      { timeout: 300_000 },
      () => {
        expect(fixtures()).toHaveLength(10)
        const worst = { reference: 0, tfjs: 0, padded: 0 }
        const references = referenceLogprobsMany(
          fixtures().map(({ dir }) => dir),
          LINES,
        )
        for (const [i, { family, variant, dir }] of fixtures().entries()) {
          const reference = references[i]!
          const single = cliLogprobs(dir, LINES, ['--engine', 'onnx', '--batch-size', '1'])
          const batched = cliLogprobs(dir, LINES, ['--engine', 'onnx', '--batch-size', '4'])
          // tfjs on the same lines is checked against the same reference in hf-families.test.ts; on one folder of each
          // family here, side by side.
          const tfjs = variant === 'f32' ? cliLogprobs(dir, LINES, ['--batch-size', '4']) : undefined
          const diffs = {
            reference: maxDiff(single, reference),
            tfjs: tfjs ? maxDiff(batched, tfjs) : 0,
            padded: maxDiff(batched, single),
          }
          expect(diffs.reference, `${family} ${variant} onnx vs reference`).toBeLessThan(TOLERANCE)
          expect(diffs.tfjs, `${family} ${variant} onnx vs tfjs`).toBeLessThan(TOLERANCE)
          expect(diffs.padded, `${family} ${variant} onnx batched vs single`).toBeLessThan(1e-5)
          for (const key of ['reference', 'tfjs', 'padded'] as const) worst[key] = Math.max(worst[key], diffs[key])
        }
        console.log(`hf-onnx max abs logprob diffs: ${JSON.stringify(worst)}`)
      },
    )

    it('greedy cwb generate --engine onnx (KV cache, one token per step) gives the reference ids', { timeout: 300_000 }, () => {
      const cases = greedyCases(fixtures())
      const expected = referenceGreedyMany(cases)
      for (const [i, { family, variant, dir, promptIds }] of cases.entries())
        expect(cliGreedy(dir, promptIds, { engine: 'onnx' }).ids, `${family} ${variant} ${promptIds.join(',')}`).toEqual(
          expected[i],
        )
    })

    it('stops at any generation_config eos id, which ends the ids', { timeout: 60_000 }, () => {
      const source = fixtures().find((f) => f.family === 'llama' && f.variant === 'linear-rope')!.dir
      const dir = join(folder(), 'llama-eos')
      cpSync(source, dir, { recursive: true })
      const greedy = cliGreedy(dir, [1, 2, 3, 4], { engine: 'onnx', maxNewTokens: 3 }).ids
      const stop = greedy[1]!
      const expected = greedy.slice(0, greedy.indexOf(stop) + 1)
      writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [stop === 0 ? 1 : 0, stop] }))
      const stopped = cliGreedy(dir, [1, 2, 3, 4], { engine: 'onnx', maxNewTokens: 32 })
      expect(stopped).toMatchObject({ ids: expected, finished: true, tokens: expected.length - 1 })
      expect(referenceGreedy(dir, [1, 2, 3, 4], 12)).toEqual(expected)
    })

    it('the graph has exactly the Hugging Face input and output names (apart from the weight inputs)', async () => {
      for (const { family, variant, dir } of fixtures()) {
        const config = parseDecoderConfig(
          JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>,
          dir,
        )
        const files = openWeightFiles(dir)
        const model = await OnnxDecoder.create(config, (name) => files.read(name))
        try {
          const cache = (prefix: string): string[] =>
            Array.from({ length: config.layers }, (_, i) => [`${prefix}.${i}.key`, `${prefix}.${i}.value`]).flat()
          const inputs = ['input_ids', 'attention_mask', 'position_ids', ...cache('past_key_values')]
          expect(model.inputNames.slice(0, inputs.length), `${family} ${variant}`).toEqual(inputs)
          const weights = model.inputNames.slice(inputs.length)
          expect(weights.length).toBeGreaterThan(0)
          expect(weights.every((name) => /^(model\.|lm_head\.|rope\.)/.test(name))).toBe(true)
          expect(model.outputNames, `${family} ${variant}`).toEqual(['logits', ...cache('present')])
        } finally {
          await model.release()
        }
      }
    })
  },
)
