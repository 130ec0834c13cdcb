import { describe, expect, it } from 'vitest'
import { ApiError, createDispatch, type Handlers } from '../../main/services/dispatch'

// Only the methods these tests call; the others are left out.
const handlers = (overrides: Partial<Handlers> = {}): Handlers =>
  ({
    'app.info': () => ({ version: '0.0.0', workspace: '/w', host: 'browser', schemaVersion: 2 }),
    'backends.list': () => [],
    'runs.list': () => [],
    'datasets.list': () => [],
    'checkpoints.list': ({ run }) => [{ id: 1, run: run ?? 7, runName: 'r', step: 3, path: '/c', tags: [], createdAt: 'now' }],
    ...overrides,
  }) as Handlers

describe('the API boundary', () => {
  it('passes a valid request to its service and returns the result', async () => {
    const dispatch = createDispatch(handlers())
    const reply = await dispatch('checkpoints.list', { run: 4 })
    expect(reply).toEqual({ ok: true, result: [expect.objectContaining({ run: 4, step: 3 })] })
  })

  it('treats a missing params object as empty', async () => {
    expect(await createDispatch(handlers())('runs.list', undefined)).toEqual({ ok: true, result: [] })
  })

  it('refuses a request with a wrong type, naming the field, and keeps serving', async () => {
    const dispatch = createDispatch(handlers())
    const reply = await dispatch('checkpoints.list', { run: 'seven' })
    expect(reply.ok).toBe(false)
    if (reply.ok) return
    expect(reply.error.code).toBe('invalid_request')
    expect(reply.error.issues?.[0]?.path).toBe('run')
    expect(reply.error.message).toMatch(/checkpoints\.list: run: /)
    expect((await dispatch('checkpoints.list', {})).ok).toBe(true)
  })

  it('refuses unknown fields and non-object params', async () => {
    const dispatch = createDispatch(handlers())
    for (const params of [{ extra: 1 }, [1, 2], 'text', 42, null]) {
      const reply = await dispatch('runs.list', params)
      expect(reply.ok ? 'accepted' : reply.error.code).toBe('invalid_request')
    }
  })

  it('refuses unknown methods, including inherited object keys', async () => {
    const dispatch = createDispatch(handlers())
    for (const method of ['runs.frobnicate', 'constructor', '__proto__', 42, undefined]) {
      const reply = await dispatch(method, {})
      expect(reply.ok ? 'accepted' : reply.error.code).toBe('unknown_method')
    }
  })

  it('turns a failing service into a typed error instead of throwing', async () => {
    const logged: unknown[] = []
    const dispatch = createDispatch(
      handlers({
        'runs.list': () => {
          throw new Error('disk on fire')
        },
        'datasets.list': () => {
          throw new ApiError('not_found', 'no such dataset')
        },
      }),
      (error) => logged.push(error),
    )
    expect(await dispatch('runs.list', {})).toEqual({
      ok: false,
      error: { code: 'internal', message: 'runs.list failed: disk on fire' },
    })
    expect(await dispatch('datasets.list', {})).toEqual({ ok: false, error: { code: 'not_found', message: 'no such dataset' } })
    expect(logged).toHaveLength(1)
  })
})
