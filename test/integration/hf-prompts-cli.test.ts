// Text prompts for Hugging Face folders through the built CLI: `cwb generate --prompt` and `cwb eval` build the prompt
// with the folder's own chat template and the reference's math instruction, and stop at the model's eos ids. Tiny
// qwen2 / llama folders written here need no Python; the float64 reference's fixtures (torch) check greedy ids too.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createDataset } from '../../main/data/datasets'
import { promptFor } from '../../main/engine/evaluate'
import { MATH_INSTRUCTION } from '../../main/engine/prompt'
import { loadTokenizerFolder } from '../../main/engine/tokenizer/tokenizer'
import { Store } from '../../main/store/store'
import { cwb, lastJson } from '../helpers/cli'
import { cliGreedy } from '../helpers/hf-cli'
import type { Completion } from '../helpers/hf-cli'
import { writeTinyHfFolder } from '../helpers/hf-folder'
import type { TinyFamily } from '../helpers/hf-folder'
import { referenceGreedyMany, torchAvailable, useReferenceFixtures } from '../helpers/reference'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()
const noTorch = torchAvailable()

/** The prompt ids the CLI should build: the folder's template around the math instruction and the question. */
function expectedPrompt(dir: string, question: string): number[] {
  return promptFor(loadTokenizerFolder(dir), MATH_INSTRUCTION, question)
}

describe('cwb generate --prompt and cwb eval on Hugging Face folders (no Python)', () => {
  it.each<TinyFamily>(['qwen2', 'llama'])(
    '%s: generate --prompt uses the template and the math instruction (the same ids as --prompt-ids)',
    (family) => {
      const dir = join(freshDir(), family)
      const { ids } = writeTinyHfFolder(dir, family)
      const prompt = expectedPrompt(dir, '1+1?')
      if (family === 'llama') expect(prompt.filter((id) => id === ids['<|begin_of_text|>'])).toEqual([prompt[0]])
      else expect(prompt[0]).toBe(ids['<|im_start|>'])
      const fromText = cliGreedy(dir, '1+1?', { maxNewTokens: 5 })
      expect(fromText.ids.length).toBeGreaterThan(0)
      expect(fromText.ids.length).toBeLessThanOrEqual(6)
      expect(typeof fromText.text).toBe('string')
      expect(fromText.ids).toEqual(cliGreedy(dir, prompt, { maxNewTokens: 5 }).ids)
    },
  )

  it('says so when the folder has no chat template, and prompts with plain text and the BOS', () => {
    const dir = join(freshDir(), 'llama-base')
    const { ids } = writeTinyHfFolder(dir, 'llama')
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' }))
    const prompt = expectedPrompt(dir, '1+1?')
    expect(prompt[0]).toBe(ids['<|begin_of_text|>'])
    const args = ['generate', '--checkpoint', dir, '--prompt', '1+1?', '--temperature', '0', '--max-new-tokens', '3', '--json']
    const result = cwb(args)
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(
      `${dir} has no chat template: the prompt is the system message, a blank line and the question.`,
    )
    expect(lastJson<{ completions: Completion[] }>(result.stdout).completions[0]!.ids).toEqual(
      cliGreedy(dir, prompt, { maxNewTokens: 5 }).ids.slice(0, 3),
    )
  })

  it('eval scores a qwen2 folder on a stored dataset, greedy and sampled, the same for a seed', () => {
    const dir = join(freshDir(), 'qwen2')
    writeTinyHfFolder(dir, 'qwen2')
    const workspace = freshDir()
    const store = new Store(join(workspace, 'workbench.db'))
    try {
      createDataset(store.db, {
        name: 'sums',
        records: [
          { question: 'What is 1+1?', answer: '2', split: 'test' },
          { question: 'What is 2+3?', answer: '5', split: 'test' },
        ],
      })
    } finally {
      store.close()
    }
    const args = ['eval', dir, '--dataset', 'sums', '--samples', '2', '--max-new-tokens', '4', '--workspace', workspace]
    const first = cwb([...args, '--json'])
    if (first.code !== 0) throw new Error(`cwb eval exited ${first.code}: ${first.stderr}`)
    const result = lastJson(first.stdout)
    expect(result).toMatchObject({ checkpoint: dir, dataset: 'sums', split: 'test', questions: 2 })
    for (const key of ['pass@1', 'avg@2', 'pass@2', 'maj@2']) {
      expect(result[key]).toBeGreaterThanOrEqual(0)
      expect(result[key]).toBeLessThanOrEqual(1)
    }
    expect(cwb([...args, '--json']).stdout).toBe(first.stdout)
  })
})

describe.skipIf(noTorch !== undefined)(
  `the float64 reference's fixtures: tokenizers and text prompts${noTorch ? ` (skipped: ${noTorch})` : ''}`,
  () => {
    const fixtures = useReferenceFixtures()

    it('each fixture tokenizer loads, and generate --prompt returns the reference greedy ids', { timeout: 240_000 }, () => {
      expect(fixtures()).toHaveLength(10)
      const prompts = fixtures().map(({ dir }) => expectedPrompt(dir, '1+1?'))
      const expected = referenceGreedyMany(fixtures().map(({ dir }, i) => ({ dir, promptIds: prompts[i]!, maxNewTokens: 5 })))
      for (const [i, { family, variant, dir }] of fixtures().entries()) {
        const tokenizer = loadTokenizerFolder(dir)
        if (family === 'llama') expect(prompts[i]!.filter((id) => id === tokenizer.bosTokenId)).toHaveLength(1)
        else expect(tokenizer.bosTokenId).toBeUndefined()
        const completion = cliGreedy(dir, '1+1?', { maxNewTokens: 5 })
        expect(completion.ids, `${family} ${variant}`).toEqual(expected[i])
      }
    })
  },
)
