// Numerical faults (issue 9): a NaN or infinite loss, or NaN weights, stop the run with an error naming the step,
// the last good checkpoint stays the latest (no checkpoint is ever written with NaN weights), the run's error event
// says what happened and at which step, and the run resumes from that checkpoint. Faults are injected through the
// trainer's test-only CWB_FAULT knob (main/engine/trainer/faults.ts) into a real `cwb train` of a tiny model.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseFault } from '../../main/engine/trainer/faults'
import { loadModel } from '../../main/engine/model/load'
import { listRunCheckpoints } from '../../main/store/checkpoints'
import { runEvents } from '../../main/store/events'
import { metricSeries } from '../../main/store/metrics'
import { getRun } from '../../main/store/runs'
import { Store } from '../../main/store/store'
import { cliPath, root } from '../helpers/cli'
import { writeTinyRun } from '../helpers/tiny-model'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()

function setUp(): { workspace: string; config: string } {
  const workspace = folder()
  return { workspace, config: writeTinyRun(workspace, 'faulty', { steps: 5, rollouts: 2, max_response_tokens: 6 }) }
}

function train(args: string[], fault = ''): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliPath, 'train', ...args, '--json'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CWB_WORKSPACE: '', CWB_DEMO: '', CWB_FAULT: fault },
    timeout: 120_000,
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** Whether every weight of the checkpoint (and its optimizer state) is finite. */
function finiteCheckpoint(path: string): boolean {
  const model = loadModel(path, { extraTensors: ['optimizer.safetensors'] })
  const arrays = [
    ...Object.values(model.transformer.toArrays()),
    ...Object.values(model.extraTensors['optimizer.safetensors']!).map((t) => t.data as Float32Array),
  ]
  model.transformer.dispose()
  return arrays.every((data) => data.every(Number.isFinite))
}

describe('numerical faults', () => {
  it.each([
    ['nan-loss', /numerical fault at step 3: the loss is NaN/],
    ['inf-loss', /numerical fault at step 3: the loss is Infinity/],
    ['nan-weights', /numerical fault at step 3: weight \S+ is not finite after the update/],
  ])(
    '%s at step 3 stops the run naming the step, keeps checkpoint 2, and the run resumes',
    (kind, expected) => {
      const { workspace, config } = setUp()
      const failed = train(['--config', config, '--workspace', workspace], `${kind}@3`)
      expect(failed.code).toBe(1)
      expect(failed.stderr).toMatch(expected)
      expect(failed.stderr).toMatch(/its last good checkpoint is step 2/)
      const store = new Store(join(workspace, 'workbench.db'))
      expect(getRun(store.db, 1)!.status).toBe('failed')
      // Step 3 never reached the store: a step is stored whole or not at all.
      expect(metricSeries(store.db, 1)['actor/pg_loss']!.map(([step]) => step)).toEqual([1, 2])
      expect(listRunCheckpoints(store.db, 1).map((c) => c.step)).toEqual([2])
      const error = runEvents(store.db, 1).filter((e) => e.level === 'error')
      expect(error).toHaveLength(1)
      expect(error[0]).toMatchObject({ step: 3, message: expect.stringMatching(expected) })
      store.close()
      expect(readdirSync(join(workspace, 'runs', '1', 'checkpoints'))).toEqual(['step-2'])
      expect(finiteCheckpoint(join(workspace, 'runs', '1', 'checkpoints', 'step-2'))).toBe(true)

      // A transient fault: resuming from the last good checkpoint finishes the run.
      const resumed = train(['--resume', '1', '--workspace', workspace])
      expect(resumed.stderr).toContain('Resuming run 1 from step 2')
      expect(resumed.code).toBe(0)
      const after = new Store(join(workspace, 'workbench.db'))
      expect(getRun(after.db, 1)!.status).toBe('finished')
      expect(metricSeries(after.db, 1)['actor/pg_loss']!.map(([step]) => step)).toEqual([1, 2, 3, 4, 5])
      after.close()
    },
    120_000,
  )

  it('never writes a checkpoint with NaN weights: a fault at a checkpoint step leaves no checkpoint of it', () => {
    const { workspace, config } = setUp()
    const failed = train(['--config', config, '--workspace', workspace], 'nan-weights@2')
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(
      /numerical fault at step 2: weight \S+ is not finite after the update\. The run stops; it has no checkpoint yet/,
    )
    expect(existsSync(join(workspace, 'runs', '1', 'checkpoints', 'step-2'))).toBe(false)
    const store = new Store(join(workspace, 'workbench.db'))
    expect(listRunCheckpoints(store.db, 1)).toEqual([])
    expect(metricSeries(store.db, 1)['actor/pg_loss']!.map(([step]) => step)).toEqual([1])
    store.close()
  }, 60_000)

  it('refuses a CWB_FAULT it does not know, so a typo cannot pass for a clean run', () => {
    expect(parseFault(undefined)).toBeUndefined()
    expect(parseFault('nan-loss@3')).toEqual({ kind: 'nan-loss', step: 3 })
    expect(parseFault('kill-owner@4:commit+2')).toEqual({ kind: 'kill-owner', step: 4, phase: 'commit', delayMs: 2 })
    expect(() => parseFault('nan-los@3')).toThrow(/CWB_FAULT=nan-los@3: not a fault; expected nan-loss@STEP/)
    expect(() => parseFault('kill-owner@4:sleeping')).toThrow(/test-only setting/)
  })
})
