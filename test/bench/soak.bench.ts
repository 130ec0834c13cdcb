// Soak: 2,000 steps of a tiny model in one run of the built `cwb train`, with the trainer's memory sampled every 50
// steps from the metrics it logs every step (perf/rss_mb: the trainer process's RSS; perf/tensors: tfjs's live
// tensors). The tensor count must not move at all after step 200. RSS is judged over the second half: V8 lets the
// trainer's heap fill with garbage until its first full collection (at about step 750 here, `--trace-gc` shows about
// 126 MB collected down to 37 MB), so RSS climbs until then and drops; after that it must grow less than 10%, and end
// no higher than its peak during warm-up. A leak of even 0.05 MB a step would fail both.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { metricSeries } from '../../main/store/metrics'
import { Store } from '../../main/store/store'
import { cliPath, root } from '../helpers/cli'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { tempDir } from '../helpers/workspace'

const STEPS = Number(process.env.CWB_SOAK_STEPS ?? 2000)
const EVERY = 50
const TENSORS_WARM_UP = 200
const RSS_WARM_UP = STEPS / 2

it(`soak: ${STEPS} steps of a tiny model, memory flat after warm-up`, () => {
  const { dir, remove } = tempDir('cwb-soak-')
  writeTinyCheckpoint(join(dir, 'tiny'))
  const config = join(dir, 'run.json')
  writeFileSync(
    config,
    JSON.stringify({
      name: 'soak',
      mode: 'co_rewarding_ii',
      checkpoint: join(dir, 'tiny'),
      steps: STEPS,
      batch_size: 2,
      rollouts: 2,
      max_response_tokens: 6,
      validation: { every: 500, questions: 8 },
      checkpoint_every: 250,
      keep_checkpoints: 2,
      micro_batch_size: 8,
      sample_groups: 1,
    }),
  )
  const started = performance.now()
  const result = spawnSync(process.execPath, [cliPath, 'train', '--config', config, '--workspace', dir], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CWB_WORKSPACE: '', CWB_DEMO: '' },
  })
  const seconds = (performance.now() - started) / 1000
  expect(result.status, result.stderr.slice(-2000)).toBe(0)
  const store = new Store(join(dir, 'workbench.db'))
  const series = metricSeries(store.db, 1, ['perf/rss_mb', 'perf/tensors'])
  store.close()
  remove()
  const at = (key: string, step: number): number => series[key]!.find(([s]) => s === step)![1]!
  const samples = Array.from({ length: STEPS / EVERY }, (_, i) => (i + 1) * EVERY).map((step) => ({
    step,
    rss: at('perf/rss_mb', step),
    tensors: at('perf/tensors', step),
  }))
  const warm = samples.find((s) => s.step === RSS_WARM_UP)!
  const after = samples.filter((s) => s.step >= RSS_WARM_UP)
  const before = samples.filter((s) => s.step < RSS_WARM_UP)
  const rssGrowth = (Math.max(...after.map((s) => s.rss)) - warm.rss) / warm.rss
  const tensorCounts = new Set(samples.filter((s) => s.step >= TENSORS_WARM_UP).map((s) => s.tensors))
  const lines = [['step', 'RSS MB', 'tensors'], ...samples.map((s) => [String(s.step), s.rss.toFixed(1), String(s.tensors)])]
  console.log(
    `\nSoak: ${STEPS} steps (co_rewarding_ii, tiny model) in ${seconds.toFixed(0)} s, ${((seconds * 1000) / STEPS).toFixed(0)} ms/step\n` +
      lines.map((l) => `${l[0]!.padStart(5)}  ${l[1]!.padStart(7)}  ${l[2]!.padStart(7)}`).join('\n') +
      `\nRSS: peak ${Math.max(...before.map((s) => s.rss)).toFixed(1)} MB before step ${RSS_WARM_UP}; from step ${RSS_WARM_UP} ` +
      `${warm.rss.toFixed(1)} -> max ${Math.max(...after.map((s) => s.rss)).toFixed(1)} MB (${(rssGrowth * 100).toFixed(1)}% growth), ` +
      `last ${samples.at(-1)!.rss.toFixed(1)} MB. tfjs tensors from step ${TENSORS_WARM_UP}: ${[...tensorCounts].join(', ')}\n`,
  )
  expect(tensorCounts.size, 'tfjs tensor count after warm-up').toBe(1)
  expect(rssGrowth, 'RSS growth over the second half').toBeLessThan(0.1)
  expect(samples.at(-1)!.rss, 'RSS at the end against its warm-up peak').toBeLessThanOrEqual(
    Math.max(...before.map((s) => s.rss)),
  )
}, 1_800_000)
