import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { cwb, lastJson } from '../helpers/cli'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()
type Generated = { checkpoint: string; completions: { text: string; answer: string; tokens: number; finished: boolean }[] }

beforeAll(async () => {
  await useBackend('wasm')
})

describe('cwb generate', () => {
  it('prints N completions with their extracted answers, the same ones for the same seed', () => {
    const checkpoint = join(folder(), 'tiny')
    writeTinyCheckpoint(checkpoint)
    const args = [
      'generate',
      '--checkpoint',
      checkpoint,
      '--prompt',
      'Tom has 3 apples and buys 5 more. How many apples does he have?',
      '--samples',
      '3',
      '--seed',
      '4',
      '--json',
    ]
    const first = cwb(args)
    expect(first.stderr).toContain('Generating 3 completion(s)')
    expect(first.code).toBe(0)
    const result = lastJson<Generated>(first.stdout)
    expect(result.checkpoint).toBe(checkpoint)
    expect(result.completions).toHaveLength(3)
    for (const completion of result.completions) {
      expect(completion.tokens).toBeLessThanOrEqual(32)
      expect(typeof completion.answer).toBe('string')
    }
    expect(lastJson(cwb(args).stdout)).toEqual(result)
    const text = cwb(args.filter((a) => a !== '--json')).stdout
    expect(text).toMatch(/^#1 {2}answer: /)
  })

  it('gives the same greedy completion with onnxruntime as with tfjs', () => {
    const checkpoint = join(folder(), 'tiny')
    writeTinyCheckpoint(checkpoint, 9)
    const args = [
      'generate',
      '--checkpoint',
      checkpoint,
      '--prompt',
      'Mia has 7 pens. She gives 2 away. How many pens are left?',
      '--temperature',
      '0',
      '--json',
    ]
    const tfjs = lastJson<Generated>(cwb([...args, '--engine', 'tfjs']).stdout)
    const onnx = lastJson<Generated>(cwb([...args, '--engine', 'onnx']).stdout)
    expect(onnx.completions).toEqual(tfjs.completions)
  })

  it('names the file and the problem for a checkpoint it cannot use', () => {
    const checkpoint = join(folder(), 'tiny')
    writeTinyCheckpoint(checkpoint)
    const config = JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(checkpoint, 'config.json'), JSON.stringify({ ...config, model_type: 'llama' }))
    const wrongType = cwb(['generate', '--checkpoint', checkpoint, '--prompt', 'hi'])
    expect(wrongType.code).toBe(1)
    expect(wrongType.stderr).toMatch(/model_type "llama".*cwb-gpt/)
    expect(wrongType.stderr.trimEnd().split('\n')).toHaveLength(1)

    writeFileSync(join(checkpoint, 'config.json'), JSON.stringify({ ...config, vocab_size: 100 }))
    const mismatch = cwb(['generate', '--checkpoint', checkpoint, '--prompt', 'hi'])
    expect(mismatch.code).toBe(1)
    expect(mismatch.stderr).toMatch(/config\.json|tokenizer/)

    expect(cwb(['generate', '--checkpoint', join(folder(), 'nowhere'), '--prompt', 'hi']).stderr).toMatch(
      /No checkpoint folder .*nowhere/,
    )
  })

  it('refuses a prompt longer than the model context, saying what to do', () => {
    const checkpoint = join(folder(), 'tiny')
    writeTinyCheckpoint(checkpoint)
    const result = cwb(['generate', '--checkpoint', checkpoint, '--prompt', 'Tom has 3 apples. '.repeat(20)])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/would pass the model's context of 80 tokens .*shorten the question or lower --max-new-tokens/)
  })

  it('is a usage error without --prompt', () => {
    expect(cwb(['generate']).code).toBe(2)
  })
})
