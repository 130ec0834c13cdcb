// `cwb bundle` / `cwb unbundle`: a trained run moves to another workspace with its metrics, samples, alerts and
// chosen checkpoints, and the moved checkpoint still loads.
import Database from 'better-sqlite3'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cwb, lastJson } from '../helpers/cli'
import { writeTinyRun } from '../helpers/tiny-model'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()

function dump(workspace: string, run: number): Record<string, unknown> {
  const db = new Database(join(workspace, 'workbench.db'), { readonly: true })
  try {
    return {
      run: db.prepare('SELECT name, mode, config, status, seed, notes, tags FROM runs WHERE id = ?').get(run),
      metrics: db.prepare('SELECT step, key, value, wall_time, tokens FROM metrics WHERE run_id = ? ORDER BY step, key').all(run),
      samples: db
        .prepare(
          'SELECT step, group_index, view, prompt, text, answer, pseudo_label, reward, advantage FROM samples WHERE run_id = ? ORDER BY id',
        )
        .all(run),
      events: db.prepare('SELECT level, kind, step, message, data FROM events WHERE run_id = ? ORDER BY id').all(run),
    }
  } finally {
    db.close()
  }
}

describe('cwb bundle and unbundle', () => {
  it('moves a trained run with its tagged checkpoints to another workspace', () => {
    const source = freshDir()
    const config = writeTinyRun(source, 'tiny-mv', { mode: 'majority_voting', steps: 2, checkpoint_every: 1 })
    const trained = cwb(['train', '--config', config, '--workspace', source, '--json'], { CWB_DEMO: '' })
    expect(trained.code, trained.stderr).toBe(0)
    const file = join(freshDir(), 'tiny-mv.tgz')
    const bundled = cwb(['bundle', '1', '--out', file, '--workspace', source, '--json'])
    expect(bundled.code, bundled.stderr).toBe(0)
    expect(lastJson(bundled.stdout)).toMatchObject({ run: 1, checkpoints: [2] }) // only the tagged (latest) one by default

    const target = freshDir()
    const unbundled = cwb(['unbundle', file, '--workspace', target, '--json'])
    expect(unbundled.code, unbundled.stderr).toBe(0)
    expect(lastJson(unbundled.stdout)).toEqual({ run: 1, name: 'tiny-mv', checkpoints: [2] })
    expect(dump(target, 1)).toEqual(dump(source, 1))
    // The moved checkpoint is a working checkpoint in the new workspace.
    const checkpoint = join(target, 'runs', '1', 'checkpoints', 'step-2')
    expect(existsSync(join(checkpoint, 'model.safetensors'))).toBe(true)
    const generated = cwb([
      'generate',
      '--checkpoint',
      '1:2',
      '--prompt',
      'Ann has 2 pens.',
      '--max-new-tokens',
      '4',
      '--workspace',
      target,
    ])
    expect(generated.code, generated.stderr).toBe(0)
  })

  it('refuses a file that is not a bundle, leaving the workspace as it was', () => {
    const target = freshDir()
    const bogus = join(freshDir(), 'bogus.tgz')
    writeFileSync(bogus, 'not a tarball')
    const result = cwb(['unbundle', bogus, '--workspace', target])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/bogus\.tgz: not a readable run bundle/)
    expect(JSON.parse(cwb(['runs', '--workspace', target, '--json']).stdout.trim().split('\n').at(-1)!).runs).toEqual([])
  })
})
