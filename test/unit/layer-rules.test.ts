// The layers of README's Architecture are lint rules: each test writes a file that breaks one into the tree, lints it as
// `npx eslint FILE` would, and sees it refused with a message that names the layer it reached.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ESLint } from 'eslint'
import { afterEach, describe, expect, it } from 'vitest'
import { rewardModeIds } from '../../main/engine/rewards'
import { root } from '../helpers/cli'

const written: string[] = []

/** Writes `files` (paths relative to the repository) and lints them with the project's own configuration. */
async function lint(files: Record<string, string>): Promise<{ file: string; rule: string | null; message: string }[]> {
  for (const [path, source] of Object.entries(files)) {
    const full = join(root, path)
    mkdirSync(dirname(full), { recursive: true })
    writeFileSync(full, source)
    written.push(full)
  }
  const eslint = new ESLint({ cwd: root, cache: false })
  const results = await eslint.lintFiles(Object.keys(files).map((path) => join(root, path)))
  return results.flatMap((result) =>
    result.messages.map((m) => ({ file: result.filePath.slice(root.length + 1), rule: m.ruleId, message: m.message })),
  )
}

// A unique name per test run, so a left-over file of an interrupted run cannot be mistaken for this one's.
const probe = `layer-probe-${process.pid}`

afterEach(() => {
  for (const path of written.splice(0)) rmSync(path, { force: true })
  // The probe folders the deep files were written into go too, so the tree is left as it was found.
  for (const dir of [join(root, 'main/engine/checkpoint', probe)]) rmSync(dir, { recursive: true, force: true })
})

describe('the engine layer', () => {
  const reached = {
    store: ['store/store', /The engine \(main\/engine\/\) may not import the store \(main\/store\/\)/],
    services: ['services/jobs', /may not import the services \(main\/services\/\)/],
    serve: ['serve/auth', /may not import the HTTP server \(main\/serve\/\)/],
    app: ['app/quit', /may not import the Electron app \(main\/app\/\)/],
    cli: ['cli/errors', /may not import the CLI \(main\/cli\/\)/],
    launch: ['launch/electron', /may not import the launcher \(main\/launch\/\)/],
    data: ['data/demo/index', /may not import the data layer \(main\/data\/\)/],
  } as const

  for (const [layer, [target, message]] of Object.entries(reached)) {
    it(`refuses an import of ${layer}/ from a file directly in main/engine/ and from one three folders down`, async () => {
      const messages = await lint({
        [`main/engine/${probe}.ts`]: `import * as reached from '../${target}'\nexport const probe = reached\n`,
        [`main/engine/checkpoint/${probe}/deep/probe.ts`]: `import * as reached from '../../../../${target}'\nexport const probe = reached\n`,
      })
      const refusals = messages.filter((m) => m.rule === 'import-x/no-restricted-paths')
      expect(refusals.map((m) => m.file).sort()).toEqual([
        `main/engine/checkpoint/${probe}/deep/probe.ts`,
        `main/engine/${probe}.ts`,
      ])
      for (const refusal of refusals) expect(refusal.message).toMatch(message)
    })
  }

  it('refuses electron', async () => {
    const messages = await lint({ [`main/engine/${probe}.ts`]: `import { app } from 'electron'\nexport const probe = app\n` })
    expect(messages.find((m) => m.rule === 'no-restricted-imports')?.message).toMatch(
      /The engine \(main\/engine\/\) may not import electron/,
    )
  })

  it('still imports its own modules and shared ones', async () => {
    const messages = await lint({
      [`main/engine/${probe}.ts`]: `import { Random } from '../random'\nimport { rewardModeIds } from './rewards'\nexport const probe = [Random, rewardModeIds]\n`,
    })
    expect(messages).toEqual([])
  })
})

describe('the store layer', () => {
  const reached = {
    engine: ['engine/model/ops', /The store \(main\/store\/\) may not import the engine \(main\/engine\/\)/],
    services: ['services/jobs', /may not import the services \(main\/services\/\)/],
    data: ['data/demo/index', /may not import the data layer \(main\/data\/\)/],
    serve: ['serve/auth', /may not import the HTTP server/],
    app: ['app/quit', /may not import the Electron app/],
    cli: ['cli/errors', /may not import the CLI/],
  } as const

  for (const [layer, [target, message]] of Object.entries(reached)) {
    it(`refuses an import of ${layer}/`, async () => {
      const messages = await lint({
        [`main/store/${probe}.ts`]: `import * as reached from '../${target}'\nexport const probe = reached\n`,
      })
      expect(messages.find((m) => m.rule === 'import-x/no-restricted-paths')?.message).toMatch(message)
    })
  }
})

describe('reward modes', () => {
  it('keep one file each, main/engine/rewards/<mode id>.ts', () => {
    expect(rewardModeIds()).toHaveLength(6)
    for (const id of rewardModeIds()) expect(existsSync(join(root, 'main/engine/rewards', `${id}.ts`)), id).toBe(true)
  })

  it('refuses a mode that imports another mode, and lets it import what the modes share', async () => {
    const refused = await lint({
      [`main/engine/rewards/${probe.replaceAll('-', '_')}.ts`]: `import { entropyMode } from './entropy'\nexport const probe = entropyMode\n`,
    })
    expect(refused.find((m) => m.rule === 'import-x/no-restricted-paths')?.message).toMatch(
      /A reward mode may not import another reward mode/,
    )
    const shared = await lint({
      [`main/engine/rewards/${probe.replaceAll('-', '_')}.ts`]: `import { voteOf } from './shared/voting'\nexport const probe = voteOf\n`,
    })
    expect(shared).toEqual([])
  })
})

describe('import cycles', () => {
  const pair = (importOfB: string) => ({
    [`main/${probe}-a.ts`]: `${importOfB}\nexport const a = 1\nexport const useB = (b: B) => b\n`,
    [`main/${probe}-b.ts`]: `import { a } from './${probe}-a'\nexport type B = typeof a\nexport const b = a\n`,
  })

  it('refuses two modules that import each other', async () => {
    const messages = await lint(pair(`import { b, type B } from './${probe}-b'\nexport const seen = b`))
    expect(messages.filter((m) => m.rule === 'import-x/no-cycle').length).toBeGreaterThan(0)
  })

  it('counts a dynamic import()', async () => {
    const messages = await lint(pair(`import type { B } from './${probe}-b'\nexport const later = () => import('./${probe}-b')`))
    expect(messages.filter((m) => m.rule === 'import-x/no-cycle').length).toBeGreaterThan(0)
  })

  it('refuses inline type specifiers, so only `import type` statements are left out of the check', async () => {
    const inline = await lint(pair(`import { type B } from './${probe}-b'`))
    expect(inline.map((m) => m.rule)).toContain('import-x/consistent-type-specifier-style')
    const typeOnly = await lint(pair(`import type { B } from './${probe}-b'`))
    expect(typeOnly).toEqual([])
  })

  it('sees cycles between the renderer and preload/', async () => {
    const messages = await lint({
      [`preload/${probe}.ts`]: `import { seen } from '../renderer/src/${probe}'\nexport const constant = 1\nexport const back = seen\n`,
      [`renderer/src/${probe}.ts`]: `import { constant } from '../../preload/${probe}'\nexport const seen = constant\n`,
    })
    expect(messages.filter((m) => m.rule === 'import-x/no-cycle').length).toBeGreaterThan(0)
  })
})

describe('SQL outside main/store/', () => {
  it('is refused in a string, a template, a prepared statement and a pragma', async () => {
    const messages = await lint({
      [`main/services/${probe}.ts`]: [
        `import type Database from 'better-sqlite3'`,
        `export const count = (db: Database.Database) => db.prepare('SELECT count(*) FROM runs').get()`,
        `export const drop = (db: Database.Database, table: string) => db.exec(\`DROP TABLE \${table}\`)`,
        `export const query = "  UPDATE runs SET name = ?"`,
        `export const recent = \`WITH recent (id) AS (SELECT id FROM runs) SELECT * FROM recent\``,
        `export const prepared = (db: Database.Database, sql: string) => db.prepare(sql)`,
        `export const mode = (db: Database.Database) => db.pragma('journal_mode')`,
        '',
      ].join('\n'),
    })
    const refusals = messages.filter((m) => m.rule === 'no-restricted-syntax')
    expect(refusals).toHaveLength(7)
    for (const refusal of refusals) expect(refusal.message).toMatch(/SQL lives in main\/store\//)
  })

  it('lets prose that starts with the same words pass, and lets the store hold SQL', async () => {
    const messages = await lint({
      [`main/services/${probe}.ts`]: `export const hint = 'Select a run, then Delete removes it'\nexport const title = 'WITH ANSWER'\nexport const ok = /x/.exec('x')\n`,
      [`main/store/${probe}.ts`]: `export const query = 'SELECT count(*) FROM runs'\n`,
    })
    expect(messages).toEqual([])
  })
})
