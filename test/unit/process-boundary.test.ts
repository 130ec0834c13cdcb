// The renderer may not import Node, Electron or main/: both the compiler and the linter refuse it.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'
import { root } from '../helpers/cli'

const forbidden = `import { readFileSync } from 'node:fs'\nimport { ipcRenderer } from 'electron'\nexport const leak = [readFileSync, ipcRenderer]\n`

describe('the renderer process boundary', () => {
  it('is refused by the compiler: the renderer project has no Node or Electron types', () => {
    const dir = mkdtempSync(join(root, 'renderer', '.boundary-'))
    try {
      writeFileSync(join(dir, 'leak.ts'), forbidden)
      const config = join(dir, 'tsconfig.json')
      writeFileSync(
        config,
        JSON.stringify({ extends: '../../tsconfig.web.json', include: ['leak.ts'], compilerOptions: { composite: false } }),
      )
      const result = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', config, '--noEmit'], {
        encoding: 'utf8',
      })
      expect(result.status).not.toBe(0)
      expect(result.stdout).toMatch(/leak\.ts.*error TS2307: Cannot find module 'node:fs'/)
      expect(result.stdout).toMatch(/error TS2305: Module '"electron"' has no exported member 'ipcRenderer'/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('is refused by the linter, for Node built-ins, Electron and main/', async () => {
    const eslint = new ESLint({ cwd: root })
    const source = `${forbidden}import { Store } from '../../main/store/store'\nimport fs from 'fs'\nexport const more = [Store, fs]\n`
    const [result] = await eslint.lintText(source, { filePath: join(root, 'renderer/src/leak.ts') })
    const messages = (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message)
    expect(messages).toHaveLength(4)
    expect(messages.join('\n')).toMatch(/browser sandbox/)
    expect(messages.join('\n')).toMatch(/never talks to Electron/)
    expect(messages.join('\n')).toMatch(/never main\//)
  })

  it('still lets main/ use Node', async () => {
    const eslint = new ESLint({ cwd: root })
    const [result] = await eslint.lintText(`import { readFileSync } from 'node:fs'\nexport const ok = readFileSync\n`, {
      filePath: join(root, 'main/ok.ts'),
    })
    expect(result?.messages.filter((m) => m.ruleId === 'no-restricted-imports')).toEqual([])
  })
})
