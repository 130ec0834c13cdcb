// Paraphrase generation against a real local HTTP server that speaks the OpenAI chat-completions API, with slow
// answers, rate limits, server errors and malformed outputs.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { parseRewrite, rewriteAll, type RewriteOutcome } from '../../main/data/paraphrase/openai'

interface Seen {
  body: { model: string; messages: { role: string; content: string }[]; temperature: number }
  authorization?: string
}

type Behaviour = (
  question: string,
  attempt: number,
) => { status?: number; headers?: Record<string, string>; body: string; delayMs?: number }

const servers: Server[] = []
afterEach(() => servers.splice(0).forEach((server) => server.close()))

const reply = (content: string): string => JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] })

async function fakeEndpoint(behaviour: Behaviour): Promise<{ url: string; seen: Seen[]; maxInFlight: () => number }> {
  const seen: Seen[] = []
  const attempts = new Map<string, number>()
  let inFlight = 0
  let maxInFlight = 0
  const server = createServer((request: IncomingMessage, response) => {
    let raw = ''
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()))
    request.on('end', () => {
      if (request.url !== '/v1/chat/completions') {
        response.writeHead(404).end('not found')
        return
      }
      const body = JSON.parse(raw) as Seen['body']
      seen.push({ body, authorization: request.headers.authorization })
      const question = body.messages[0]!.content.split('Problem:\n')[1]!.split('\n\nReply')[0]!
      const attempt = (attempts.get(question) ?? 0) + 1
      attempts.set(question, attempt)
      const answer = behaviour(question, attempt)
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      setTimeout(() => {
        inFlight--
        response.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers }).end(answer.body)
      }, answer.delayMs ?? 5)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen, maxInFlight: () => maxInFlight }
}

const jobs = (n: number): { id: number; question: string }[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, question: `Q${i + 1}: add ${i} and 2.` }))

async function collect(
  options: Parameters<typeof rewriteAll>[0],
  list = jobs(6),
  signal?: AbortSignal,
): Promise<Map<number, RewriteOutcome>> {
  const outcomes = new Map<number, RewriteOutcome>()
  await rewriteAll(options, list, (o) => outcomes.set(o.id, o), signal)
  return outcomes
}

describe('rewriting through an OpenAI-compatible endpoint', () => {
  it('parses the rewrite between the markers and names what is malformed', () => {
    expect(parseRewrite('Sure!\n<rewrite>\nA new problem.\n</rewrite>')).toEqual({ text: 'A new problem.' })
    expect(parseRewrite('A new problem.')).toEqual({ reason: 'malformed output: no <rewrite> marker' })
    expect(parseRewrite('<rewrite>cut off')).toEqual({ reason: 'malformed output: no </rewrite> after <rewrite>' })
    expect(parseRewrite('<rewrite> </rewrite>')).toEqual({ reason: 'malformed output: the rewrite is empty' })
  })

  it('sends the model, prompt and key, and keeps to the concurrency limit with slow answers', async () => {
    const endpoint = await fakeEndpoint((q) => ({ body: reply(`<rewrite>Reworded ${q}</rewrite>`), delayMs: 60 }))
    const outcomes = await collect({ url: endpoint.url, model: 'qwen-test', apiKey: 'sk-secret', concurrency: 2 })
    expect([...outcomes.values()].every((o) => o.ok)).toBe(true)
    expect(outcomes.get(3)).toEqual({ id: 3, ok: true, text: 'Reworded Q3: add 2 and 2.', attempts: 1 })
    expect(endpoint.maxInFlight()).toBe(2)
    expect(endpoint.seen[0]!.body.model).toBe('qwen-test')
    expect(endpoint.seen[0]!.authorization).toBe('Bearer sk-secret')
    expect(endpoint.seen[0]!.body.messages[0]!.content).toContain('different problem on the surface')
  })

  it('retries 429 (after Retry-After) and 5xx with backoff, and gives up with a reason', async () => {
    const endpoint = await fakeEndpoint((q, attempt) => {
      if (q.startsWith('Q1:') && attempt === 1)
        return { status: 429, headers: { 'retry-after': '0.05' }, body: '{"error":"slow down"}' }
      if (q.startsWith('Q2:') && attempt <= 2) return { status: 503, body: 'busy' }
      if (q.startsWith('Q3:')) return { status: 500, body: 'broken' }
      return { body: reply(`<rewrite>R ${q}</rewrite>`) }
    })
    const outcomes = await collect({ url: endpoint.url, model: 'm', retries: 2, backoffMs: 10 }, jobs(4))
    expect(outcomes.get(1)).toMatchObject({ ok: true, attempts: 2 })
    expect(outcomes.get(2)).toMatchObject({ ok: true, attempts: 3 })
    expect(outcomes.get(3)).toEqual({ id: 3, ok: false, reason: 'HTTP 500; gave up after 3 tries', attempts: 3 })
    expect(outcomes.get(4)).toMatchObject({ ok: true, attempts: 1 })
  })

  it('reports malformed outputs and client errors per record without retrying them', async () => {
    const endpoint = await fakeEndpoint((q) => {
      if (q.startsWith('Q1:')) return { body: reply('Here is a rewrite without markers') }
      if (q.startsWith('Q2:')) return { body: 'not json at all' }
      if (q.startsWith('Q3:')) return { body: JSON.stringify({ choices: [] }) }
      if (q.startsWith('Q4:')) return { status: 400, body: '{"error":"model not found"}' }
      return { body: reply(`<rewrite>R ${q}</rewrite>`) }
    })
    const outcomes = await collect({ url: endpoint.url, model: 'm', backoffMs: 10 }, jobs(5))
    expect(outcomes.get(1)).toMatchObject({ ok: false, reason: 'malformed output: no <rewrite> marker', attempts: 1 })
    expect(outcomes.get(2)).toMatchObject({ ok: false, reason: expect.stringMatching(/^malformed response: not JSON/) })
    expect(outcomes.get(3)).toMatchObject({ ok: false, reason: 'malformed response: no choices[0].message.content' })
    expect(outcomes.get(4)).toMatchObject({ ok: false, reason: 'HTTP 400: {"error":"model not found"}', attempts: 1 })
    expect(outcomes.get(5)).toMatchObject({ ok: true })
  })

  it('times out a request that never answers, and retries it', async () => {
    const endpoint = await fakeEndpoint((_, attempt) => ({
      body: reply('<rewrite>late</rewrite>'),
      delayMs: attempt === 1 ? 2000 : 5,
    }))
    const outcomes = await collect({ url: endpoint.url, model: 'm', timeoutMs: 200, backoffMs: 10 }, jobs(1))
    expect(outcomes.get(1)).toMatchObject({ ok: true, text: 'late', attempts: 2 })
  })

  it('stops when cancelled: no new requests, and the finished outcomes are kept', async () => {
    const endpoint = await fakeEndpoint((q) => ({ body: reply(`<rewrite>R ${q}</rewrite>`), delayMs: 40 }))
    const controller = new AbortController()
    const outcomes = new Map<number, RewriteOutcome>()
    const result = await rewriteAll(
      { url: endpoint.url, model: 'm', concurrency: 1 },
      jobs(20),
      (o) => {
        outcomes.set(o.id, o)
        if (outcomes.size === 3) controller.abort()
      },
      controller.signal,
    )
    expect(result).toEqual({ done: 3, cancelled: true })
    expect(endpoint.seen.length).toBe(3)
  })
})
