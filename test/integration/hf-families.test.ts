// Hugging Face qwen2 / qwen3 / llama folders through the built CLI, against the float64 PyTorch reference
// (test/reference/hf_families.py): `cwb logprobs` per token, padded batches against single rows, greedy
// `cwb generate --prompt-ids`. Input-line errors and cwb-gpt's tfjs/ONNX logprobs need no torch.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cwb } from '../helpers/cli'
import { cliGreedy, cliLogprobs, jsonl, LINES, maxDiff } from '../helpers/hf-cli'
import {
  greedyCases,
  referenceGreedy,
  referenceGreedyMany,
  referenceLogprobs,
  referenceLogprobsMany,
  torchAvailable,
  useReferenceFixtures,
} from '../helpers/reference'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { freshDirs } from '../helpers/workspace'
import { trainedWorkspace } from './checkpoints-fixture'

const folder = freshDirs()
const noTorch = torchAvailable()
const TOLERANCE = 1e-3

describe.skipIf(noTorch !== undefined)(
  `Hugging Face families against the float64 reference${noTorch ? ` (skipped: ${noTorch})` : ''}`,
  () => {
    const fixtures = useReferenceFixtures()

    it('cwb logprobs agrees with the reference per token, and a padded batch equals single rows', { timeout: 240_000 }, () => {
      expect(fixtures()).toHaveLength(10)
      const references = referenceLogprobsMany(
        fixtures().map(({ dir }) => dir),
        LINES,
      )
      for (const [i, { family, variant, dir }] of fixtures().entries()) {
        const reference = references[i]!
        const single = cliLogprobs(dir, LINES, ['--batch-size', '1'])
        const batched = cliLogprobs(dir, LINES, ['--batch-size', '4'])
        expect(maxDiff(single, reference), `${family} ${variant} vs reference`).toBeLessThan(TOLERANCE)
        expect(maxDiff(batched, single), `${family} ${variant} batched vs single`).toBeLessThan(1e-5)
      }
    })

    it('greedy cwb generate --prompt-ids gives the reference ids', { timeout: 240_000 }, () => {
      const cases = greedyCases(fixtures())
      const expected = referenceGreedyMany(cases)
      for (const [i, { family, variant, dir, promptIds }] of cases.entries())
        expect(cliGreedy(dir, promptIds).ids, `${family} ${variant} ${promptIds.join(',')}`).toEqual(expected[i])
    })

    it('stops at any generation_config eos id, which ends the ids', { timeout: 60_000 }, () => {
      const source = fixtures().find((f) => f.family === 'qwen3' && f.variant === 'f32')!.dir
      const dir = join(folder(), 'qwen3-eos')
      cpSync(source, dir, { recursive: true })
      const first = cliGreedy(dir, [1, 2, 3, 4], { maxNewTokens: 3 }).ids[0]!
      writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [first === 0 ? 1 : 0, first] }))
      const stopped = cliGreedy(dir, [1, 2, 3, 4])
      expect(stopped).toMatchObject({ ids: [first], finished: true, tokens: 0 })
      expect(referenceGreedy(dir, [1, 2, 3, 4], 12)).toEqual([first])
    })

    it('needs no tokenizer for logprobs and --prompt-ids, and refuses --prompt without one', { timeout: 60_000 }, () => {
      const source = fixtures().find((f) => f.family === 'llama' && f.variant === 'f32')!.dir
      const dir = join(folder(), 'llama-bare')
      cpSync(source, dir, { recursive: true })
      rmSync(join(dir, 'tokenizer.json'))
      rmSync(join(dir, 'tokenizer_config.json'))
      expect(maxDiff(cliLogprobs(dir, LINES), referenceLogprobs(source, LINES))).toBeLessThan(TOLERANCE)
      expect(cliGreedy(dir, [1, 2, 3, 4]).ids).toEqual(referenceGreedy(source, [1, 2, 3, 4], 12))
      const text = cwb(['generate', '--checkpoint', dir, '--prompt', 'hi'])
      expect(text.code).toBe(1)
      expect(text.stderr).toMatch(/--prompt needs a tokenizer.*no tokenizer\.json.*--prompt-ids/)
    })

    it('finds a hub id in the local Hugging Face cache, never downloading', { timeout: 60_000 }, () => {
      const source = fixtures().find((f) => f.family === 'qwen2' && f.variant === 'f32')!.dir
      const home = join(folder(), 'hf-home')
      const repo = join(home, 'hub', 'models--tiny-org--tiny-qwen2')
      mkdirSync(join(repo, 'refs'), { recursive: true })
      cpSync(source, join(repo, 'snapshots', 'abc123'), { recursive: true })
      writeFileSync(join(repo, 'refs', 'main'), 'abc123')
      const env = { HF_HOME: home, HF_HUB_CACHE: '' }
      expect(maxDiff(cliLogprobs('tiny-org/tiny-qwen2', LINES, [], env), referenceLogprobs(source, LINES))).toBeLessThan(
        TOLERANCE,
      )
      const missing = cwb(['logprobs', 'tiny-org/absent', '--input', '-'], env, jsonl(LINES))
      expect(missing.code).toBe(1)
      expect(missing.stderr).toContain(join(home, 'hub', 'models--tiny-org--absent', 'snapshots'))
    })

    it('runs --engine onnx for these families too (the KV-cached graph; test/integration/hf-onnx.test.ts checks it in full)', () => {
      const dir = fixtures()[0]!.dir
      expect(maxDiff(cliLogprobs(dir, LINES, ['--engine', 'onnx']), cliLogprobs(dir, LINES))).toBeLessThan(TOLERANCE)
    })
  },
)

describe('cwb logprobs input lines and cwb-gpt', () => {
  it('stops at a bad line with its number and reason, exit 1, after answering the lines before it', () => {
    const checkpoint = join(folder(), 'tiny')
    writeTinyCheckpoint(checkpoint)
    const vocab = (JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size
    const good = { prompt_ids: [1, 2], response_ids: [3] }
    const cases: [string, RegExp][] = [
      [
        JSON.stringify({ prompt_ids: [1], response_ids: [vocab] }),
        new RegExp(`line 2: response_ids\\[0\\]: ${vocab} is not a token id in \\[0, ${vocab}\\)`),
      ],
      [JSON.stringify({ prompt_ids: [-1], response_ids: [3] }), /line 2: prompt_ids\[0\]: -1 is not a token id/],
      [JSON.stringify({ prompt_ids: [1], response_ids: [] }), /line 2: response_ids: is empty/],
      ['{not json', /line 2: \(line\): not valid JSON/],
    ]
    for (const [bad, message] of cases) {
      const result = cwb(['logprobs', checkpoint, '--input', '-', '--batch-size', '4'], {}, `${JSON.stringify(good)}\n${bad}\n`)
      expect(result.code, bad).toBe(1)
      expect(result.stderr).toMatch(message)
      expect(result.stdout.trimEnd().split('\n')).toHaveLength(1)
    }
  })

  it('gives the same logprobs for cwb-gpt on tfjs and onnx, padded or not', { timeout: 60_000 }, () => {
    const checkpoint = join(folder(), 'tiny')
    writeTinyCheckpoint(checkpoint)
    const lines = [
      { prompt_ids: [1, 2, 3, 4], response_ids: [5, 6, 7] },
      { prompt_ids: [8], response_ids: [9, 10, 11, 12, 13] },
    ]
    const tfjs = cliLogprobs(checkpoint, lines, ['--batch-size', '1'])
    expect(maxDiff(cliLogprobs(checkpoint, lines, ['--batch-size', '2']), tfjs)).toBeLessThan(1e-5)
    expect(maxDiff(cliLogprobs(checkpoint, lines, ['--engine', 'onnx', '--batch-size', '2']), tfjs)).toBeLessThan(1e-4)
    expect(tfjs.flat().every((value) => value < 0)).toBe(true)
  })

  it('names a checkpoint by RUN:STEP as other commands do', { timeout: 120_000 }, () => {
    const trained = trainedWorkspace()
    try {
      const lines = [{ prompt_ids: [1, 2, 3], response_ids: [4, 5] }]
      const byName = cliLogprobs('tiny-co2:3', lines, ['--workspace', trained.dir])
      const byFolder = cliLogprobs(join(trained.dir, 'runs', '1', 'checkpoints', 'step-3'), lines)
      expect(byName).toEqual(byFolder)
      expect(cliLogprobs('tiny-co2:latest', lines, ['--workspace', trained.dir])).toEqual(byFolder)
    } finally {
      trained.remove()
    }
  })
})
