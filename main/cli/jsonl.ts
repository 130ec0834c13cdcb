// JSON Lines in, JSON Lines out, line by line: what the offline scoring commands share. A malformed line
// stops the command with `line N: field: problem` on stderr; lines already answered stay printed.
import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { Option } from 'commander'
import type { z } from 'zod'
import { EXIT } from './errors'
import { fileErrorWords } from '../fs-errors'
import { plainErrors } from '../plain-errors'

/** A malformed input line; printed as `line N: field: problem`. */
export class LineError extends Error {
  constructor(line: number, field: string, problem: string) {
    super(`line ${line}: ${field}: ${problem}`)
  }
}

const withArticle = (noun: string): string => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`
const kindOf = (value: unknown): string => (value === null ? 'null' : withArticle(Array.isArray(value) ? 'array' : typeof value))

/** zod's first issue as `field: problem`, the field path written as in the JSON (responses[2]). */
function firstProblem(error: z.ZodError): [string, string] {
  const issue = error.issues[0]!
  const field = issue.path.reduce<string>(
    (path, key) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key)),
    '',
  )
  let problem = issue.message
  if (issue.code === 'invalid_type')
    problem = `${issue.input === undefined ? 'missing' : `got ${kindOf(issue.input)}`}; expected ${withArticle(issue.expected)}`
  if (issue.code === 'too_small' && issue.origin === 'array') problem = 'got an empty array; give at least one response'
  return [field || '(line)', problem]
}

/** Validates one parsed JSONL record, or throws the LineError that names its first problem. */
export function parseLine<T>(schema: z.ZodType<T>, record: unknown, line: number): T {
  const result = schema.safeParse(record, { reportInput: true, error: plainErrors })
  if (result.success) return result.data
  throw new LineError(line, ...firstProblem(result.error))
}

/** One JSONL line parsed, or the LineError that says it is not JSON. */
export function parseJsonLine(text: string, line: number): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new LineError(line, '(line)', `not valid JSON (${(error as Error).message})`)
  }
}

/**
 * Streams JSONL from a file or stdin ("-") in batches of up to `batchSize` lines: `parse` checks each non-blank line,
 * `compute` answers a batch with one result per line, each printed as one JSON line, in order. A malformed line
 * prints `line N: field: problem` on stderr and stops (exit 1), once the valid lines before it are answered.
 */
export async function mapJsonLineBatches<Row>(
  input: string,
  batchSize: number,
  parse: (text: string, line: number) => Row,
  compute: (rows: Row[]) => unknown[] | Promise<unknown[]>,
): Promise<void> {
  const lines = createInterface({ input: input === '-' ? process.stdin : createReadStream(input), crlfDelay: Infinity })
  // A reader that stops early (`| head`) closes stdout: stop reading, as other Unix tools do, without an error.
  const stopOnClosedOutput = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') lines.close()
  }
  process.stdout.on('error', stopOnClosedOutput)
  let batch: Row[] = []
  const flush = async (): Promise<void> => {
    const rows = batch
    batch = []
    if (rows.length === 0) return
    const text = (await compute(rows)).map((result) => `${JSON.stringify(result)}\n`).join('')
    if (!process.stdout.write(text)) await once(process.stdout, 'drain')
  }
  let line = 0
  try {
    for await (const text of lines) {
      line += 1
      if (text.trim() === '') continue
      batch.push(parse(text, line))
      if (batch.length >= batchSize) await flush()
    }
    await flush()
  } catch (error) {
    if (error instanceof LineError) {
      await flush()
      process.stderr.write(`${error.message}\n`)
      process.exitCode = EXIT.failure
      return
    }
    const { code, syscall } = error as NodeJS.ErrnoException
    if (code === 'EPIPE') return
    if (code && (syscall === 'open' || syscall === 'read'))
      throw new Error(`cannot read --input ${input}: ${fileErrorWords(error)}; give a readable JSONL file, or - for stdin`, {
        cause: error,
      })
    throw error
  } finally {
    lines.close()
    process.stdout.off('error', stopOnClosedOutput)
  }
}

/** Line by line: each record's result is printed as soon as it is computed. */
export function mapJsonLines(input: string, compute: (record: unknown, line: number) => unknown): Promise<void> {
  return mapJsonLineBatches(
    input,
    1,
    (text, line) => ({ record: parseJsonLine(text, line), line }),
    (rows) => rows.map(({ record, line }) => compute(record, line)),
  )
}

export const inputOption = (): Option =>
  new Option('--input <file>', 'JSONL to read, one record per line ("-" reads stdin)').makeOptionMandatory()
