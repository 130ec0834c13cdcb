// File-system errors named in words, from real failures on real paths.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fileErrorWords } from '../../main/fs-errors'

const failure = (read: () => unknown): unknown => {
  try {
    read()
  } catch (error) {
    return error
  }
  throw new Error('expected the read to fail')
}

describe('fileErrorWords', () => {
  it('says what went wrong in words, never the errno code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwb-fs-'))
    expect(fileErrorWords(failure(() => readFileSync(join(dir, 'nope.json'))))).toBe('no such file or folder')
    expect(fileErrorWords(failure(() => readFileSync(dir)))).toBe('it is a folder, not a file')
    const file = join(dir, 'a.json')
    writeFileSync(file, '{}')
    expect(fileErrorWords(failure(() => readFileSync(join(file, 'inside'))))).toBe('a part of the path is a file, not a folder')
    expect(fileErrorWords(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }))).toBe('i/o error, read')
  })
})
