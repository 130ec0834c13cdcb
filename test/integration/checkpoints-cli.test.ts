// `cwb checkpoints`, `cwb diff` and `cwb export-model` on a tiny Co-rewarding-II run trained by the real trainer,
// against the shipped base model; the real store, engine, onnxruntime and files.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BehaviourDiffResult, CheckpointTable } from '../../preload/contract'
import { loadModel } from '../../main/engine/model/load'
import { addCheckpoint, BEST_GT_TAG, listRunCheckpoints } from '../../main/store/checkpoints'
import { metricSeries } from '../../main/store/metrics'
import { createRun } from '../../main/store/runs'
import { recordStep } from '../../main/store/steps'
import { Store } from '../../main/store/store'
import { cwb, lastJson, root } from '../helpers/cli'
import { trainedWorkspace, type TrainedWorkspace } from './checkpoints-fixture'

let trained: TrainedWorkspace
const baseModel = join(root, 'resources/base-model')
const at = (args: string[]) => cwb([...args, '--workspace', trained.dir])

beforeAll(() => {
  trained = trainedWorkspace()
}, 120_000)
afterAll(() => trained?.remove())

describe('cwb checkpoints', () => {
  it("lists each checkpoint with the run's metrics at its step and the computed tags", () => {
    const listed = lastJson<CheckpointTable>(at(['checkpoints', '1', '--json']).stdout)
    const store = new Store(join(trained.dir, 'workbench.db'))
    const series = metricSeries(store.db, 1)
    const stored = listRunCheckpoints(store.db, 1)
    store.close()
    const valueAt = (key: string, step: number): number | undefined => series[key]!.find(([s]) => s === step)?.[1] ?? undefined
    expect(listed).toMatchObject({ run: 1, runName: 'tiny-co2', mode: 'co_rewarding_ii', startCheckpoint: trained.tiny })
    expect(listed.checkpoints.map((c) => c.step)).toEqual([1, 2, 3])
    for (const c of listed.checkpoints) {
      expect(c.heldOut).toBe(valueAt('val-core/demo-arithmetic/reward/mean@1', c.step))
      expect(c.selfReward).toBe(valueAt('critic/score/mean', c.step))
      expect(c.pseudoAcc).toBe(valueAt('coreward/pseudo_acc', c.step))
      expect(c).toMatchObject({ hasTeacher: true, missing: false })
      expect(c.bytes).toBeGreaterThan(0)
    }
    // The candidates are the validated steps, the base model's (step 0) among them; best-gt agrees with the tag the
    // run owner keeps (none when the base or a tie is best), and best-self is the one highest critic score, if unique.
    expect(listed.validatedSteps).toEqual([0, 1, 2, 3])
    expect(listed.questionsPerSource).toBe(4)
    const taggedBest = stored.find((c) => c.tags.includes(BEST_GT_TAG))?.step
    expect(listed.bestGt === 0 || listed.bestGt === null ? undefined : listed.bestGt).toBe(taggedBest)
    const scores = listed.checkpoints.map((c) => c.selfReward!)
    const topScored = listed.checkpoints.filter((c) => c.selfReward === Math.max(...scores))
    expect(listed.bestSelf).toBe(topScored.length === 1 ? topScored[0]!.step : null)
    expect(listed.checkpoints.find((c) => c.step === 3)!.tags).toContain('latest')
    for (const c of listed.checkpoints) {
      expect(c.tags.includes('best-gt'), `step ${c.step}`).toBe(c.step === listed.bestGt)
      expect(c.tags.includes('best-self'), `step ${c.step}`).toBe(c.step === listed.bestSelf)
    }
    // The printed warning and its structured form go together.
    expect(listed.warning === null).toBe(listed.rewardHacking === null)

    const human = at(['checkpoints', 'tiny-co2'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^Run 1 "tiny-co2" \(co_rewarding_ii\): 3 checkpoint\(s\)/)
    expect(human.stdout).toMatch(/STEP\s+HELD-OUT\s+SELF-REWARD\s+PSEUDO-ACC\s+TAGS\s+PATH/)
    expect(human.stdout).toContain(join(trained.dir, 'runs/1/checkpoints/step-2'))
  })

  /** A run written straight into the store (its checkpoints reuse real folders): held-out and score by step. */
  function hackedRun(name: string, questions: number, points: readonly (readonly [number, number | null, number])[]): void {
    const store = new Store(join(trained.dir, 'workbench.db'))
    const config = { dataset: 'demo-arithmetic', validation: { every: 1, questions } }
    const run = createRun(store.db, { name, mode: 'majority_voting', config, seed: 1 })
    for (const [step, heldOut, reward] of points) {
      const validation: Record<string, number> = heldOut === null ? {} : { 'val-core/a/reward/mean@1': heldOut }
      recordStep(store.db, run, {
        step,
        wallTime: step,
        tokens: step * 100,
        metrics: { ...validation, 'critic/score/mean': reward },
      })
      if (step > 0) addCheckpoint(store.db, run, step, join(trained.dir, `runs/1/checkpoints/step-${step}`))
    }
    store.close()
  }
  const lastLine = (name: string): string => at(['checkpoints', name]).stdout.trimEnd().split('\n').at(-1)!
  const listedRun = (name: string) => lastJson<CheckpointTable>(at(['checkpoints', name, '--json']).stdout)

  it('warns of possible reward hacking when the two bests differ by more than sampling error (60/200 vs 30/200)', () => {
    hackedRun('hacked', 200, [
      [1, 0.2, 0.3],
      [2, 0.3, 0.6],
      [3, 0.15, 0.9],
    ])
    expect(lastLine('hacked')).toBe(
      'best by GT (step 2: 60/200 = 30.0% held-out) and best by self-reward (step 3: 30/200 = 15.0%) differ by more ' +
        'than sampling error (two-proportion z = 3.59 > 1.96, 95%): possible reward hacking. Judged on the 3 validated ' +
        'step(s) (base model and checkpoints) of 200 held-out question(s) each.',
    )
    const listed = listedRun('hacked')
    expect(listed).toMatchObject({ bestGt: 2, bestSelf: 3, rewardHacking: { z: expect.closeTo(3.592, 3) as number } })
    expect(listed.checkpoints.map((c) => Number(c.heldOut!.toFixed(9)))).toEqual([0.2, 0.3, 0.15])
    expect(at(['checkpoints', 'no-such-run']).stderr).toMatch(/No run "no-such-run"/)
  })

  it('does not warn on 5/16 vs 3/16 (within sampling error) nor on a tie of training scores (0.375 and 0.375)', () => {
    hackedRun('small-gap', 16, [
      [1, 5 / 16, 0.3],
      [2, 3 / 16, 0.9],
    ])
    expect(listedRun('small-gap')).toMatchObject({ bestGt: 1, bestSelf: 2, rewardHacking: null, warning: null })
    expect(lastLine('small-gap')).not.toMatch(/reward hacking/)
    hackedRun('tied', 200, [
      [1, 0.6, 0.375],
      [2, 0.1, 0.375],
    ])
    expect(listedRun('tied')).toMatchObject({ bestGt: 1, bestSelf: null, warning: null })
    expect(lastLine('tied')).not.toMatch(/reward hacking/)
  })

  it('makes the base model best-GT, tagging no checkpoint, when a run validated only at its last step fell 25% -> 20%', () => {
    hackedRun('last-only', 200, [
      [0, 0.25, 0],
      [1, null, 0.9],
      [2, 0.2, 0.5],
    ])
    const listed = listedRun('last-only')
    expect(listed).toMatchObject({ bestGt: 0, bestSelf: 2, validatedSteps: [0, 2], warning: null })
    expect(listed.checkpoints.map((c) => [c.step, c.tags])).toEqual([
      [1, []],
      [2, ['best-self', 'latest']],
    ])
    expect(at(['checkpoints', 'last-only']).stdout).not.toMatch(/best-gt/)
  })
})

describe('cwb diff', () => {
  it('compares the shipped base model with a trained checkpoint on 4 held-out questions, the same way every time', () => {
    const json = at(['diff', baseModel, '1:3', '--probe', '4', '--samples', '2', '--json'])
    expect(json.code).toBe(0)
    const result = lastJson<BehaviourDiffResult>(json.stdout)
    expect(result).toMatchObject({
      a: { path: baseModel },
      b: { label: 'tiny-co2:3' },
      dataset: 'demo-arithmetic',
      split: 'validation',
    })
    expect(result.rows).toHaveLength(4)
    const { summary } = result
    const count = (predicate: (row: BehaviourDiffResult['rows'][number]) => boolean): number =>
      result.rows.filter(predicate).length
    expect(summary).toMatchObject({
      questions: 4,
      labelled: 4,
      samples: 2,
      a: { correct: count((row) => row.a.correct === true) },
      b: { correct: count((row) => row.b.correct === true) },
      correctToWrong: count((row) => row.a.correct === true && row.b.correct === false),
      wrongToCorrect: count((row) => row.a.correct === false && row.b.correct === true),
    })
    for (const row of result.rows) {
      expect(row.gt).not.toBeNull()
      expect(row.a.samples).toHaveLength(2)
      expect(row.a.greedy.tokens).toBeGreaterThan(0)
      expect(row.a.greedy.entropy).toBeGreaterThanOrEqual(0)
    }
    // The untrained tiny model and the pretrained base model answer differently.
    expect(summary.a.correct).toBeGreaterThan(summary.b.correct)

    const human = at(['diff', baseModel, '1:3', '--probe', '4', '--samples', '2'])
    expect(human.stdout).toContain(summary.line)
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe(
      `A correct: ${summary.a.correct}/4, B correct: ${summary.b.correct}/4, flipped correct->wrong: ${summary.correctToWrong}, wrong->correct: ${summary.wrongToCorrect}`,
    )
    expect(human.stdout).toContain(`Flipped correct->wrong (${summary.correctToWrong})`)
    for (const row of result.rows.filter((r) => r.flip === 'correct->wrong'))
      expect(human.stdout).toContain(`#${row.index + 1} record ${row.record}`)
    // Fixed seeds: the same answers on a second run.
    expect(
      lastJson<BehaviourDiffResult>(at(['diff', baseModel, '1:3', '--probe', '4', '--samples', '2', '--json']).stdout),
    ).toEqual(result)
  })

  it('compares a Co-rewarding-II checkpoint with its own EMA teacher, and refuses a checkpoint that has none', () => {
    const teacher = lastJson<BehaviourDiffResult>(
      at(['diff', '1:2', '--teacher', '--probe', '2', '--samples', '0', '--json']).stdout,
    )
    expect(teacher.b.label).toBe('EMA teacher of tiny-co2:2')
    expect(teacher.summary).toMatchObject({ questions: 2, samples: 0 })
    const none = at(['diff', 'base', '--teacher', '--probe', '2'])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/base model has no EMA teacher \(teacher\.safetensors\)/)
    expect(at(['diff', '1:2']).code).toBe(2)
    expect(at(['diff', '1:2', '1:3', '--teacher']).stderr).toMatch(/B or --teacher, not both/)
  })

  it('names what is wrong with a checkpoint or dataset it cannot use', () => {
    expect(at(['diff', '1:7', '1:3']).stderr).toMatch(/has checkpoints at steps 1, 2, 3/)
    expect(at(['diff', baseModel, trained.tiny, '--probe', '2']).stderr).toMatch(/name a dataset \(--dataset\)/)
    expect(at(['diff', baseModel, trained.tiny, '--dataset', 'nope']).stderr).toMatch(
      /no dataset "nope" in this workspace; it has demo-arithmetic/,
    )
  })
})

describe('cwb export-model', () => {
  it('writes an ONNX model and checks it by running it with onnxruntime-node against the engine', () => {
    const result = lastJson<{ file: string; check: { ok: boolean; maxAbsDiff: number; positions: number } }>(
      at(['export-model', '1:3', '--json']).stdout,
    )
    expect(result.file).toBe(join(trained.dir, 'exports', 'tiny-co2-step-3.onnx'))
    expect(existsSync(result.file)).toBe(true)
    expect(result.check.ok).toBe(true)
    expect(result.check.maxAbsDiff).toBeLessThan(1e-3)
    expect(result.check.positions).toBeGreaterThan(4)
  })

  it('writes a plain Hugging Face folder the engine loads, without the workbench extras', () => {
    const out = join(trained.dir, 'hf-teacher')
    expect(at(['export-model', '1:3', '--format', 'hf', '--teacher', '--out', out]).code).toBe(0)
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'])
    const teacher = loadModel(out)
    const student = loadModel(join(trained.dir, 'runs/1/checkpoints/step-3'), { extraTensors: ['teacher.safetensors'] })
    expect(teacher.transformer.toArrays()['ln_f.weight']).toEqual(
      student.extraTensors['teacher.safetensors']!['ln_f.weight']!.data,
    )
    teacher.transformer.dispose()
    student.transformer.dispose()
    expect(at(['export-model', '1:3', '--format', 'hf', '--out', out]).stderr).toMatch(/exists and is not an empty folder/)
    expect(at(['export-model', '1:3', '--format', 'hf']).code).toBe(2)
  })
})
