import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cwb } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()

describe('cwb pretrain', () => {
  it('writes a loadable checkpoint, byte-identical for the same seed on wasm, with its evaluation in trainer_state.json', () => {
    const run = (out: string, seed: number): void => {
      const args = [
        'pretrain',
        '--out',
        out,
        '--steps',
        '2',
        '--batch-size',
        '4',
        '--eval-questions',
        '4',
        '--eval-every',
        '1',
        '--seed',
        String(seed),
        // Step 2 mixes in direct answers (step 1 is worked solutions only).
        '--direct-from',
        '2',
        '--direct-share',
        '0.5',
      ]
      const result = cwb(args, { CWB_BACKEND: 'wasm' })
      expect(result.stderr).toContain('step 2/2')
      expect(result.code).toBe(0)
    }
    const [a, b, c] = [folder(), folder(), folder()].map((dir) => join(dir, 'model'))
    run(a!, 3)
    run(b!, 3)
    run(c!, 4)
    const weights = (dir: string): Buffer => readFileSync(join(dir, 'model.safetensors'))
    expect(weights(a!).equals(weights(b!))).toBe(true)
    expect(weights(a!).equals(weights(c!))).toBe(false)
    const state = JSON.parse(readFileSync(join(a!, 'trainer_state.json'), 'utf8')) as {
      kind: string
      steps: number
      evaluation: { questions: number }
      command: string
    }
    expect(state).toMatchObject({
      kind: 'pretraining',
      steps: 2,
      direct_share: 0.5,
      direct_from: 2,
      evaluation: { questions: 4 },
    })
    expect(state.command).toContain('--direct-share 0.5 --direct-from 2')
    const generated = cwb([
      'generate',
      '--checkpoint',
      a!,
      '--prompt',
      'Ann has 4 cups and buys 3 more. How many cups does she have?',
      '--json',
    ])
    expect(generated.code).toBe(0)
  })
})
