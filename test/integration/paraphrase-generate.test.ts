// Paraphrase generation and the agreement preview through the host's dispatch on a real store: an OpenAI-compatible
// endpoint (a local HTTP server started here: slow answers, 429s, malformed outputs), cancel and resume, the demo
// templates, a local ONNX model (the demo base model: plumbing, it writes no markers), and majority agreement.
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Result } from '../../preload/contract'
import { createDataset } from '../../main/data/datasets'
import { DEMO_TASK_DEFAULTS, generateDemoTask } from '../../main/data/demo'
import { ensureDemoDataset } from '../../main/data/demo/dataset'
import { numbersIn } from '../../main/data/paraphrase/checks'
import { templateParaphrases } from '../../main/data/paraphrase/templates'
import { useBackend } from '../../main/engine/backend'
import type { Store } from '../../main/store/store'
import { collectEvents, hostOnWorkspace } from '../helpers/host'
import { cleanupsAfterEach } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()

beforeAll(async () => {
  await useBackend('wasm')
})

function setUp() {
  const workbench = hostOnWorkspace(cleanups)
  return { ...workbench, progress: collectEvents(workbench.host, 'job.progress') }
}

type Answer = { status?: number; headers?: Record<string, string>; body: string; delayMs?: number }

const reply = (content: string): string => JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] })

/** A local server speaking the chat-completions API; `behaviour` answers each question's n-th request. */
async function fakeEndpoint(behaviour: (question: string, attempt: number) => Answer) {
  const authorizations: (string | undefined)[] = []
  const attempts = new Map<string, number>()
  const server: Server = createServer((request, response) => {
    let raw = ''
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()))
    request.on('end', () => {
      const body = JSON.parse(raw) as { messages: { content: string }[] }
      authorizations.push(request.headers.authorization)
      const question = body.messages[0]!.content.split('Problem:\n')[1]!.split('\n\nReply')[0]!
      const attempt = (attempts.get(question) ?? 0) + 1
      attempts.set(question, attempt)
      const answer = behaviour(question, attempt)
      const timer = setTimeout(
        () =>
          response.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers }).end(answer.body),
        answer.delayMs ?? 5,
      )
      response.on('close', () => clearTimeout(timer))
    })
  })
  cleanups.push(
    () => server.closeAllConnections(),
    () => server.close(),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, authorizations }
}

const QUESTIONS = Array.from({ length: 6 }, (_, i) => `Maya has ${i + 3} shells and finds 2 more. How many shells now?`)

function questionsDataset(store: Store): number {
  return createDataset(store.db, {
    name: 'shells',
    records: QUESTIONS.map((question, i) => ({ question, answer: String(i + 5) })),
  }).id
}

const rewriteOf = (question: string): string => question.replace('Maya has', 'Leo keeps').replace('shells', 'stamps')

describe('generating through an OpenAI-compatible endpoint', () => {
  it('stores pending llm paraphrases with their checks, a reason per failed record, and never the key', async () => {
    const { dir, store, call, progress } = setUp()
    const dataset = questionsDataset(store)
    const endpoint = await fakeEndpoint((question, attempt) => {
      if (question === QUESTIONS[1]) return { body: reply('I would rather not.') }
      if (question === QUESTIONS[2] && attempt === 1) return { status: 429, headers: { 'retry-after': '0.01' }, body: '{}' }
      if (question === QUESTIONS[3]) return { body: reply(`<rewrite>Leo has 5 stamps and 2 more: 8 in all.</rewrite>`) }
      return { body: reply(`<rewrite>${rewriteOf(question)}</rewrite>`), delayMs: 20 }
    })
    const result = await call('paraphrases.generate', {
      dataset,
      job: 'gen-1',
      source: { kind: 'endpoint', url: endpoint.url, model: 'local-test', apiKey: 'sk-test-secret-4242', concurrency: 2 },
    })
    expect(result.generated).toBe(5)
    expect(result.cancelled).toBe(false)
    expect(result.failed).toEqual([{ record: 2, reason: 'malformed output: no <rewrite> marker' }])
    expect(endpoint.authorizations.every((a) => a === 'Bearer sk-test-secret-4242')).toBe(true)

    const rows = (await call('datasets.records', { dataset })).rows
    expect(rows.map((r) => r.paraphrases.length)).toEqual([1, 0, 1, 1, 1, 1])
    expect(rows[0]!.paraphrases[0]).toMatchObject({
      text: rewriteOf(QUESTIONS[0]!),
      origin: 'llm',
      status: 'pending',
      failed: [],
    })
    // A changed number (one missing, one new) and the answer given away: errors, each saying what to look at.
    expect(rows[3]!.paraphrases[0]!.failed).toEqual(['numbers', 'answer_leak', 'new_numbers'])
    expect(rows[3]!.paraphrases[0]!.findings.every((f) => f.severity === 'error' && f.message.length > 20)).toBe(true)
    const events = progress.filter((p) => p.job === 'gen-1')
    expect(events.every((p) => p.kind === 'generate' && p.total === 6)).toBe(true)
    expect(events.at(-1)).toMatchObject({ done: 6, total: 6 })

    // The key was only in the requests: not in the store, not in an export.
    const exported = await call('datasets.export', { dataset, format: 'jsonl' })
    store.db.pragma('wal_checkpoint(TRUNCATE)')
    for (const file of [...readdirSync(dir).map((f) => join(dir, f)), ...exported.files]) {
      if (file.endsWith('exports')) continue
      expect(readFileSync(file).includes('sk-test-secret-4242'), file).toBe(false)
    }
  })

  it('stops on cancel keeping what it made, and a rerun skips the records that have a paraphrase', async () => {
    const { store, host, call, progress } = setUp()
    const dataset = questionsDataset(store)
    const endpoint = await fakeEndpoint((question) => ({
      body: reply(`<rewrite>${rewriteOf(question)}</rewrite>`),
      delayMs: 150,
    }))
    const source = { kind: 'endpoint' as const, url: endpoint.url, model: 'local-test', concurrency: 1 }
    const running = host.dispatch('paraphrases.generate', { dataset, job: 'slow', source })
    while (!progress.some((p) => p.job === 'slow' && p.done >= 2)) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(await call('jobs.cancel', { job: 'slow' })).toEqual({ cancelled: true })
    const first = (await running) as { ok: true; result: Result<'paraphrases.generate'> }
    expect(first.ok).toBe(true)
    expect(first.result.cancelled).toBe(true)
    expect(first.result.generated).toBeGreaterThanOrEqual(2)
    expect(first.result.generated).toBeLessThan(6)

    const second = await call('paraphrases.generate', { dataset, job: 'resume', source })
    expect(second).toEqual({ generated: 6 - first.result.generated, failed: [], cancelled: false })
    const counts = (await call('datasets.records', { dataset })).rows.map((r) => r.paraphrases.length)
    expect(counts).toEqual([1, 1, 1, 1, 1, 1])
    expect(await call('paraphrases.generate', { dataset, job: 'again', source })).toEqual({
      generated: 0,
      failed: [],
      cancelled: false,
    })
  })
})

describe('template paraphrases of the demo task', () => {
  it('retells demo problems in the other families of their type, keeping every number, pending review', async () => {
    const { store, call, progress } = setUp()
    const dataset = ensureDemoDataset(store.db, { train: 6, validation: 2, test: 2 })
    expect(await call('paraphrases.generate', { dataset, job: 't0', source: { kind: 'templates' } })).toEqual({
      generated: 0,
      failed: [],
      cancelled: false,
    })
    const result = await call('paraphrases.generate', {
      dataset,
      job: 't1',
      source: { kind: 'templates' },
      skipDone: false,
      limit: 2,
    })
    expect(result).toEqual({ generated: 10, failed: [], cancelled: false })
    expect(progress.filter((p) => p.job === 't1').at(-1)).toMatchObject({ kind: 'generate', done: 2, total: 2 })
    const [first] = (await call('datasets.records', { dataset, limit: 1 })).rows
    const fresh = first!.paraphrases.filter((p) => p.status === 'pending')
    expect(fresh).toHaveLength(5)
    const old = first!.paraphrases.filter((p) => p.status === 'accepted').map((p) => p.text)
    for (const p of fresh) {
      expect(p).toMatchObject({ origin: 'template', failed: [] })
      expect(old).not.toContain(p.text)
      expect(numbersIn(p.text).sort()).toEqual(numbersIn(first!.question).sort())
    }
    expect(new Set(fresh.map((p) => p.checks.family)).size).toBe(5)
  })

  it('recovers the numbers of a question whose template names them out of order, and refuses other datasets', async () => {
    const record = generateDemoTask(DEMO_TASK_DEFAULTS).records.find((r) => r.type === 'equal-groups' && r.family === 'reading')!
    const outcome = templateParaphrases(
      { id: 1, question: record.question, answer: record.answer, source: { type: record.type, family: record.family } },
      [],
      0,
    )
    const [a, b] = record.numbers
    expect(outcome.ok && outcome.texts.find((t) => t.family === 'crayon-boxes')?.text).toMatch(
      new RegExp(`buys ${a} boxes of crayons with ${b} crayons in each box`),
    )
    expect(
      templateParaphrases({ id: 1, question: 'Edited.', answer: '3', source: { type: record.type, family: 'reading' } }, [], 0),
    ).toEqual({
      ok: false,
      reason: expect.stringMatching(/cannot recover the problem's numbers/),
    })

    const { store, refuse } = setUp()
    const dataset = questionsDataset(store)
    expect(await refuse('paraphrases.generate', { dataset, job: 't', source: { kind: 'templates' } })).toEqual({
      code: 'invalid_request',
      message: expect.stringMatching(
        /^Template paraphrases exist only for the demo task's problems .* dataset "shells" has none/,
      ),
    })
  })
})

describe('a local ONNX model and the agreement preview (the demo base model)', () => {
  it('runs the model on each question and reports per record why no rewrite came out', async () => {
    const { store, call } = setUp()
    const dataset = ensureDemoDataset(store.db, { train: 4, validation: 0, test: 0 })
    const short = await call('paraphrases.generate', {
      dataset,
      job: 'onnx-1',
      source: { kind: 'onnx', checkpoint: 'base', prompt: '{question}', maxTokens: 8 },
      limit: 2,
      skipDone: false,
    })
    expect(short.generated).toBe(0)
    expect(short.failed).toEqual([
      { record: 1, reason: 'malformed output: no <rewrite> marker' },
      { record: 2, reason: 'malformed output: no <rewrite> marker' },
    ])
    const long = await call('paraphrases.generate', {
      dataset,
      job: 'onnx-2',
      source: { kind: 'onnx', checkpoint: 'base' },
      limit: 1,
      skipDone: false,
    })
    expect(long.failed).toEqual([{ record: 1, reason: expect.stringMatching(/passes the model's context of 80/) }])
  })

  it('samples both versions of each pair and compares their majority answers, flagging disagreements', async () => {
    const { store, call, refuse, progress } = setUp()
    const dataset = ensureDemoDataset(store.db, { train: 2, validation: 0, test: 0 })
    const results = await call('paraphrases.agreement', { checkpoint: 'base', records: [1, 2], samples: 3, job: 'agree' })
    expect(results).toHaveLength(10)
    for (const r of results) {
      const votes = (v: Record<string, number>) => Object.values(v).reduce((a, b) => a + b, 0)
      expect(votes(r.originalVotes)).toBeLessThanOrEqual(3)
      expect(votes(r.rewriteVotes)).toBeLessThanOrEqual(3)
      expect(r.agree).toBe(r.original !== '' && r.original === r.rewrite)
    }
    expect(progress.filter((p) => p.job === 'agree').at(-1)).toMatchObject({ kind: 'agreement', done: 2, total: 2 })
    const flagged = (await call('datasets.records', { dataset })).rows.map((r) => r.flags.includes('majority-disagrees'))
    expect(flagged).toEqual([1, 2].map((record) => results.some((r) => r.record === record && !r.agree)))

    store.db.exec(`UPDATE paraphrases SET status = 'rejected' WHERE record_id = 2`)
    expect(await refuse('paraphrases.agreement', { checkpoint: 'base', records: [1, 2], job: 'x' })).toEqual({
      code: 'invalid_request',
      message:
        'records: record 2 of dataset "demo-arithmetic" (id 2) has no paraphrase that is not rejected; leave it out or add one.',
    })
    expect(await refuse('paraphrases.agreement', { checkpoint: 'nowhere:3', records: [1], job: 'y' })).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^checkpoint: No run "nowhere"/),
    })
  })
})
