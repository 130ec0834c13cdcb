// `cwb paraphrase`: the same generation as the Datasets view, from the command line (progress on stderr, the
// result as the last stdout line with --json), with the API key read from an environment variable.
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createDataset } from '../../main/data/datasets'
import { Store } from '../../main/store/store'
import { cliPath, cwb, lastJson, root } from '../helpers/cli'
import { cleanupsAfterEach, freshDirs } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()
const workspace = freshDirs()

/** Runs cwb without blocking this process (the fake endpoint below answers from it). */
function cwbAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: root, env: { ...process.env, CWB_DEMO: '0', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('cwb paraphrase', () => {
  it('retells demo problems with --templates, printing progress on stderr and the result as JSON', () => {
    const dir = workspace()
    const result = cwb(
      ['paraphrase', 'demo-arithmetic', '--templates', '--include-done', '--limit', '3', '--json', '--workspace', dir],
      {
        CWB_DEMO: '1',
      },
    )
    expect(result.stderr).toMatch(/3\/3 records \(100%\)/)
    expect(result.code).toBe(0)
    expect(lastJson(result.stdout)).toEqual({ dataset: 1, generated: 15, failed: [], cancelled: false })
    // Without --include-done every record has template paraphrases already.
    const again = cwb(['paraphrase', 'demo-arithmetic', '--templates', '--limit', '3', '--json', '--workspace', dir])
    expect(lastJson(again.stdout)).toMatchObject({ generated: 0 })
  })

  it('asks an endpoint with the key from --api-key-env, and refuses a missing key or source', async () => {
    const dir = workspace()
    const seen: (string | undefined)[] = []
    const server = createServer((request, response) => {
      seen.push(request.headers.authorization)
      request.resume()
      request.on('end', () => response.end(JSON.stringify({ choices: [{ message: { content: '<rewrite>Retold.</rewrite>' } }] })))
    })
    cleanups.push(() => server.close())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
    const args = [
      'paraphrase',
      'demo-arithmetic',
      '--endpoint',
      url,
      '--model',
      'm',
      '--limit',
      '2',
      '--json',
      '--workspace',
      dir,
    ]
    const result = await cwbAsync([...args, '--api-key-env', 'MY_KEY'], { CWB_DEMO: '1', MY_KEY: 'sk-from-env' })
    expect(result.code).toBe(0)
    expect(lastJson(result.stdout)).toMatchObject({ generated: 2, failed: [] })
    expect(seen).toEqual(['Bearer sk-from-env', 'Bearer sk-from-env'])

    const unset = cwb([...args, '--api-key-env', 'NOT_SET_ANYWHERE'])
    expect(unset.code).toBe(2)
    expect(unset.stderr).toMatch(/--api-key-env NOT_SET_ANYWHERE: that environment variable is not set/)
    const none = cwb(['paraphrase', 'demo-arithmetic', '--workspace', dir])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/choose one source: --templates, --endpoint URL --model M, or --onnx CHECKPOINT/)
  })

  it('names each record it failed on as the Datasets view numbers it, with its id', async () => {
    const dir = workspace()
    const store = new Store(join(dir, 'workbench.db'))
    const records = (...questions: string[]) => questions.map((question) => ({ question, answer: '4' }))
    createDataset(store.db, { name: 'first', records: records('What is 1+3?', 'What is 2+2?') })
    createDataset(store.db, { name: 'word-problems', records: records('What is 3+1?', 'What is 0+4?') })
    store.close()
    const server = createServer((request, response) => {
      request.resume()
      request.on('end', () => response.end(JSON.stringify({ choices: [{ message: { content: 'No marker here.' } }] })))
    })
    cleanups.push(() => server.close())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
    const result = await cwbAsync(['paraphrase', 'word-problems', '--endpoint', url, '--model', 'm', '--workspace', dir], {})
    expect(result.stderr).toContain(
      [
        '  record 1 of dataset "word-problems" (id 3): malformed output: no <rewrite> marker',
        '  record 2 of dataset "word-problems" (id 4): malformed output: no <rewrite> marker',
      ].join('\n'),
    )
  })
})
