// Fills a workspace's store (schema already created by `cwb`) with finished runs of long metric series for the
// Compare view benchmark: node fill-compare-store.mjs DB RUNS STEPS KEYS CONFIGS_JSON. One transaction.
import Database from 'better-sqlite3'
import { readFileSync } from 'node:fs'

const [file, runArg, stepArg, keyArg, configsFile] = process.argv.slice(2)
const runs = Number(runArg)
const steps = Number(stepArg)
const keyCount = Number(keyArg)
/** Default configs per reward mode, as `cwb train --print-config` prints them. */
const configs = JSON.parse(readFileSync(configsFile, 'utf8'))
const modes = Object.keys(configs)

// The Compare view's default panels first, then other verl keys up to the asked count.
const keys = [
  'val-core/bench/reward/mean@1',
  'critic/score/mean',
  'coreward/pseudo_acc',
  'response_length/mean',
  'actor/entropy',
  'actor/kl_loss',
  'critic/score/max',
  'critic/score/min',
  'critic/score/zero_std_frac',
  'critic/advantages/mean',
  'critic/advantages/max',
  'critic/advantages/min',
  'response_length/max',
  'response_length/min',
  'response_length/clip_ratio',
  'actor/pg_loss',
  'actor/grad_norm',
  'actor/lr',
  'actor/pg_clipfrac',
  'coreward/pseudo_acc_equiv',
  'coreward/majority_ratio',
  'coreward/reward_acc',
  'coreward/pass_acc',
  'timing_s/gen',
  'timing_s/reward',
  'timing_s/update_actor',
  'timing_s/step',
  'perf/throughput',
  'perf/total_num_tokens',
  'perf/max_memory_allocated_gb',
].slice(0, keyCount)
if (keys.length < keyCount) throw new Error(`fill-compare-store knows ${keys.length} keys; asked for ${keyCount}`)

// A small deterministic generator (mulberry32), so every benchmark run draws the same curves.
function random(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const db = new Database(file)
db.pragma('journal_mode = WAL')
const insertRun = db.prepare(
  `INSERT INTO runs (name, mode, config, status, seed, started_at, finished_at)
   VALUES (?, ?, ?, 'finished', ?, '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z')`,
)
const insertMetric = db.prepare('INSERT INTO metrics (run_id, step, key, value, wall_time, tokens) VALUES (?, ?, ?, ?, ?, ?)')
const insertAlert = db.prepare(
  `INSERT INTO events (run_id, level, kind, step, message, data) VALUES (?, 'warning', 'alert', ?, ?, ?)`,
)

db.transaction(() => {
  for (let r = 0; r < runs; r++) {
    const mode = modes[r % modes.length]
    const seed = 1 + Math.floor(r / modes.length)
    const name = `bench-${mode}-seed${seed}`
    const config = { ...configs[mode], name, seed, steps }
    const run = Number(insertRun.run(name, mode, JSON.stringify(config), seed).lastInsertRowid)
    const next = random(r + 1)
    const level = keys.map(() => next())
    let wall = 0
    let tokens = 0
    for (let step = 1; step <= steps; step++) {
      wall += 8 + next() * 4
      tokens += 7000 + Math.floor(next() * 2000)
      const progress = step / steps
      keys.forEach((key, k) => {
        // A drifting level with step noise: curves that smoothing and downsampling have something to do on.
        level[k] += (next() - 0.5) * 0.02
        const trend = k % 2 === 0 ? progress * 0.3 : -progress * 0.2
        insertMetric.run(run, step, key, level[k] + trend + (next() - 0.5) * 0.1, wall, tokens)
      })
    }
    const at = Math.floor(steps * (0.3 + 0.4 * next()))
    const message = `Held-out accuracy fell by 12 points from its best while the training reward kept rising (bench run ${run}).`
    insertAlert.run(run, at, message, JSON.stringify({ rule: 'gt_drop_reward_rise', step: at, message }))
  }
})()
db.close()
