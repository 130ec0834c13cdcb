// JSON Lines in, JSON Lines out, line by line: what the offline scoring commands share. A malformed line
// stops the command with `line N: field: problem` on stderr; lines already answered stay printed.
import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { Option } from 'commander'
import type { z } from 'zod'
import { EXIT } from './errors'

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
  const result = schema.safeParse(record, { reportInput: true })
  if (result.success) return result.data
  throw new LineError(line, ...firstProblem(result.error))
}

/**
 * Streams JSONL from a file or stdin ("-"): each non-blank line is parsed and handed to `compute`, whose result is
 * printed as one JSON line at once. A malformed line prints `line N: field: problem` on stderr and stops (exit 1).
 */
export async function mapJsonLines(input: string, compute: (record: unknown, line: number) => unknown): Promise<void> {
  const lines = createInterface({ input: input === '-' ? process.stdin : createReadStream(input), crlfDelay: Infinity })
  // A reader that stops early (`| head`) closes stdout: stop reading, as other Unix tools do, without an error.
  const stopOnClosedOutput = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') lines.close()
  }
  process.stdout.on('error', stopOnClosedOutput)
  let line = 0
  try {
    for await (const text of lines) {
      line += 1
      if (text.trim() === '') continue
      let record: unknown
      try {
        record = JSON.parse(text)
      } catch (error) {
        throw new LineError(line, '(line)', `not valid JSON (${(error as Error).message})`)
      }
      if (!process.stdout.write(`${JSON.stringify(compute(record, line))}\n`)) await once(process.stdout, 'drain')
    }
  } catch (error) {
    if (error instanceof LineError) {
      process.stderr.write(`${error.message}\n`)
      process.exitCode = EXIT.failure
      return
    }
    const { code, syscall } = error as NodeJS.ErrnoException
    if (code === 'EPIPE') return
    if (code && (syscall === 'open' || syscall === 'read'))
      throw new Error(`cannot read --input ${input} (${code}); give a readable JSONL file, or - for stdin`, { cause: error })
    throw error
  } finally {
    lines.close()
    process.stdout.off('error', stopOnClosedOutput)
  }
}

export const inputOption = (): Option =>
  new Option('--input <file>', 'JSONL to read, one record per line ("-" reads stdin)').makeOptionMandatory()
