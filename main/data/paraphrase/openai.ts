// Paraphrase generation (and the model judge, any prompt with its parser) through any OpenAI-compatible
// chat-completions endpoint (vLLM, Ollama, LM Studio, llama.cpp server, hosted APIs). Requests run with a
// concurrency limit; 429 and 5xx answers and network errors are retried with exponential backoff (honouring
// Retry-After); every job ends with a result or a reason.
// The API key is only sent in the Authorization header: it is never stored or exported.

// The markers and the default prompt live in the API contract, so the Generate panel can show the prompt for editing.
import { DEFAULT_REWRITE_PROMPT, REWRITE_END, REWRITE_START } from '../../../preload/contract'

export { DEFAULT_REWRITE_PROMPT, REWRITE_END, REWRITE_START }

export interface EndpointOptions {
  /** Base URL of the API, e.g. http://localhost:8000/v1 (the client appends /chat/completions). */
  url: string
  model: string
  apiKey?: string
  prompt?: string
  temperature?: number
  topP?: number
  maxTokens?: number
  /** Requests in flight at once. */
  concurrency?: number
  /** Retries after the first try for 429, 5xx and network errors. */
  retries?: number
  /** First backoff; doubles each retry (Retry-After wins when the server sends it). */
  backoffMs?: number
  /** Per-request time limit. */
  timeoutMs?: number
}

export interface RewriteJob {
  id: number
  question: string
}

export type RewriteOutcome =
  { id: number; ok: true; text: string; attempts: number } | { id: number; ok: false; reason: string; attempts: number }

/** The text between the rewrite markers, or why there is none. */
export function parseRewrite(content: string): { text: string } | { reason: string } {
  const start = content.lastIndexOf(REWRITE_START)
  if (start === -1) return { reason: `malformed output: no ${REWRITE_START} marker` }
  const end = content.indexOf(REWRITE_END, start)
  if (end === -1) return { reason: `malformed output: no ${REWRITE_END} after ${REWRITE_START}` }
  const text = content.slice(start + REWRITE_START.length, end).trim()
  return text ? { text } : { reason: 'malformed output: the rewrite is empty' }
}

class Retryable extends Error {
  constructor(
    message: string,
    readonly afterMs?: number,
  ) {
    super(message)
  }
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error)
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason as Error)
      },
      { once: true },
    )
  })

/** The chat-completions URL of an API base URL (what failures name). */
export function chatUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/chat/completions`
}

async function requestOnce(options: EndpointOptions, prompt: string, signal?: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 120_000)
  let response: Response
  try {
    response = await fetch(chatUrl(options.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
      body: JSON.stringify({
        model: options.model,
        messages: [{ role: 'user', content: prompt }],
        temperature: options.temperature ?? 0.7,
        top_p: options.topP ?? 0.8,
        max_tokens: options.maxTokens ?? 1024,
      }),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    })
  } catch (error) {
    if (signal?.aborted) throw error
    const err = error as Error
    throw new Retryable(
      err.name === 'TimeoutError' ? `no answer within ${options.timeoutMs ?? 120_000} ms` : `network error: ${err.message}`,
    )
  }
  if (response.status === 429 || response.status >= 500) {
    const retryAfter = Number(response.headers.get('retry-after'))
    throw new Retryable(
      `HTTP ${response.status}${response.status === 429 ? ' (rate limited)' : ''}`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    )
  }
  const body = await response.text()
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${body.trim().slice(0, 200)}`)
  let content: unknown
  try {
    content = (JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content
  } catch {
    throw new Error(`malformed response: not JSON (${body.trim().slice(0, 80)})`)
  }
  if (typeof content !== 'string') throw new Error('malformed response: no choices[0].message.content')
  return content
}

/** A prompt to send, and how to read the reply: a value, or why there is none (not retried). */
export interface ChatJob<T> {
  id: number
  prompt: string
  parse: (content: string) => { value: T } | { reason: string }
}

export type ChatOutcome<T> =
  { id: number; ok: true; value: T; attempts: number } | { id: number; ok: false; reason: string; attempts: number }

/** One prompt's answer, retried as the options allow. */
async function chatOne<T>(options: EndpointOptions, job: ChatJob<T>, signal?: AbortSignal): Promise<ChatOutcome<T>> {
  const retries = options.retries ?? 4
  let backoff = options.backoffMs ?? 1000
  for (let attempt = 1; ; attempt++) {
    try {
      const parsed = job.parse(await requestOnce(options, job.prompt, signal))
      return 'value' in parsed
        ? { id: job.id, ok: true, value: parsed.value, attempts: attempt }
        : { id: job.id, ok: false, reason: parsed.reason, attempts: attempt }
    } catch (error) {
      if (signal?.aborted) throw error
      if (!(error instanceof Retryable)) return { id: job.id, ok: false, reason: (error as Error).message, attempts: attempt }
      if (attempt > retries)
        return { id: job.id, ok: false, reason: `${error.message}; gave up after ${attempt} tries`, attempts: attempt }
      await sleep(error.afterMs ?? backoff, signal)
      backoff *= 2
    }
  }
}

/**
 * Sends every job's prompt, `concurrency` at a time, calling `onOutcome` as each ends (in completion order).
 * Aborting the signal stops new requests and cancels those in flight; the outcomes so far have been delivered.
 */
export async function chatAll<T>(
  options: EndpointOptions,
  jobs: readonly ChatJob<T>[],
  onOutcome: (outcome: ChatOutcome<T>) => void,
  signal?: AbortSignal,
): Promise<{ done: number; cancelled: boolean }> {
  let next = 0
  let done = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length && !signal?.aborted) {
      const job = jobs[next++]!
      try {
        onOutcome(await chatOne(options, job, signal))
        done++
      } catch (error) {
        if (signal?.aborted) return
        throw error
      }
    }
  }
  const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, jobs.length)) }, worker)
  await Promise.all(workers)
  return { done, cancelled: signal?.aborted ?? false }
}

/**
 * Rewrites every job's question, `concurrency` at a time, calling `onOutcome` as each ends (in completion order).
 * Aborting the signal stops new requests and cancels those in flight; the outcomes so far have been delivered.
 */
export async function rewriteAll(
  options: EndpointOptions,
  jobs: readonly RewriteJob[],
  onOutcome: (outcome: RewriteOutcome) => void,
  signal?: AbortSignal,
): Promise<{ done: number; cancelled: boolean }> {
  const template = options.prompt ?? DEFAULT_REWRITE_PROMPT
  const parse = (content: string): { value: string } | { reason: string } => {
    const parsed = parseRewrite(content)
    return 'text' in parsed ? { value: parsed.text } : parsed
  }
  return chatAll(
    options,
    jobs.map((job) => ({ id: job.id, prompt: template.replaceAll('{question}', job.question), parse })),
    (outcome) => onOutcome(outcome.ok ? { id: outcome.id, ok: true, text: outcome.value, attempts: outcome.attempts } : outcome),
    signal,
  )
}
