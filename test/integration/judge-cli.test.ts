// `cwb judge` against a stand-in endpoint (a real local HTTP server speaking the chat-completions API): verdicts
// stored per pair, progress on stderr, the result as the last stdout line, a rerun that skips judged pairs, a
// failing endpoint named with the pair, and `cwb checks` keeping the model findings.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { cliPath, cwb, lastJson, root } from '../helpers/cli'
import { cleanupsAfterEach, freshDirs } from '../helpers/workspace'
import type { JudgeResult } from '../../main/data/paraphrase/judge'

const cleanups = cleanupsAfterEach()
const freshDir = freshDirs()

/** Runs cwb without blocking this process (the stand-in endpoint answers from it). */
function cwbAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: root, env: { ...process.env, CWB_DEMO: '0', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

const ROWS = [
  {
    question: 'Maya has 3 shells and finds 2 more. How many shells now?',
    answer: '5',
    paraphrase: 'Leo keeps 3 stamps and gets 2 more. How many stamps now?',
  },
  {
    question: 'Tom reads 4 pages a day for 6 days. How many pages?',
    answer: '24',
    paraphrase: 'Ann reads 4 pages a day for 6 days. How many pages in a week?',
  },
  {
    question: 'Sam has 10 coins and spends 4. How many are left?',
    answer: '6',
    paraphrase: 'Sam starts with 10 coins and spends 4 of them. How many remain?',
  },
]

/** A stand-in endpoint: SAME for Leo, DIFFERENT for Ann, HTTP 500 for Sam while `broken`; counts requests and keys. */
async function standInEndpoint(state: { broken: boolean }) {
  const seen: { paraphrase: string; authorization?: string }[] = []
  const server = createServer((request, response) => {
    let raw = ''
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()))
    request.on('end', () => {
      const body = JSON.parse(raw) as { messages: { content: string }[] }
      const paraphrase = body.messages[0]!.content.split('Rewritten problem:\n')[1]!.split('\n')[0]!
      seen.push({ paraphrase, authorization: request.headers.authorization })
      if (paraphrase.startsWith('Sam') && state.broken) return void response.writeHead(500).end('overloaded')
      const content = paraphrase.startsWith('Ann')
        ? 'DIFFERENT: the rewrite asks about a week, not 6 days.'
        : 'SAME: only the names changed.'
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { content } }] }))
    })
  })
  cleanups.push(
    () => server.closeAllConnections(),
    () => server.close(),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen }
}

type JudgeJson = JudgeResult & { dataset: string }

describe('cwb judge with a stand-in endpoint', { timeout: 120_000 }, () => {
  it('stores verdicts per pair, resumes skipping judged pairs, names a failing pair, and cwb checks keeps the findings', async () => {
    const workspace = freshDir()
    const file = join(freshDir(), 'pairs.jsonl')
    writeFileSync(
      file,
      ROWS.map(({ question, answer, paraphrase }) =>
        JSON.stringify({ question, answer, paraphrases: [{ text: paraphrase, status: 'accepted' }] }),
      ).join('\n') + '\n',
    )
    const imported = cwb(['import', file, '--name', 'pairs', '--workspace', workspace, '--json'])
    expect(imported.code, imported.stderr).toBe(0)

    const state = { broken: true }
    const endpoint = await standInEndpoint(state)
    const args = ['judge', 'pairs', '--endpoint', endpoint.url, '--model', 'judge-m', '--retries', '1', '--workspace', workspace]
    const first = await cwbAsync([...args, '--api-key-env', 'JUDGE_KEY', '--json'], { JUDGE_KEY: 'sk-judge-1' })
    expect(first.code, first.stderr).toBe(1)
    expect(first.stderr).toMatch(/3\/3 pairs \(100%\)/)
    const result = lastJson<JudgeJson>(first.stdout)
    expect(result).toMatchObject({ dataset: 'pairs', judged: 2, same: 1, different: 1, unsure: 0, skipped: 0, cancelled: false })
    expect(result.failed).toEqual([
      {
        record: expect.any(Number),
        paraphrase: expect.any(Number),
        pair: expect.stringMatching(/^record 3 of dataset "pairs" \(id \d+\), paraphrase \d+$/),
        reason: `${endpoint.url}/chat/completions: HTTP 500; gave up after 2 tries`,
      },
    ])
    expect(first.stderr).toContain(`record 3 of dataset "pairs"`)
    expect(first.stderr).toContain('Run the same command again to retry them')
    expect(endpoint.seen.every((s) => s.authorization === 'Bearer sk-judge-1')).toBe(true)

    // The rerun asks only about the pair that failed.
    state.broken = false
    const asked = endpoint.seen.length
    const second = await cwbAsync(args)
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toContain('Dataset "pairs": 1 pairs judged, 0 with a different answer (errors)')
    expect(endpoint.seen.slice(asked).map((s) => s.paraphrase)).toEqual([ROWS[2]!.paraphrase])

    // The rule re-check keeps the verdicts, and counts them under judge.
    const checks = cwb(['checks', 'pairs', '--workspace', workspace, '--json'])
    expect(checks.code, checks.stderr).toBe(0)
    const summary = lastJson<{ with_error: number; by_check: Record<string, { error: number; warning: number; note: number }> }>(
      checks.stdout,
    )
    expect(Object.keys(summary)).toEqual(['dataset', 'pairs', 'with_error', 'with_warning', 'by_check'])
    expect(summary.by_check.judge).toEqual({ error: 1, warning: 0, note: 2 })
    expect(summary.by_check.agreement).toBeUndefined()
    const table = cwb(['checks', 'pairs', '--workspace', workspace])
    expect(table.stdout).toMatch(/judge\s+1\s+0\s+2/)
    const db = new Database(join(workspace, 'workbench.db'), { readonly: true })
    try {
      const stored = (db.prepare('SELECT checks FROM paraphrases ORDER BY id').pluck().all() as string[]).map(
        (checks) => JSON.parse(checks) as { findings: { check: string; severity: string; message: string }[] },
      )
      expect(stored.map((c) => c.findings.find((f) => f.check === 'judge')?.severity)).toEqual(['note', 'error', 'note'])
      expect(stored[1]!.findings.find((f) => f.check === 'judge')!.message).toBe(
        'judge-m judges the final answers different: the rewrite asks about a week, not 6 days.',
      )
      // The key was only sent with the requests.
      expect(JSON.stringify(stored)).not.toContain('sk-judge-1')
    } finally {
      db.close()
    }

    // Everything judged: nothing asked; --check/--severity narrow, --again asks anyway.
    const third = await cwbAsync([...args, '--json'])
    expect(lastJson<JudgeJson>(third.stdout)).toMatchObject({ judged: 0, skipped: 3 })
    const again = await cwbAsync([...args, '--again', '--check', 'judge', '--severity', 'error', '--json'])
    expect(lastJson<JudgeJson>(again.stdout)).toMatchObject({ judged: 1, different: 1, skipped: 0 })
  })

  it('refuses a missing model, a bad URL, an unset key variable and an unknown dataset', () => {
    const workspace = freshDir()
    expect(cwb(['judge', 'x', '--endpoint', 'http://127.0.0.1:9/v1', '--workspace', workspace]).stderr).toMatch(
      /required option '--model <name>' not specified/,
    )
    const bad = cwb(['judge', 'x', '--endpoint', 'localhost', '--model', 'm', '--workspace', workspace])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--endpoint localhost: not a URL/)
    const unset = cwb(['judge', 'x', '--endpoint', 'http://127.0.0.1:9/v1', '--model', 'm', '--api-key-env', 'NOT_SET_ANYWHERE'])
    expect(unset.code).toBe(2)
    expect(unset.stderr).toMatch(/--api-key-env NOT_SET_ANYWHERE: that environment variable is not set/)
    const missing = cwb(['judge', 'nope', '--endpoint', 'http://127.0.0.1:9/v1', '--model', 'm', '--workspace', workspace])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/No dataset "nope" in this workspace/)
  })
})
