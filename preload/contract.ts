// The one API contract between the workbench UI and its host (Electron main or `cwb serve`).
// Requests are validated against these schemas at the boundary; responses and events are typed here
// so that both transports (Electron IPC, HTTP + WebSocket) and the renderer agree on one shape.
import { z } from 'zod'

export const RUN_STATUSES = ['queued', 'running', 'stopping', 'finished', 'stopped', 'failed', 'interrupted'] as const
export const REWARD_MODES = [
  'ground_truth',
  'majority_voting',
  'self_certainty',
  'entropy',
  'co_rewarding_i',
  'co_rewarding_ii',
] as const

const noParams = z.object({}).strict()
const id = z.number().int().positive()

export const Backend = z.object({
  family: z.enum(['tfjs', 'onnxruntime']),
  name: z.string(),
  available: z.boolean(),
  detail: z.string(),
})
export type Backend = z.infer<typeof Backend>

export const AppInfo = z.object({
  version: z.string(),
  workspace: z.string(),
  host: z.enum(['electron', 'browser']),
  schemaVersion: z.number().int(),
})
export type AppInfo = z.infer<typeof AppInfo>

export const RunSummary = z.object({
  id,
  name: z.string(),
  mode: z.enum(REWARD_MODES),
  status: z.enum(RUN_STATUSES),
  steps: z.number().int(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
})
export type RunSummary = z.infer<typeof RunSummary>

export const DatasetSummary = z.object({
  id,
  name: z.string(),
  records: z.number().int(),
  withAnswer: z.number().int(),
  paraphrases: z.number().int(),
  createdAt: z.string(),
})
export type DatasetSummary = z.infer<typeof DatasetSummary>

export const CheckpointSummary = z.object({
  id,
  run: id,
  runName: z.string(),
  step: z.number().int(),
  path: z.string(),
  tags: z.array(z.string()),
  createdAt: z.string(),
})
export type CheckpointSummary = z.infer<typeof CheckpointSummary>

/** Every method: its request schema (validated) and its response schema (the type the caller gets). */
export const methods = {
  'app.info': { params: noParams, result: AppInfo },
  'backends.list': { params: z.object({ refresh: z.boolean().optional() }).strict(), result: z.array(Backend) },
  'runs.list': { params: noParams, result: z.array(RunSummary) },
  'datasets.list': { params: noParams, result: z.array(DatasetSummary) },
  'checkpoints.list': {
    params: z.object({ run: id.optional() }).strict(),
    result: z.array(CheckpointSummary),
  },
} as const

export type MethodName = keyof typeof methods
export type Params<M extends MethodName> = z.input<(typeof methods)[M]['params']>
export type Result<M extends MethodName> = z.infer<(typeof methods)[M]['result']>

/** Events pushed from the host to every connected UI. */
export const events = {
  /** Another connection (a CLI command, a trainer) committed to the store: views re-read what they show. */
  'store.changed': z.object({ dataVersion: z.number().int() }),
  /** The backend probe finished (it runs off the UI thread after start-up). */
  'backends.changed': z.array(Backend),
} as const

export type EventName = keyof typeof events
export type EventPayload<E extends EventName> = z.infer<(typeof events)[E]>

export const ERROR_CODES = ['invalid_request', 'unknown_method', 'not_found', 'conflict', 'internal'] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ApiErrorBody {
  code: ErrorCode
  message: string
  /** For invalid requests: which field is wrong and why. */
  issues?: { path: string; message: string }[]
}

export type Reply<T> = { ok: true; result: T } | { ok: false; error: ApiErrorBody }

/** What every transport offers the renderer; the Electron preload exposes exactly this as `window.api`. */
export interface WorkbenchBridge {
  call(method: string, params: unknown): Promise<Reply<unknown>>
  on(listener: (event: string, payload: unknown) => void): () => void
}

export { IPC_CALL, IPC_EVENT } from './channels'
