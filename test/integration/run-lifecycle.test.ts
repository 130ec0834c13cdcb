// The run lifecycle through the workbench host, as the Runs view drives it: real trainer processes
// (out/main/trainer.js, so build first) on a tiny model over the stored demo dataset, the real SQLite store,
// one run at a time (maxRuns 1) so the queue shows. Validate, launch, watch phases, stop, resume, kill, close.
import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { EventPayload } from '../../preload/contract'
import { WorkbenchHost } from '../../main/services/workbench'
import { BEST_GT_TAG } from '../../main/store/checkpoints'
import { getRun } from '../../main/store/runs'
import { processAlive } from '../../main/store/workspace'
import { assertBuilt, cliPath, cwb, root, serve } from '../helpers/cli'
import { collectEvents, hostOnWorkspace } from '../helpers/host'
import { tinyRunConfig, writeTinyCheckpoint } from '../helpers/tiny-model'
import { cleanupsAfterEach, tempDir } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()

function setUp(maxRuns = 1) {
  assertBuilt()
  const workbench = hostOnWorkspace(cleanups, { demo: true, watchIntervalMs: 25, maxRuns })
  writeTinyCheckpoint(join(workbench.dir, 'tiny'))
  const notices = collectEvents(workbench.host, 'run.notice')
  workbench.host.start()
  const tiny = (name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> =>
    tinyRunConfig(name, join(workbench.dir, 'tiny'), { sample_groups: 1, ...overrides })
  return { ...workbench, notices, tiny }
}

const poll = { timeout: 60_000, interval: 20 }

describe('the run lifecycle through the workbench host', () => {
  it('offers the form: the schema, six modes of defaults, presets that validate, and the datasets', async () => {
    const { call } = setUp()
    const form = await call('runs.form', {})
    expect(Object.keys(form.defaults).sort()).toEqual(
      ['co_rewarding_i', 'co_rewarding_ii', 'entropy', 'ground_truth', 'majority_voting', 'self_certainty'].sort(),
    )
    expect(form.defaults.co_rewarding_ii).toMatchObject({ mode: 'co_rewarding_ii', steps: 60, ema: { enabled: true } })
    expect((form.schema.properties as Record<string, unknown>).learning_rate).toBeDefined()
    expect(form.datasets).toContain('demo-arithmetic')
    expect(form.presets.map((p) => [p.label, p.configs.length])).toEqual([
      ['demo comparison', 6],
      ['quick smoke test', 1],
      ['Co-rewarding-I vs II vs GT', 3],
    ])
    for (const preset of form.presets) {
      for (const config of preset.configs) expect((await call('runs.validate', { config })).issues, preset.label).toEqual([])
    }
  })

  it('names every bad field of a config, and launches nothing when any config of a batch is bad', async () => {
    const { call, refuse, tiny } = setUp()
    const checked = await call('runs.validate', {
      config: { ...tiny('bad'), learning_rate: -1, rollouts: 1, dataset: 'no-such-set', kl: { coef: 'big' } },
    })
    expect(checked.config).toBeNull()
    expect(checked.issues.map((i) => i.path).sort()).toEqual(['dataset', 'kl.coef', 'learning_rate', 'rollouts'])
    expect(checked.issues.find((i) => i.path === 'dataset')!.message).toMatch(
      /no dataset "no-such-set" in this workspace; choose one of demo-arithmetic/,
    )
    const ema = await call('runs.validate', { config: { ...tiny('ema'), ema: { enabled: false } } })
    expect(ema.issues).toEqual([{ path: 'ema', message: expect.stringMatching(/only co_rewarding_ii has an EMA teacher/) }])
    const split = await call('runs.validate', { config: { ...tiny('split'), train_split: 'nowhere' } })
    expect(split.issues).toEqual([
      { path: 'train_split', message: 'dataset "demo-arithmetic" has no records in split "nowhere"' },
    ])
    const good = await call('runs.validate', { config: tiny('good') })
    expect(good).toMatchObject({ issues: [], config: { name: 'good', temperature: 1, validation: { every: 2 } } })

    const error = await refuse('runs.launch', { configs: [tiny('fine'), { ...tiny('broken'), rollouts: 1 }] })
    expect(error).toMatchObject({ code: 'invalid_request', issues: [{ path: 'configs.1.rollouts' }] })
    expect(error.message).toMatch(/^Nothing was launched: configs\.1\.rollouts: /)
    expect(await call('runs.list', {})).toEqual([])
  })

  it('queues, runs, stops, resumes, kills and deletes runs, with phases, live numbers and notices', async () => {
    const { dir, store, host, notices, call, refuse, tiny } = setUp(1)
    // `short` trips a collapse rule on purpose: one step where any response runs to the 8-token limit counts as pinned.
    const pinned = { collapse: { min_steps: 1, clip_ratio_pinned: 1e-6, pinned_steps: 1 } }
    const { runs } = await call('runs.launch', { configs: [tiny('long', { steps: 200 }), tiny('short', pinned)] })
    const [long, short] = runs as [number, number]
    // One slot: the first trains, the second waits its turn.
    expect(await call('runs.queue', {})).toEqual({ slots: 1, running: [long], queued: [short] })
    expect(await call('runs.get', { run: short })).toMatchObject({ status: 'queued', phase: 'queued', ownedHere: false })
    expect(host.activeRuns()).toEqual([{ id: long, name: 'long' }])

    // Watch the live panel: phases come and go, numbers appear once steps are logged.
    const phases = new Set<string>()
    await expect
      .poll(async () => {
        const detail = await call('runs.get', { run: long })
        if (detail.phase) phases.add(detail.phase)
        return detail.steps >= 3 && detail.medianStepSeconds !== null && detail.tokensPerSecond !== null
      }, poll)
      .toBe(true)
    const live = await call('runs.get', { run: long })
    expect(live).toMatchObject({
      status: 'running',
      ownedHere: true,
      totalSteps: 200,
      dataset: 'demo-arithmetic',
      stalled: false,
    })
    expect(live.etaSeconds).toBeGreaterThan(0)
    expect(live.tokensPerSecond).toBeGreaterThan(0)
    expect(Date.now() - Date.parse(live.activityAt!)).toBeLessThan(15_000)
    expect(live.latest.find((m) => m.key === 'critic/score/mean')).toMatchObject({ step: expect.any(Number) })
    expect(live.checkpoints.map((c) => c.step)).toContain(2)
    expect([...phases].filter((p) => ['rollout', 'scoring', 'update', 'validation'].includes(p)).length).toBeGreaterThan(0)
    expect((await call('runs.list', {})).map((r) => [r.id, r.status])).toEqual([
      [short, 'queued'],
      [long, 'running'],
    ])
    expect((await refuse('runs.delete', { run: long })).code).toBe('conflict')

    // Stop: the trainer checkpoints and ends; the queued run takes the slot and trains to the end.
    expect((await call('runs.stop', { run: long })).status).toBe('stopping')
    await expect.poll(async () => (await call('runs.get', { run: short })).status, poll).toBe('finished')
    const stopped = await call('runs.get', { run: long })
    expect(stopped).toMatchObject({ status: 'stopped', phase: null, ownedHere: false, etaSeconds: null })
    const stopStep = stopped.checkpoints.at(-1)!.step
    expect(stopStep).toBe(stopped.steps)
    const ended = (): EventPayload<'run.notice'>[] => notices.filter((n) => n.kind !== 'alert')
    await expect
      .poll(() => ended().map((n) => [n.run, n.kind]), poll)
      .toEqual([
        [long, 'stopped'],
        [short, 'finished'],
      ])
    expect(ended()[1]!.message).toBe('Finished after 3 steps.')
    const finished = await call('runs.get', { run: short })
    // The stored best-gt tag sits on the checkpoint the table calls best (none when the base model or a tie is best).
    const { bestGt } = await call('checkpoints.overview', { run: short })
    expect(finished.checkpoints.filter((c) => c.tags.includes(BEST_GT_TAG)).map((c) => c.step)).toEqual(
      finished.checkpoints.filter((c) => c.step === bestGt).map((c) => c.step),
    )
    expect(finished.collapse[0]).toMatchObject({ run: short, rule: 'length_pinned', step: 1 })
    expect(finished.alerts).toBe(finished.collapse.length)
    expect(notices.find((n) => n.run === short && n.kind === 'alert')).toEqual({
      run: short,
      name: 'short',
      kind: 'alert',
      message: finished.collapse[0]!.message,
    })

    // Resume: it queues, takes the free slot, and goes on from its checkpoint.
    expect((await call('runs.resume', { run: long })).status).toMatch(/queued|running/)
    await expect.poll(async () => (await call('runs.get', { run: long })).steps, poll).toBeGreaterThan(stopStep + 1)
    const log = await call('runs.log', { run: long })
    expect(log.map((e) => e.message)).toContain(`Queued to resume from step ${stopStep}.`)
    expect(log.some((e) => /^Resumed on /.test(e.message))).toBe(true)
    const lastSeen = log.at(-1)!.id
    expect((await call('runs.log', { run: long, afterId: lastSeen })).every((e) => e.id > lastSeen)).toBe(true)

    // Kill: the trainer ends at once, the run fails with the reason, and can be resumed.
    const pid = getRun(store.db, long)!.trainerPid!
    const killed = await call('runs.kill', { run: long })
    expect(killed.status).toBe('failed')
    expect(processAlive(pid)).toBe(false)
    const reasons = (await call('runs.log', { run: long })).filter((e) => e.level === 'error').map((e) => e.message)
    expect(reasons.at(-1)).toMatch(/^Killed by the user at step \d+$/)
    await expect
      .poll(() => notices.at(-1), poll)
      .toMatchObject({ run: long, kind: 'failed', message: expect.stringMatching(/Killed by the user/) })
    expect((await refuse('runs.kill', { run: long })).code).toBe('conflict')

    // Manage: rename (the config follows), notes, tags; retention; delete with its folder and rows.
    const renamed = await call('runs.update', { run: long, name: 'long-renamed', notes: 'lr too high?', tags: ['a', 'b', 'a'] })
    expect(renamed).toMatchObject({ name: 'long-renamed', notes: 'lr too high?', tags: ['a', 'b'] })
    expect((await call('runs.get', { run: long })).config.name).toBe('long-renamed')
    const before = (await call('runs.get', { run: long })).checkpoints
    const doomed = before.filter((c, i) => i < before.length - 1 && c.tags.length === 0).map((c) => c.step)
    expect(doomed.length).toBeGreaterThan(0)
    const pruned = await call('runs.prune', { run: long, keep: 1 })
    expect(pruned.removed).toEqual(doomed)
    expect(pruned.freedBytes).toBeGreaterThan(0)
    const kept = (await call('runs.get', { run: long })).checkpoints.map((c) => c.step)
    expect(kept).toEqual(before.map((c) => c.step).filter((step) => !doomed.includes(step)))

    const disk = await call('runs.disk', {})
    const shortBytes = disk.find((d) => d.run === short)!.bytes
    expect(shortBytes).toBeGreaterThan(0)
    expect(existsSync(join(dir, 'runs', String(short)))).toBe(true)
    expect(await call('runs.delete', { run: short })).toEqual({ run: short, freedBytes: shortBytes })
    expect(existsSync(join(dir, 'runs', String(short)))).toBe(false)
    for (const table of ['metrics', 'samples', 'checkpoints', 'events']) {
      expect(store.db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE run_id = ?`).get(short), table).toEqual({ n: 0 })
    }
    expect((await refuse('runs.get', { run: short })).code).toBe('not_found')

    // Closing the host with a run training ends its trainer and leaves the run interrupted, ready to resume.
    await call('runs.resume', { run: long })
    await expect.poll(() => getRun(store.db, long)?.trainerPid ?? null, poll).not.toBeNull()
    const last = getRun(store.db, long)!.trainerPid!
    host.close()
    expect(getRun(store.db, long)).toMatchObject({ status: 'interrupted', phase: null, trainerPid: null })
    await expect.poll(() => processAlive(last), poll).toBe(false)
  }, 120_000)

  it('dequeues a queued run on stop, and starts queued runs left by a previous session when a host starts', async () => {
    const first = setUp(1)
    const { runs } = await first.call('runs.launch', {
      configs: [first.tiny('a', { steps: 200 }), first.tiny('b'), first.tiny('c')],
    })
    const [a, b, c] = runs as [number, number, number]
    expect((await first.call('runs.stop', { run: b })).status).toBe('stopped')
    expect((await first.call('runs.queue', {})).queued).toEqual([c])
    // Quit while `a` trains: it is interrupted, `c` stays queued for the next start.
    await expect.poll(() => getRun(first.store.db, a)?.trainerPid ?? null, poll).not.toBeNull()
    first.host.close()
    expect(getRun(first.store.db, a)!.status).toBe('interrupted')
    expect(getRun(first.store.db, c)!.status).toBe('queued')

    const again = new WorkbenchHost({
      store: first.store,
      workspace: first.dir,
      host: 'browser',
      probe: async () => [],
      watchIntervalMs: 25,
      maxRuns: 1,
    })
    cleanups.push(() => again.close())
    again.start()
    expect((await again.dispatch('runs.queue', {})) as unknown).toMatchObject({ ok: true, result: { running: [c], queued: [] } })
    await expect.poll(() => getRun(first.store.db, c)!.status, poll).toBe('finished')
  }, 90_000)

  it('counts a `cwb train` run against the slots, kills its trainer, and notices it failing', async () => {
    const { dir, store, host, notices, call, tiny } = setUp(1)
    const config = join(dir, 'cli.json')
    writeFileSync(config, JSON.stringify(tiny('from-cli', { steps: 200 })))
    const child = spawn(process.execPath, [cliPath, 'train', '--config', config, '--workspace', dir], {
      cwd: root,
      env: { ...process.env, CWB_DEMO: '0' },
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    await expect.poll(() => /step 2\/200/.test(stderr), poll).toBe(true)
    const cliRun = (await call('runs.list', {}))[0]!
    expect(cliRun).toMatchObject({ name: 'from-cli', status: 'running', totalSteps: 200 })
    expect(await call('runs.get', { run: cliRun.id })).toMatchObject({ ownedHere: false })
    expect(host.activeRuns()).toEqual([])

    // The CLI's trainer holds the only slot: a launched run waits for it.
    const { runs } = await call('runs.launch', { configs: [tiny('waits')] })
    expect(await call('runs.queue', {})).toEqual({ slots: 1, running: [cliRun.id], queued: runs })

    await call('runs.kill', { run: cliRun.id })
    expect(await exited).toBe(1)
    expect(getRun(store.db, cliRun.id)!.status).toBe('failed')
    const messages = (await call('runs.log', { run: cliRun.id })).map((e) => e.message)
    expect(messages.some((m) => /^Killed by the user at step \d+$/.test(m))).toBe(true)
    expect(messages.some((m) => /exited on SIGKILL/.test(m))).toBe(true)
    await expect.poll(() => notices.find((n) => n.run === cliRun.id), poll).toMatchObject({ kind: 'failed' })
    // The slot is free again: the waiting run starts and finishes.
    await expect.poll(() => getRun(store.db, runs[0]!)!.status, poll).toBe('finished')
  }, 90_000)

  it('cwb serve trains as many runs at a time as --max-runs says, and refuses a bad value', async () => {
    const { dir, remove } = tempDir()
    cleanups.push(remove)
    const served = await serve(['--workspace', dir, '--max-runs', '3'])
    cleanups.push(() => void served.stop())
    const reply = await fetch(`${served.base}api/call/runs.queue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(await reply.json()).toEqual({ ok: true, result: { slots: 3, running: [], queued: [] } })
    expect(cwb(['serve', '--workspace', dir, '--max-runs', '0']).stderr).toMatch(
      /--max-runs 0: expected a whole number of at least 1/,
    )
    const fromEnv = cwb(['serve', '--workspace', join(dir, 'other'), '--port', '0'], { CWB_MAX_RUNS: 'lots' })
    expect(fromEnv.code).toBe(1)
    expect(fromEnv.stderr).toMatch(/CWB_MAX_RUNS=lots: expected a whole number of at least 1/)
  })
})
