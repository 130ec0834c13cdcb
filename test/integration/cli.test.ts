import Database from 'better-sqlite3'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Store } from '../../main/store/store'
import { cwb, root } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const workspace = freshDirs()
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? ''

describe('the cwb command line', () => {
  it('has --help on every command, exiting 0', () => {
    for (const args of [['--help'], ['serve', '--help'], ['doctor', '--help'], ['runs', '--help'], ['help', 'runs']]) {
      const result = cwb(args)
      expect(result.code, args.join(' ')).toBe(0)
      expect(result.stdout).toMatch(/Usage: cwb/)
    }
  })

  it('offers --workspace on every command that opens one', () => {
    for (const command of ['serve', 'runs']) expect(cwb([command, '--help']).stdout).toContain('--workspace <dir>')
  })

  it('exits 2 with one line on stderr for usage mistakes', () => {
    for (const args of [['frobnicate'], ['runs', '--bogus'], ['serve', '--port', 'eighty'], ['serve', '--host', '0.0.0.0']]) {
      const result = cwb(args)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1)
      expect(result.stderr).toMatch(/^cwb/)
    }
    expect(cwb(['serve', '--host', '0.0.0.0']).stderr).toContain('--allow-remote')
  })

  it('exits 1 with one clear line when the work fails', () => {
    const file = join(workspace(), 'a-file')
    writeFileSync(file, '')
    const result = cwb(['runs', '--workspace', file])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      `cwb: error: Cannot use ${file} as the workspace: it is a file. Pass --workspace DIR with a folder.\n`,
    )
  })

  it('lists no runs in a bare workspace, as text and as JSON', () => {
    const dir = workspace()
    expect(cwb(['runs', '--workspace', dir]).stdout).toBe(`No runs yet in ${dir}.\n`)
    const json = cwb(['runs', '--workspace', dir, '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(lastLine(json.stdout))).toEqual({ workspace: dir, runs: [] })
  })

  it('lists runs another process stored, newest first', () => {
    const dir = workspace()
    cwb(['runs', '--workspace', dir])
    const db = new Database(join(dir, 'workbench.db'))
    db.prepare(
      `INSERT INTO runs (name, mode, config, status) VALUES ('gt-seed1', 'ground_truth', '{}', 'finished'), ('co2', 'co_rewarding_ii', '{}', 'running')`,
    ).run()
    db.prepare(`INSERT INTO metrics (run_id, step, key, value, wall_time) VALUES (2, 12, 'critic/score/mean', 0.5, 1)`).run()
    db.close()
    const runs = JSON.parse(lastLine(cwb(['runs', '--workspace', dir, '--json']).stdout)).runs
    expect(runs).toMatchObject([
      { id: 2, name: 'co2', mode: 'co_rewarding_ii', status: 'running', steps: 12 },
      { id: 1, name: 'gt-seed1', status: 'finished', steps: 0 },
    ])
    const table = cwb(['runs', '--workspace', dir]).stdout.split('\n')
    expect(table[0]).toMatch(/^ID\s+NAME\s+MODE\s+STATUS\s+STEPS\s+HELD-OUT\s+REWARD\s+CREATED$/)
    expect(table[1]).toMatch(/^2\s+co2\s+co_rewarding_ii\s+running\s+12\s+-\s+0\.5\s/)
  })

  it('uses CWB_WORKSPACE when --workspace is absent, and --workspace over it', () => {
    const fromEnv = workspace()
    const fromFlag = workspace()
    expect(JSON.parse(lastLine(cwb(['runs', '--json'], { CWB_WORKSPACE: fromEnv }).stdout)).workspace).toBe(fromEnv)
    expect(
      JSON.parse(lastLine(cwb(['runs', '--json', '--workspace', fromFlag], { CWB_WORKSPACE: fromEnv }).stdout)).workspace,
    ).toBe(fromFlag)
    expect(existsSync(join(fromFlag, 'workbench.db'))).toBe(true)
  })

  it('doctor prints one line per backend and exits 0 when one works', () => {
    const result = cwb(['doctor'])
    expect(result.code).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    for (const name of ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'cuda']) {
      expect(
        lines.some((line) => new RegExp(`\\s${name}\\s+(available|missing)\\s+\\S`).test(line)),
        name,
      ).toBe(true)
    }
    expect(lines.filter((line) => /^(tfjs|onnxruntime)\s/.test(line))).toHaveLength(6)
    expect(result.stderr).toContain('Probing')
    const json = JSON.parse(lastLine(cwb(['doctor', '--json']).stdout))
    expect(json.backends).toHaveLength(6)
    expect(json.preferred).toBe('wasm')
  })

  it('starts a new workspace with the demo dataset and base model, unless --no-demo or CWB_DEMO=0', () => {
    const withDemo = workspace()
    expect(cwb(['runs', '--workspace', withDemo], { CWB_DEMO: '' }).code).toBe(0)
    const store = new Store(join(withDemo, 'workbench.db'))
    expect(store.listDatasets()).toMatchObject([{ name: 'demo-arithmetic', records: 2500, withAnswer: 2500, paraphrases: 12500 }])
    store.close()
    expect(existsSync(join(withDemo, 'models/demo-base/config.json'))).toBe(
      existsSync(join(root, 'resources/base-model/config.json')),
    )
    for (const [args, env] of [
      [['--no-demo'], { CWB_DEMO: '' }],
      [[], { CWB_DEMO: '0' }],
    ] as const) {
      const bare = workspace()
      expect(cwb(['runs', '--workspace', bare, ...args], env).code).toBe(0)
      const bareStore = new Store(join(bare, 'workbench.db'))
      expect(bareStore.listDatasets()).toEqual([])
      bareStore.close()
      expect(existsSync(join(bare, 'models'))).toBe(false)
    }
  })
})
