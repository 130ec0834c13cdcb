// The Datasets view's filter in the URL (renderer/src/components/datasets/filterQuery.ts): every field goes into the
// query and back, a hand-edited link keeps what makes sense, and the selected record rides along.
import { describe, expect, it } from 'vitest'
import type { RecordFilter } from '../../preload/contract'
import {
  datasetQuery,
  filterFromQuery,
  queryFromFilter,
  recordFromQuery,
  sameQuery,
} from '../../renderer/src/components/datasets/filterQuery'

describe('the dataset filter in the URL', () => {
  it('writes every field and reads it back the same', () => {
    const filter: RecordFilter = {
      search: 'triangle area',
      status: 'pending',
      severity: 'error',
      failedCheck: 'numbers',
      origin: 'llm',
      split: 'test',
      duplicate: true,
      noAnswer: true,
    }
    const query = queryFromFilter(filter)
    expect(query).toEqual({
      q: 'triangle area',
      status: 'pending',
      severity: 'error',
      check: 'numbers',
      origin: 'llm',
      split: 'test',
      duplicate: '1',
      noAnswer: '1',
    })
    expect(filterFromQuery(query)).toEqual(filter)
    expect(queryFromFilter({})).toEqual({})
    expect(filterFromQuery({})).toEqual({})
  })

  it('leaves out what a filter cannot take, and reads the first of a repeated key', () => {
    expect(
      filterFromQuery({ status: 'maybe', severity: 'fatal', check: 'vibes', origin: 'x', duplicate: '0', q: '  ', split: '' }),
    ).toEqual({})
    expect(filterFromQuery({ status: ['none', 'pending'], duplicate: 'true', q: ' apples ' })).toEqual({
      status: 'none',
      duplicate: true,
      search: 'apples',
    })
  })

  it('carries the selected record number, and compares queries whatever their order', () => {
    expect(datasetQuery({ status: 'pending' }, 12)).toEqual({ status: 'pending', record: '12' })
    expect(datasetQuery({ status: 'pending' })).toEqual({ status: 'pending' })
    expect(recordFromQuery({ record: '12' })).toBe(12)
    for (const bad of ['0', '-3', '1.5', 'twelve', '']) expect(recordFromQuery({ record: bad })).toBeUndefined()
    expect(sameQuery({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true)
    expect(sameQuery({ a: '1' }, { a: '1', record: '3' })).toBe(false)
    expect(sameQuery({ a: '1', b: undefined }, { a: '1' })).toBe(true)
  })
})
