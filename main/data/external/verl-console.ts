// verl's console logger, as real captured output looks: one `step:N - key:value - key:value ...` line per step,
// possibly prefixed by Ray's `(TaskRunner pid=1234)` tag, coloured with ANSI codes, interleaved with unrelated log
// lines and progress bars (carriage returns), values printed as plain numbers, `nan` / `inf`, or wrapped like
// `np.float64(0.5)`. Only complete lines are read: a last line without its newline is left for the next read.

// CSI sequences (colours, cursor moves) and OSC sequences (titles, links).
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g
const STEP_LINE = /(?:^|[\s)\]|])step:(\d+)\s+-\s+(.*)$/

export interface ConsoleStep {
  step: number
  metrics: Record<string, number>
  /** 1-based line number in the text read. */
  line: number
}

/** A printed value as a number: plain, nan / inf (any case, signed), or wrapped as np.float64(x), tensor(x)... */
export function parseValue(raw: string): number | undefined {
  let text = raw.trim()
  const wrapped = text.match(/^[\w.]+\((.*)\)$/)
  if (wrapped) text = wrapped[1]!.split(',')[0]!.trim()
  const lower = text.toLowerCase()
  if (lower === 'nan' || lower === '+nan' || lower === '-nan') return Number.NaN
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity') return Number.POSITIVE_INFINITY
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY
  if (lower === 'true') return 1
  if (lower === 'false') return 0
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) return undefined
  return Number(text)
}

/** The metrics of one console line, or undefined when it is not a step line. */
export function parseConsoleLine(rawLine: string): { step: number; metrics: Record<string, number> } | undefined {
  // A progress bar redraws with \r: only the text after the last one is on screen.
  const line = rawLine.replace(ANSI, '').split('\r').at(-1)!.trimEnd()
  const match = STEP_LINE.exec(line)
  if (!match) return undefined
  const metrics: Record<string, number> = {}
  for (const part of match[2]!.split(/\s+-\s+/)) {
    const colon = part.indexOf(':') // keys have no colon; values may (tensor(0.5, device='cuda:0'))
    if (colon <= 0) continue
    const key = part.slice(0, colon).trim()
    const value = parseValue(part.slice(colon + 1))
    if (key && value !== undefined) metrics[key] = value
  }
  return { step: Number(match[1]), metrics }
}

/**
 * The step lines of `text` (read from byte `offset` of a file). Returns the steps and how many bytes of complete
 * lines were consumed, so the next read starts at the unterminated rest.
 */
export function parseConsoleText(text: string, firstLine = 1): { steps: ConsoleStep[]; consumedChars: number; lines: number } {
  const lastNewline = text.lastIndexOf('\n')
  if (lastNewline === -1) return { steps: [], consumedChars: 0, lines: 0 }
  const complete = text.slice(0, lastNewline)
  const lines = complete.split('\n')
  const steps: ConsoleStep[] = []
  lines.forEach((line, i) => {
    const parsed = parseConsoleLine(line)
    if (parsed && Object.keys(parsed.metrics).length > 0) steps.push({ ...parsed, line: firstLine + i })
  })
  return { steps, consumedChars: lastNewline + 1, lines: lines.length }
}
