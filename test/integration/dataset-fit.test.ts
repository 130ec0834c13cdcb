// A dataset the model cannot read is refused before launch (runs.validate, as the launch form calls it, and
// `cwb train`), not at step 0: MATH-style questions against the shipped demo model (a word-level vocabulary and an
// 80-token context) are refused with the numbers and what would help; the demo dataset fits the same model.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RunConfig } from '../../main/engine/run-config'
import { validateWithCheckpoint } from '../../main/services/run-validation'
import { Store } from '../../main/store/store'
import { cwb, lastJson } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()

/** Two MATH test questions (LaTeX, long), one as the training split and one held out. */
const MATH_ROWS = [
  {
    question:
      'Let $f(x) = \\left\\lceil\\dfrac{1}{x+2}\\right\\rceil$ for $x > -2$, and $f(x) = \\left\\lfloor\\dfrac{1}{x+2}\\right\\rfloor$ for $x < -2$. ($f(x)$ is not defined at $x = -2$.) Which integer is not in the range of $f(x)$?',
    answer: '0',
    split: 'train',
  },
  {
    question: 'If $x^2+y^2=1$, what is the largest possible value of $|x|+|y|$?',
    answer: '\\sqrt{2}',
    split: 'test',
  },
]

describe('a dataset the model cannot read', () => {
  it('is refused by runs.validate and cwb train with the numbers and what would help, before any run exists', async () => {
    const workspace = folder()
    const file = join(folder(), 'math.jsonl')
    writeFileSync(file, MATH_ROWS.map((row) => JSON.stringify(row)).join('\n') + '\n')
    const imported = cwb(['import', file, '--name', 'math', '--workspace', workspace, '--json'], { CWB_DEMO: '1' })
    expect(imported.code, imported.stderr).toBe(0)

    const math = { name: 'math-gt', mode: 'ground_truth', dataset: 'math', validation_split: 'test' }
    const store = new Store(join(workspace, 'workbench.db'))
    try {
      const checked = await validateWithCheckpoint(store.db, math)
      expect(checked.config).toBeNull()
      expect(checked.issues.map((i) => i.path).sort()).toEqual(['checkpoint', 'dataset'])
      const unknown = checked.issues.find((i) => i.path === 'dataset')!.message
      expect(unknown).toMatch(/^\d+\.\d% of the training questions' tokens \(\d+ of \d+\) are unknown to the model's tokenizer/)
      expect(unknown).toContain('first in record 1 of dataset "math" (id ')
      expect(unknown).toMatch(/qwen2, qwen3 or llama folder/)
      const context = checked.issues.find((i) => i.path === 'checkpoint')!.message
      expect(context).toMatch(
        /^the longest of the training questions \(record 1 of dataset "math" \(id \d+\)\) is a \d+-token prompt/,
      )
      expect(context).toMatch(/the model reads at most 80 tokens: choose a model that reads it/)

      // The demo dataset fits the same model; a limit below its longest prompt is refused with the number to raise it to.
      const demo = { name: 'demo-gt', mode: 'ground_truth', dataset: 'demo-arithmetic' }
      expect((await validateWithCheckpoint(store.db, demo)).issues).toEqual([])
      const tight = await validateWithCheckpoint(store.db, { ...demo, max_prompt_tokens: 20, max_response_tokens: 16 })
      expect(tight.issues).toEqual([
        {
          path: 'max_prompt_tokens',
          message: expect.stringMatching(
            /-token prompt, over max_prompt_tokens 20: raise max_prompt_tokens to \d+ \(the model reads 80 tokens in all\)$/,
          ),
        },
      ])
      expect(RunConfig.parse(demo).max_prompt_tokens).toBeGreaterThan(20)
      const long = await validateWithCheckpoint(store.db, { ...demo, max_response_tokens: 60 })
      expect(long.issues).toEqual([
        {
          path: 'max_response_tokens',
          message: expect.stringMatching(/the model reads at most 80 tokens: lower max_response_tokens to \d+ or less$/),
        },
      ])
    } finally {
      store.close()
    }

    const config = join(folder(), 'math.json')
    writeFileSync(config, JSON.stringify(math))
    const trained = cwb(['train', '--config', config, '--workspace', workspace])
    expect(trained.code).toBe(1)
    expect(trained.stderr).toMatch(/^dataset: .* are unknown to the model's tokenizer/m)
    expect(trained.stderr).toMatch(/^checkpoint: the longest of the training questions/m)
    expect(trained.stderr).toMatch(/does not fit its dataset \(above\); no run was made/)
    const runs = cwb(['runs', '--workspace', workspace, '--json'])
    expect(runs.code, runs.stderr).toBe(0)
    expect(lastJson<{ runs: unknown[] }>(runs.stdout).runs).toEqual([])
  })
})
