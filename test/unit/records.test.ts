// The pieces under the pair editor: the user's search words as a safe FTS5 query, check findings as a bit mask,
// progress of background jobs at most ~10 a second, and upload names that cannot leave the uploads folder.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { EventPayload } from '../../preload/contract'
import { isUpload, safeFileName, uploadedName, uploadPath } from '../../main/data/import/uploads'
import { JobRegistry } from '../../main/services/jobs'
import { checkColumns, findingMask, ftsQuery, recordFilterSql } from '../../main/store/records'

describe('search words', () => {
  it('quotes every word, requires them all, and searches the last as a prefix', () => {
    expect(ftsQuery('two apples')).toBe('"two" "apples"*')
    expect(ftsQuery('  Crème  brûlée ')).toBe('"Crème" "brûlée"*')
  })

  it('keeps FTS5 syntax out: quotes, operators, columns and parentheses are just separators or words', () => {
    expect(ftsQuery('"a" OR b* NEAR(c, 2) question:d -e ^f')).toBe('"a" "OR" "b" "NEAR" "c" "2" "question" "d" "e" "f"*')
    expect(ftsQuery('x^2 + $\\frac{1}{2}$')).toBe('"x" "2" "frac" "1" "2"*')
  })

  it('has no query for text without word characters (the filter then looks for the text itself)', () => {
    expect(ftsQuery('$ + ?')).toBeUndefined()
    expect(recordFilterSql(1, { search: '$' })).toMatchObject({ params: { dataset: 1, needle: '$' } })
  })
})

describe('check findings', () => {
  it('are one bit per check and severity, so a filter by either or both is one mask', () => {
    // Three severities per check, in the checks' order: numbers is bits 0-2, expressions 3-5, answer_leak 6-8.
    expect(findingMask('numbers', 'error')).toBe(1)
    expect(findingMask('expressions', 'note')).toBe(1 << 5)
    expect(findingMask('answer_leak')).toBe((1 << 6) | (1 << 7) | (1 << 8))
    expect(findingMask(undefined, 'warning') & findingMask('numbers')).toBe(1 << 1)
    const stored = checkColumns({
      findings: [
        { check: 'numbers', severity: 'error', message: 'm' },
        { check: 'expressions', severity: 'note', message: 'm' },
      ],
    })
    expect(stored.mask).toBe(1 | (1 << 5))
    expect(stored.mask! & findingMask(undefined, 'error')).not.toBe(0)
    expect(stored.mask! & findingMask(undefined, 'warning')).toBe(0)
  })

  it('of an older version (a failed list, no severities) are stored as not checked yet', () => {
    expect(checkColumns({ failed: ['numbers'] }).mask).toBeNull()
    expect(checkColumns({ findings: [] }).mask).toBe(0)
  })
})

describe('job progress', () => {
  it('is throttled within a stage, but a new stage and the end always go out', async () => {
    const sent: EventPayload<'job.progress'>[] = []
    const jobs = new JobRegistry((payload) => sent.push(payload))
    await jobs.run('j', 'import', async (job) => {
      for (let i = 0; i < 1000; i++) job.progress('reading', i, 1000)
      job.progress('storing', 0, 1)
      job.progress('storing', 1, 1)
    })
    expect(sent.map((p) => [p.stage, p.done])).toEqual([
      ['reading', 0],
      ['storing', 0],
      ['storing', 1],
    ])
    expect(sent.every((p) => p.job === 'j' && p.kind === 'import')).toBe(true)
  })

  it('cancels a running job through its signal and forgets it when it ends', async () => {
    const jobs = new JobRegistry(() => {})
    let seen: AbortSignal | undefined
    const running = jobs.run('long', 'generate', (job) => {
      seen = job.signal
      return new Promise<string>((resolve) => job.signal.addEventListener('abort', () => resolve('stopped')))
    })
    expect(jobs.cancel('long')).toBe(true)
    expect(await running).toBe('stopped')
    expect(seen?.aborted).toBe(true)
    expect(jobs.cancel('long')).toBe(false)
  })
})

describe('upload names', () => {
  it('keep only the last path part, with odd characters replaced', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd')
    expect(safeFileName('..\\..\\my data (1).jsonl')).toBe('my_data_1_.jsonl')
    expect(safeFileName('...')).toBe('upload')
  })

  it('land in the workspace uploads folder under a random prefix the dialog leaves out', () => {
    const path = uploadPath('/ws', 'train pairs.parquet')
    expect(path).toMatch(
      new RegExp(`^${join('/ws', 'uploads').replaceAll('\\', '\\\\')}[/\\\\][0-9a-f]{16}-train_pairs\\.parquet$`),
    )
    expect(uploadedName(path)).toBe('train_pairs.parquet')
    expect(isUpload('/ws', path)).toBe(true)
    expect(isUpload('/ws', '/elsewhere/0123456789abcdef-train.parquet')).toBe(false)
  })
})
