// The best-by-GT checkpoint tag, on hand-made metrics in a real store: it follows the best held-out accuracy
// (mean over the val-core sources) among steps with a checkpoint, and retention keeps the tagged checkpoint.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { pruneCheckpoints } from '../../main/services/run-owner'
import {
  addCheckpoint,
  BEST_GT_TAG,
  BEST_SELF_TAG,
  listRunCheckpoints,
  refreshBestCheckpointTag,
  refreshBestSelfTag,
  refreshBestTags,
} from '../../main/store/checkpoints'
import { createRun } from '../../main/store/runs'
import { recordStep } from '../../main/store/steps'
import { freshStores } from '../helpers/stores'
import { freshDirs } from '../helpers/workspace'

const openStore = freshStores()
const folder = freshDirs()

function runWith(steps: Record<number, Record<string, number>>): { store: ReturnType<typeof openStore>; run: number } {
  const store = openStore()
  const run = createRun(store.db, { name: 'gt', mode: 'ground_truth', config: {}, seed: 1 })
  for (const [step, metrics] of Object.entries(steps)) {
    recordStep(store.db, run, { step: Number(step), wallTime: Number(step), tokens: 0, metrics })
  }
  return { store, run }
}

const tagged = (store: ReturnType<typeof openStore>, run: number): number[] =>
  listRunCheckpoints(store.db, run)
    .filter((c) => c.tags.includes(BEST_GT_TAG))
    .map((c) => c.step)

const A = 'val-core/gsm8k/reward/mean@1'
const B = 'val-core/math500/reward/mean@1'

describe('the best-by-GT checkpoint tag', () => {
  it('goes to the checkpoint whose step has the best mean held-out accuracy over the sources', () => {
    // means: step 2 = (0.5 + 0.1) / 2 = 0.30; step 4 = (0.2 + 0.6) / 2 = 0.40; step 6 = (0.7 + 0.0) / 2 = 0.35
    const { store, run } = runWith({
      2: { [A]: 0.5, [B]: 0.1, 'critic/score/mean': 0.9 },
      4: { [A]: 0.2, [B]: 0.6 },
      6: { [A]: 0.7, [B]: 0.0 },
    })
    for (const step of [2, 4, 6]) addCheckpoint(store.db, run, step, `/ckpt/${step}`)
    expect(refreshBestCheckpointTag(store.db, run)).toBe(4)
    expect(tagged(store, run)).toEqual([4])
  })

  it('only counts steps that have a checkpoint, moves the tag when a better one arrives, and keeps other tags', () => {
    // step 3 is the best validation (0.9) but has no checkpoint
    const { store, run } = runWith({ 2: { [A]: 0.4 }, 3: { [A]: 0.9 }, 4: { [A]: 0.3 }, 5: { [A]: 0.5 } })
    addCheckpoint(store.db, run, 2, '/ckpt/2', ['paper'])
    addCheckpoint(store.db, run, 4, '/ckpt/4')
    expect(refreshBestCheckpointTag(store.db, run)).toBe(2)
    addCheckpoint(store.db, run, 5, '/ckpt/5')
    expect(refreshBestCheckpointTag(store.db, run)).toBe(5)
    expect(listRunCheckpoints(store.db, run).map((c) => [c.step, c.tags])).toEqual([
      [2, ['paper']],
      [4, []],
      [5, [BEST_GT_TAG]],
    ])
  })

  it('tags no checkpoint on a tie at the top and skips NaN accuracies; no validation at a checkpoint tags nothing', () => {
    const { store, run } = runWith({ 2: { [A]: 0.5 }, 4: { [A]: 0.5 }, 6: { [A]: NaN } })
    for (const step of [2, 4, 6]) addCheckpoint(store.db, run, step, `/ckpt/${step}`)
    expect(refreshBestCheckpointTag(store.db, run)).toBeNull()
    expect(tagged(store, run)).toEqual([])
    const bare = runWith({ 1: { 'critic/score/mean': 1 } })
    addCheckpoint(bare.store.db, bare.run, 1, '/ckpt/1')
    expect(refreshBestCheckpointTag(bare.store.db, bare.run)).toBeNull()
    expect(tagged(bare.store, bare.run)).toEqual([])
  })

  it('counts the base model (step 0): a run validated only at its last step, 25% -> 20%, has best-GT step 0', () => {
    const { store, run } = runWith({
      0: { [A]: 0.25 },
      1: { 'critic/score/mean': 0.1 },
      2: { [A]: 0.2, 'critic/score/mean': 0.6 },
    })
    for (const step of [1, 2]) addCheckpoint(store.db, run, step, `/ckpt/${step}`)
    expect(refreshBestCheckpointTag(store.db, run)).toBe(0)
    expect(tagged(store, run)).toEqual([])
  })

  it('gives best-self only to validated steps: a higher training score at an unvalidated checkpoint does not count', () => {
    const { store, run } = runWith({
      0: { [A]: 0.25 },
      1: { 'critic/score/mean': 0.9 },
      2: { [A]: 0.2, 'critic/score/mean': 0.6 },
    })
    for (const step of [1, 2]) addCheckpoint(store.db, run, step, `/ckpt/${step}`)
    expect(refreshBestSelfTag(store.db, run)).toBe(2)
  })

  it('tags no best-self on a tie of training scores (0.375 at two validated steps)', () => {
    const { store, run } = runWith({ 1: { [A]: 0.5, 'critic/score/mean': 0.375 }, 2: { [A]: 0.25, 'critic/score/mean': 0.375 } })
    for (const step of [1, 2]) addCheckpoint(store.db, run, step, `/ckpt/${step}`)
    expect(refreshBestSelfTag(store.db, run)).toBeNull()
  })

  it('is kept by retention: keep 1 keeps the last checkpoint and the tagged best one, deleting the rest', () => {
    const dir = folder()
    const { store, run } = runWith({ 1: { [A]: 0.2 }, 2: { [A]: 0.8 }, 3: { [A]: 0.1 }, 4: { [A]: 0.3 } })
    for (const step of [1, 2, 3, 4]) {
      const path = join(dir, `step-${step}`)
      mkdirSync(path)
      writeFileSync(join(path, 'model.safetensors'), Buffer.alloc(1000))
      addCheckpoint(store.db, run, step, path)
    }
    refreshBestCheckpointTag(store.db, run)
    expect(pruneCheckpoints(store.db, run, 1)).toEqual({ removed: [1, 3], freedBytes: 2000 })
    expect(listRunCheckpoints(store.db, run).map((c) => c.step)).toEqual([2, 4])
    expect(existsSync(join(dir, 'step-1'))).toBe(false)
    expect(existsSync(join(dir, 'step-2', 'model.safetensors'))).toBe(true)
  })

  it('has a twin for the self-reward: best-self follows critic/score/mean, and retention keeps both best checkpoints', () => {
    const dir = folder()
    // GT is best at step 2 (0.8); the training score peaks at step 3 (0.9): the reward-hacking gap, kept on disk.
    const { store, run } = runWith({
      1: { [A]: 0.2, 'critic/score/mean': 0.1 },
      2: { [A]: 0.8, 'critic/score/mean': 0.4 },
      3: { [A]: 0.1, 'critic/score/mean': 0.9 },
      4: { [A]: 0.3, 'critic/score/mean': 0.5 },
      5: { [A]: 0.3, 'critic/score/mean': 0.2 },
    })
    for (const step of [1, 2, 3, 4, 5]) {
      const path = join(dir, `step-${step}`)
      mkdirSync(path)
      addCheckpoint(store.db, run, step, path)
    }
    expect(refreshBestSelfTag(store.db, run)).toBe(3)
    refreshBestTags(store.db, run)
    expect(listRunCheckpoints(store.db, run).map((c) => [c.step, c.tags])).toEqual([
      [1, []],
      [2, [BEST_GT_TAG]],
      [3, [BEST_SELF_TAG]],
      [4, []],
      [5, []],
    ])
    expect(pruneCheckpoints(store.db, run, 1).removed).toEqual([1, 4])
    expect(listRunCheckpoints(store.db, run).map((c) => c.step)).toEqual([2, 3, 5])
  })
})
