// The boundary every transport goes through: look up the method, validate the request against the
// contract's schema, run the service, and turn any failure into a typed error (the host keeps running).
import type { z } from 'zod'
import { methods } from '../../preload/contract'
import type { ApiErrorBody, ErrorCode, MethodName, Reply, Result } from '../../preload/contract'
import { plainErrors } from '../plain-errors'

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: ApiErrorBody['issues'],
  ) {
    super(message)
  }
}

/** A method's params as the handler gets them (validated, defaults filled in). */
export type HandlerParams<M extends MethodName> = z.output<(typeof methods)[M]['params']>

export type Handlers = {
  [M in MethodName]: (params: HandlerParams<M>) => Promise<Result<M>> | Result<M>
}

export type Dispatch = (method: unknown, params: unknown) => Promise<Reply<unknown>>

const isMethod = (name: unknown): name is MethodName => typeof name === 'string' && Object.hasOwn(methods, name)

export function createDispatch(handlers: Handlers, onInternalError: (error: unknown) => void = () => {}): Dispatch {
  return async (method, params) => {
    if (!isMethod(method)) {
      return {
        ok: false,
        error: {
          code: 'unknown_method',
          message: `Unknown method ${JSON.stringify(method)}; see preload/contract.ts for the API.`,
        },
      }
    }
    const parsed = methods[method].params.safeParse(params === undefined ? {} : params, { error: plainErrors })
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(request)', message: issue.message }))
      const first = issues[0]
      return {
        ok: false,
        error: { code: 'invalid_request', message: `Invalid request to ${method}: ${first?.path}: ${first?.message}`, issues },
      }
    }
    try {
      const handler = handlers[method] as (p: unknown) => unknown
      return { ok: true, result: await handler(parsed.data) }
    } catch (error) {
      if (error instanceof ApiError)
        return { ok: false, error: { code: error.code, message: error.message, issues: error.issues } }
      onInternalError(error)
      return {
        ok: false,
        error: { code: 'internal', message: `${method} failed: ${(error as Error)?.message ?? String(error)}` },
      }
    }
  }
}
