// The model checks (issue 17, item 1) on a real store: the judge through a stand-in endpoint (a real local HTTP
// server speaking the chat-completions API) and the agreement preview with the shipped base model, both stored per
// pair as findings, filterable, resumable, and kept by a rule re-check of the same text.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Result } from '../../preload/contract'
import { createDataset, editParaphrase, recheckDataset } from '../../main/data/datasets'
import { ensureDemoDataset } from '../../main/data/demo/dataset'
import { judgeParaphrases, judgePrompt, parseVerdict } from '../../main/data/paraphrase/judge'
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

type Answer = { status?: number; body: string; delayMs?: number }

const reply = (content: string): string => JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] })

/** A stand-in endpoint: `behaviour` answers each rewritten problem's n-th request; every request's model is kept. */
async function standInEndpoint(behaviour: (paraphrase: string, attempt: number) => Answer) {
  const requests: { model: string; paraphrase: string; temperature: number }[] = []
  const attempts = new Map<string, number>()
  const server: Server = createServer((request, response) => {
    let raw = ''
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()))
    request.on('end', () => {
      const body = JSON.parse(raw) as { model: string; temperature: number; messages: { content: string }[] }
      const paraphrase = body.messages[0]!.content.split('Rewritten problem:\n')[1]!.split('\n')[0]!
      requests.push({ model: body.model, paraphrase, temperature: body.temperature })
      const attempt = (attempts.get(paraphrase) ?? 0) + 1
      attempts.set(paraphrase, attempt)
      const answer = behaviour(paraphrase, attempt)
      const timer = setTimeout(
        () => response.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(answer.body),
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
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests }
}

const PAIRS = [
  {
    question: 'Maya has 3 shells and finds 2 more. How many shells now?',
    answer: '5',
    paraphrase: 'Leo keeps 3 stamps and gets 2 more. How many stamps now?',
  },
  {
    question: 'Tom reads 4 pages a day for 6 days. How many pages?',
    answer: '24',
    paraphrase: 'Ann reads 4 pages a day for 7 days. How many pages?',
  },
  {
    question: 'A box holds 12 eggs. How many eggs in 2 boxes?',
    answer: '24',
    paraphrase: 'Two boxes each hold 12 eggs. How many eggs in all?',
  },
  {
    question: 'Sam has 10 coins and spends 4. How many are left?',
    answer: '6',
    paraphrase: 'Sam starts with 10 coins and spends 4 of them. How many remain?',
  },
]

/** The judge's replies, by the rewrite they are about: plain lines, JSON, a thinking model, and no verdict at all. */
function judgeReply(paraphrase: string): string {
  if (paraphrase.startsWith('Leo')) return 'SAME: only the names and objects changed.'
  if (paraphrase.startsWith('Ann'))
    return '<think>6 days vs 7 days...</think>\nThe day count moved.\n**DIFFERENT** - 7 days instead of 6 gives 28, not 24.'
  if (paraphrase.startsWith('Two')) return '{"verdict": "same", "reason": "2 boxes of 12 eggs either way"}'
  return 'Hmm, both seem to be about coins, hard to say.'
}

function pairsDataset(store: Store): number {
  return createDataset(store.db, {
    name: 'pairs',
    records: PAIRS.map(({ question, answer, paraphrase }) => ({
      question,
      answer,
      paraphrases: [{ text: paraphrase, origin: 'imported', status: 'accepted' }],
    })),
  }).id
}

describe('the model judge through a stand-in endpoint', () => {
  it('reads verdict lines, JSON and thinking models, and records a reply without a verdict as unsure', () => {
    expect(parseVerdict('SAME: both ask for 5.')).toEqual({ verdict: 'same', reason: 'both ask for 5.', parsed: true })
    expect(parseVerdict('Let me see.\nThe rewrite adds a day.\nDIFFERENT: 7 days, not 6.')).toEqual({
      verdict: 'different',
      reason: '7 days, not 6.',
      parsed: true,
    })
    expect(parseVerdict('Verdict: **unsure** — the units are unclear')).toMatchObject({ verdict: 'unsure', parsed: true })
    expect(parseVerdict('DIFFERENT\nThe rewrite asks for the area.')).toMatchObject({
      verdict: 'different',
      reason: 'The rewrite asks for the area.',
    })
    expect(parseVerdict('```json\n{"verdict": "DIFFERENT", "reason": "asks for the perimeter"}\n```')).toEqual({
      verdict: 'different',
      reason: 'asks for the perimeter',
      parsed: true,
    })
    expect(parseVerdict('<think>SAME? no wait</think>\nSAME: ok')).toMatchObject({ verdict: 'same', reason: 'ok' })
    const rambling = parseVerdict(`They look alike to me, ${'really '.repeat(100)}alike.`)
    expect(rambling).toMatchObject({ verdict: 'unsure', parsed: false })
    expect(rambling.reason.length).toBeLessThanOrEqual(300)
    expect(parseVerdict('   ')).toEqual({ verdict: 'unsure', reason: 'the reply was empty', parsed: false })
    // The prompt states the pair and the original's answer, and asks for the fixed line.
    const prompt = judgePrompt('Q {paraphrase}', 'P', '5')
    expect(prompt).toContain('Original problem:\nQ {paraphrase}\n\nRewritten problem:\nP\n')
    expect(prompt).toContain("The original problem's answer is: 5")
    expect(prompt).toMatch(/SAME .*DIFFERENT .*UNSURE/s)
  })

  it('stores each verdict as a finding of check judge, filterable by check and severity, and a rerun skips judged pairs', async () => {
    const { store, call, progress } = setUp()
    const dataset = pairsDataset(store)
    const endpoint = await standInEndpoint((paraphrase) => ({ body: reply(judgeReply(paraphrase)) }))
    const params = { dataset, job: 'judge-1', url: endpoint.url, model: 'judge-model', concurrency: 2 }
    const result = await call('paraphrases.judge', params)
    expect(result).toEqual({ judged: 4, same: 2, different: 1, unsure: 1, skipped: 0, failed: [], cancelled: false })
    expect(endpoint.requests.every((r) => r.model === 'judge-model' && r.temperature === 0)).toBe(true)
    const events = progress.filter((p) => p.job === 'judge-1')
    expect(events.every((p) => p.kind === 'judge' && p.total === 4)).toBe(true)
    expect(events.at(-1)).toMatchObject({ done: 4, total: 4 })

    const rows = (await call('datasets.records', { dataset })).rows
    const judged = rows.map((row) => row.paraphrases[0]!.findings.find((f) => f.check === 'judge'))
    expect(judged.map((f) => f?.severity)).toEqual(['note', 'error', 'note', 'warning'])
    expect(judged[1]!.message).toBe('judge-model judges the final answers different: 7 days instead of 6 gives 28, not 24.')
    expect(judged[3]!.message).toBe(
      'judge-model gave no verdict line (counted as unsure); it said: Hmm, both seem to be about coins, hard to say.',
    )
    // The rule findings are still there beside it (the rewrite of record 2 changed a number), errors first.
    const second = rows[1]!.paraphrases[0]!
    expect(second.failed).toEqual(expect.arrayContaining(['judge', 'numbers']))
    expect(second.findings[0]!.severity).toBe('error')

    // Filters and counts see it as any check.
    const errors = await call('datasets.records', { dataset, filter: { failedCheck: 'judge', severity: 'error' } })
    expect(errors.rows.map((r) => r.position)).toEqual([1])
    const unsure = await call('datasets.records', { dataset, filter: { failedCheck: 'judge', severity: 'warning' } })
    expect(unsure.rows.map((r) => r.position)).toEqual([3])
    const detail = await call('datasets.get', { dataset })
    expect(detail.byFailedCheck).toMatchObject({ judge: 4, agreement: 0 })

    // Resume: judged pairs are skipped (no request); --again or another model asks again.
    const before = endpoint.requests.length
    expect(await call('paraphrases.judge', { ...params, job: 'judge-2' })).toMatchObject({ judged: 0, skipped: 4 })
    expect(endpoint.requests.length).toBe(before)
    expect(progress.filter((p) => p.job === 'judge-2').at(-1)).toMatchObject({ done: 0, total: 0 })
    expect(
      await call('paraphrases.judge', {
        ...params,
        job: 'judge-3',
        again: true,
        filter: { failedCheck: 'judge', severity: 'error' },
      }),
    ).toMatchObject({
      judged: 1,
      different: 1,
      skipped: 0,
    })
    expect(await call('paraphrases.judge', { ...params, job: 'judge-4', model: 'other-model', limit: 1 })).toMatchObject({
      judged: 1,
      skipped: 0,
    })
    const replaced = (await call('datasets.records', { dataset })).rows[0]!.paraphrases[0]!
    expect(replaced.findings.filter((f) => f.check === 'judge')).toEqual([
      {
        check: 'judge',
        severity: 'note',
        message: 'other-model judges the final answers the same: only the names and objects changed.',
      },
    ])
  })

  it('keeps model findings through a rule re-check, and drops them when the text they judged is edited', async () => {
    const { store, call } = setUp()
    const dataset = pairsDataset(store)
    const endpoint = await standInEndpoint((paraphrase) => ({ body: reply(judgeReply(paraphrase)) }))
    await call('paraphrases.judge', { dataset, job: 'j', url: endpoint.url, model: 'judge-model' })
    const summary = recheckDataset(store.db, dataset)
    expect(summary.byCheck.judge).toEqual({ error: 1, warning: 1, note: 2 })
    expect(summary.byCheck.agreement).toBeUndefined()
    expect(summary.withError).toBeGreaterThanOrEqual(1)
    const rows = (await call('datasets.records', { dataset, filter: { failedCheck: 'judge' } })).rows
    expect(rows).toHaveLength(4)

    const first = rows[0]!.paraphrases[0]!
    editParaphrase(store.db, first.id, { text: 'Leo keeps 3 stamps and gets 5 more. How many stamps now?' })
    const edited = (await call('datasets.records', { dataset })).rows[0]!.paraphrases[0]!
    expect(edited.findings.some((f) => f.check === 'judge')).toBe(false)
    expect(edited.checks.models).toBeUndefined()
    // Only the edited pair is judged again.
    expect(await call('paraphrases.judge', { dataset, job: 'j2', url: endpoint.url, model: 'judge-model' })).toMatchObject({
      judged: 1,
      skipped: 3,
    })
  })

  it('stops on cancel keeping the verdicts stored, and the rerun judges only the rest', async () => {
    const { store, host, call, progress } = setUp()
    const dataset = pairsDataset(store)
    const endpoint = await standInEndpoint((paraphrase) => ({ body: reply(judgeReply(paraphrase)), delayMs: 150 }))
    const params = { dataset, url: endpoint.url, model: 'judge-model', concurrency: 1 }
    const running = host.dispatch('paraphrases.judge', { ...params, job: 'slow' })
    while (!progress.some((p) => p.job === 'slow' && p.done >= 2)) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(await call('jobs.cancel', { job: 'slow' })).toEqual({ cancelled: true })
    const first = (await running) as { ok: true; result: Result<'paraphrases.judge'> }
    expect(first.result.cancelled).toBe(true)
    expect(first.result.judged).toBeGreaterThanOrEqual(2)
    const stored = (await call('datasets.records', { dataset, filter: { failedCheck: 'judge' } })).total
    expect(stored).toBe(first.result.judged)
    const second = await call('paraphrases.judge', { ...params, job: 'resume' })
    expect(second).toMatchObject({ judged: 4 - stored, skipped: stored, cancelled: false })
  })

  it('retries HTTP 500 with backoff, then fails naming the pair, the URL and the status, storing nothing for it', async () => {
    const { store } = setUp()
    const dataset = pairsDataset(store)
    const endpoint = await standInEndpoint((paraphrase) =>
      paraphrase.startsWith('Ann') ? { status: 500, body: 'model crashed' } : { body: reply(judgeReply(paraphrase)) },
    )
    const result = await judgeParaphrases(store.db, {
      datasetId: dataset,
      filter: {},
      endpoint: { url: endpoint.url, model: 'judge-model', retries: 2, backoffMs: 10 },
      again: false,
    })
    expect(result).toMatchObject({ judged: 3, cancelled: false })
    expect(result.failed).toEqual([
      {
        record: expect.any(Number),
        paraphrase: expect.any(Number),
        pair: expect.stringMatching(/^record 2 of dataset "pairs" \(id \d+\), paraphrase \d+$/),
        reason: `${endpoint.url}/chat/completions: HTTP 500; gave up after 3 tries`,
      },
    ])
    expect(endpoint.requests.filter((r) => r.paraphrase.startsWith('Ann'))).toHaveLength(3)
    // The failed pair has no verdict, so the next run asks about it (and only it) again.
    const again = await judgeParaphrases(store.db, {
      datasetId: dataset,
      filter: {},
      endpoint: { url: endpoint.url, model: 'judge-model', retries: 0 },
      again: false,
    })
    expect(again).toMatchObject({ judged: 0, skipped: 3 })
    expect(again.failed).toHaveLength(1)
  })

  it('refuses a bad URL and an unknown dataset', async () => {
    const { refuse } = setUp()
    expect(await refuse('paraphrases.judge', { dataset: 1, job: 'x', url: 'not a url', model: 'm' })).toMatchObject({
      code: 'invalid_request',
    })
    expect(await refuse('paraphrases.judge', { dataset: 99, job: 'x', url: 'http://127.0.0.1:9/v1', model: 'm' })).toMatchObject({
      code: 'not_found',
    })
  })
})

describe('the agreement preview stored per pair (the demo base model)', () => {
  it(
    'stores each pair as a finding of check agreement, skips pairs sampled with the same checkpoint and G, and keeps the flag',
    { timeout: 60_000 },
    async () => {
      const { store, call, progress } = setUp()
      const dataset = ensureDemoDataset(store.db, { train: 1, validation: 0, test: 0 })
      const results = await call('paraphrases.agreement', { checkpoint: 'base', records: [1], samples: 2, job: 'agree-1' })
      expect(results.length).toBeGreaterThan(0)
      const rows = (await call('datasets.records', { dataset })).rows
      for (const paraphrase of rows[0]!.paraphrases) {
        const result = results.find((r) => r.paraphrase === paraphrase.id)!
        const finding = paraphrase.findings.find((f) => f.check === 'agreement')!
        expect(finding.severity).toBe(result.agree ? 'note' : result.original === '' ? 'warning' : 'error')
        expect(finding.message).toMatch(result.agree ? /^Majority answers agree on base \(G=2\)/ : /base \(G=2\)/)
      }
      expect(rows[0]!.flags.includes('majority-disagrees')).toBe(results.some((r) => !r.agree))

      // The same checkpoint and G: the stored results come back without sampling (no progress of a record).
      const again = await call('paraphrases.agreement', { checkpoint: 'base', records: [1], samples: 2, job: 'agree-2' })
      expect(again).toEqual(results)
      expect(progress.filter((p) => p.job === 'agree-2').some((p) => p.done > 0)).toBe(false)
      // A rule re-check keeps them.
      const summary = recheckDataset(store.db, dataset)
      const counts = summary.byCheck.agreement!
      expect(counts.error + counts.warning + counts.note).toBe(results.length)
      const filtered = await call('datasets.records', { dataset, filter: { failedCheck: 'agreement' } })
      expect(filtered.total).toBe(1)
    },
  )
})
