// The shipped base model is in the regime where label-free RL has something to work with (issue 16): measured
// exactly as a user would, `cwb eval resources/base-model --dataset demo-arithmetic --split validation --samples 8
// --json` (T=1, seed 0, at most 32 new tokens) on a fresh workspace.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { assertBuilt, cliPath, lastJson, root } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()

describe('the shipped base model', () => {
  it('is in the label-free regime: maj@8 >= 0.60, maj@8 - avg@8 >= 0.10, pass@8 >= 0.85, greedy <= 0.70', () => {
    assertBuilt()
    const result = spawnSync(
      process.execPath,
      [
        cliPath,
        'eval',
        join(root, 'resources', 'base-model'),
        '--dataset',
        'demo-arithmetic',
        '--split',
        'validation',
        '--samples',
        '8',
        '--json',
        '--workspace',
        folder(),
      ],
      { cwd: root, encoding: 'utf8', env: { ...process.env, CWB_WORKSPACE: '', CWB_DEMO: '1' }, timeout: 300_000 },
    )
    expect(result.stderr).not.toMatch(/error/i)
    expect(result.status).toBe(0)
    const scores = lastJson<Record<string, number>>(result.stdout)
    expect(scores).toMatchObject({ questions: 200 })
    // The shipped model's numbers on this machine (README): pass@1 0.61, avg@8 0.496, maj@8 0.74, pass@8 0.89.
    // The bounds keep a 3-point margin, since other CPUs and engines round differently.
    expect(scores['maj@8']).toBeGreaterThanOrEqual(0.63)
    expect(scores['maj@8']! - scores['avg@8']!).toBeGreaterThanOrEqual(0.13)
    expect(scores['pass@8']).toBeGreaterThanOrEqual(0.88)
    expect(scores['pass@1']).toBeLessThanOrEqual(0.67)
  }, 300_000)
})
