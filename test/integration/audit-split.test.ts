// GT quarantine in the launch form: a dataset's audit/validation split is what its runs validate on, and no run
// may train on it.
import { describe, expect, it } from 'vitest'
import { hostOnWorkspace } from '../helpers/host'
import { cleanupsAfterEach } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()

describe('the audit split of a dataset', () => {
  it('is offered to the launch form and refused as a train split', async () => {
    const { call } = hostOnWorkspace(cleanups, { demo: true })
    const [demo] = await call('datasets.list', {})
    expect((await call('runs.form', {})).auditSplits).toEqual({})
    await call('datasets.update', { dataset: demo!.id, auditSplit: 'test' })
    expect((await call('runs.form', {})).auditSplits).toEqual({ 'demo-arithmetic': 'test' })

    const base = { name: 'q', mode: 'majority_voting', dataset: 'demo-arithmetic' }
    expect((await call('runs.validate', { config: { ...base, validation_split: 'test' } })).issues).toEqual([])
    const onAudit = await call('runs.validate', { config: { ...base, train_split: 'test', validation_split: 'validation' } })
    expect(onAudit.config).toBeNull()
    expect(onAudit.issues).toEqual([
      {
        path: 'train_split',
        message:
          'split "test" is the audit/validation split of dataset "demo-arithmetic" (GT quarantine); train on another split',
      },
    ])
  })
})
