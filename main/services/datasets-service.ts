// The dataset, paraphrase and job handlers of the API contract: the Datasets view's pages, filters and search, the
// import dialog (preview, background import with progress and cancel), pair editing with undo, bulk review,
// dataset housekeeping (rename, audit split, delete, export), paraphrase generation and the model checks (the
// agreement preview and the judge, their results stored per pair as findings).
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { EventName, EventPayload, Paraphrase, Result } from '../../preload/contract'
import { addParaphrase, editParaphrase, ensureChecks, undoEdit } from '../data/datasets'
import { exportDataset } from '../data/export/export'
import { defaultDatasetName, importDataset } from '../data/import/import'
import { previewImport } from '../data/import/preview'
import { isUpload, uploadedName } from '../data/import/uploads'
import { shippedBaseModel } from '../package-root'
import type { Db } from '../store/database'
import {
  datasetDetail,
  deleteDataset,
  findDataset,
  freeDatasetName,
  nameTaken,
  runsUsingDataset,
  updateDataset,
} from '../store/datasets'
import {
  bulkStatus,
  getParaphrase,
  getRecord,
  listEdits,
  locateRecord,
  recordName,
  recordPage,
  setRecordFlag,
  unrejectedParaphrases,
} from '../store/records'
import type { Store } from '../store/store'
import { checkpointFromStore } from './checkpoint-spec'
import { ApiError } from './dispatch'
import type { Handlers } from './dispatch'
import { JobRegistry } from './jobs'

export type DatasetHandlers = Pick<
  Handlers,
  | 'datasets.list'
  | 'datasets.get'
  | 'datasets.records'
  | 'datasets.locate'
  | 'datasets.previewImport'
  | 'datasets.import'
  | 'uploads.discard'
  | 'jobs.cancel'
  | 'datasets.update'
  | 'datasets.delete'
  | 'datasets.export'
  | 'paraphrases.update'
  | 'paraphrases.add'
  | 'paraphrases.bulkStatus'
  | 'edits.undo'
  | 'edits.list'
  | 'paraphrases.generate'
  | 'paraphrases.agreement'
  | 'paraphrases.judge'
>

export interface DatasetServiceContext {
  store: Store
  workspace: string
  emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void
  /** The host's job registry, shared with other services so `jobs.cancel` reaches every job (a private one otherwise). */
  jobs?: JobRegistry
}

/** The record flag an agreement preview sets when a pair's majority answers differ (cleared when they agree). */
export const FLAG_DISAGREEMENT = 'majority-disagrees'

/** The shipped base model, named `base` where a checkpoint is asked for. */
const BASE_CHECKPOINT = 'base'

function requireDataset(db: Db, id: number): NonNullable<ReturnType<typeof datasetDetail>> {
  ensureChecks(db)
  const dataset = datasetDetail(db, id)
  if (!dataset) throw new ApiError('not_found', `No dataset ${id}; datasets.list lists them.`)
  return dataset
}

/** A checkpoint folder, RUN:STEP, or `base`; a bad one is the caller's mistake, said as the lookup says it. */
function checkpointFolder(db: Db, spec: string): string {
  if (spec === BASE_CHECKPOINT) return shippedBaseModel()
  try {
    return checkpointFromStore(db, spec)
  } catch (error) {
    throw new ApiError(
      'invalid_request',
      `checkpoint: ${(error as Error).message} Or name "${BASE_CHECKPOINT}" for the shipped base model.`,
    )
  }
}

const exportStamp = (): string => new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '')

/**
 * Remembers the last count of matching records per dataset and filter until the store changes, so scrolling
 * a filtered list pages without counting 100,000 records again for every page.
 */
function totalsCache(store: Store): { get(key: string): number | undefined; set(key: string, total: number): void } {
  const version = (): string => `${store.dataVersion()}:${store.totalChanges()}`
  let cached: { key: string; version: string; total: number } | undefined
  return {
    get: (key) => (cached && cached.key === key && cached.version === version() ? cached.total : undefined),
    set: (key, total) => {
      cached = { key, version: version(), total }
    },
  }
}

const paraphraseOf = ({ id, text, origin, status, failed, findings, checks, updatedAt }: Paraphrase): Paraphrase => ({
  id,
  text,
  origin,
  status,
  failed,
  findings,
  checks,
  updatedAt,
})

export function datasetHandlers({ store, workspace, emit, jobs: shared }: DatasetServiceContext): DatasetHandlers {
  const { db } = store
  const jobs = shared ?? new JobRegistry((payload) => emit('job.progress', payload))
  const totals = totalsCache(store)

  const suggestedName = (path: string): string => {
    const name = defaultDatasetName(uploadedName(path))
    return nameTaken(db, name) ? freeDatasetName(db, name) : name
  }

  return {
    'datasets.list': () => store.listDatasets(),

    'datasets.get': ({ dataset }) => requireDataset(db, dataset),

    'datasets.records': ({ dataset, filter, offset, limit }) => {
      requireDataset(db, dataset)
      const key = `${dataset}:${JSON.stringify(filter)}`
      const page = recordPage(db, dataset, filter, offset, limit, totals.get(key))
      totals.set(key, page.total)
      return page
    },

    'datasets.locate': ({ dataset, filter, position }) => {
      requireDataset(db, dataset)
      return locateRecord(db, dataset, filter, position)
    },

    'datasets.previewImport': async ({ path, format }) => {
      try {
        const preview = await previewImport(path, format)
        const unreadable = preview.unreadable && {
          ...preview.unreadable,
          first: preview.unreadable.first.replaceAll(path, uploadedName(path)),
        }
        return { ...preview, ...(unreadable ? { unreadable } : {}), suggestedName: suggestedName(path) }
      } catch (error) {
        throw new ApiError('invalid_request', (error as Error).message)
      }
    },

    'datasets.import': ({ path, rewrite, name, format, map, paraphraseStatus, skipBadRows, job }) =>
      jobs.run(job, 'import', async (progress) => {
        try {
          const result = await importDataset(db, {
            path,
            rewrite,
            name: name ?? defaultDatasetName(uploadedName(path)),
            format,
            map,
            paraphraseStatus,
            skipBadRows,
            signal: progress.signal,
            onStage: (stage, fraction) => progress.progress(stage, Math.round(fraction * 100), 100),
          })
          progress.progress('stored', 1, 1)
          const files = [path, ...(rewrite ? [rewrite] : [])]
          if (files.some((file) => isUpload(workspace, file))) {
            // Uploads are copies made for the import: name the files as the user did, and remove the copies.
            updateDataset(db, result.id, { description: `Imported from ${files.map(uploadedName).join(' + ')}` })
            for (const file of files) if (isUpload(workspace, file)) rmSync(file, { force: true })
          }
          return {
            dataset: result.id,
            name: result.name,
            records: result.records,
            paraphrases: result.paraphrases,
            withAnswer: result.withAnswer,
            skipped: result.skipped.map((row) => ({ ...row, file: uploadedName(row.file) })),
          }
        } catch (error) {
          if (progress.signal.aborted) throw new ApiError('conflict', 'Import cancelled; nothing was stored.')
          const message = (error as Error).message
          throw new ApiError(/already exists/.test(message) ? 'conflict' : 'invalid_request', message)
        }
      }),

    'uploads.discard': ({ path }) => {
      // Only an upload of this workspace: any other path is the user's own file, never removed here.
      if (!isUpload(workspace, path) || !existsSync(path)) return { removed: false }
      rmSync(path, { force: true })
      return { removed: true }
    },

    'jobs.cancel': ({ job }) => ({ cancelled: jobs.cancel(job) }),

    'datasets.update': ({ dataset, name, description, auditSplit }) => {
      const current = requireDataset(db, dataset)
      if (name !== undefined && name !== current.name) {
        if (nameTaken(db, name)) {
          throw new ApiError(
            'conflict',
            `A dataset named "${name}" already exists; choose another name, e.g. "${freeDatasetName(db, name)}".`,
          )
        }
        const users = runsUsingDataset(db, dataset)
        if (users.length > 0) {
          throw new ApiError(
            'conflict',
            `Run ${users.map((run) => `${run.id} ("${run.name}", ${run.status})`).join(', ')} will read dataset "${current.name}" by its name; rename it once ${users.length > 1 ? 'they have' : 'it has'} finished or been stopped.`,
          )
        }
      }
      if (auditSplit !== undefined && auditSplit !== null) {
        const split = current.splits.find((s) => s.split === auditSplit)
        if (!split || split.withAnswer === 0) {
          const labelled = current.splits.filter((s) => s.withAnswer > 0).map((s) => `"${s.split}"`)
          throw new ApiError(
            'invalid_request',
            `auditSplit: dataset "${current.name}" has no ${split ? 'labelled records in split' : 'split'} "${auditSplit}"; the audit set must be a labelled split${labelled.length ? ` (${labelled.join(', ')})` : ', and this dataset has none'}.`,
          )
        }
      }
      updateDataset(db, dataset, { name, description, auditSplit })
      return requireDataset(db, dataset)
    },

    'datasets.delete': ({ dataset }) => {
      const current = requireDataset(db, dataset)
      const users = runsUsingDataset(db, dataset)
      if (users.length > 0) {
        throw new ApiError(
          'conflict',
          `Dataset "${current.name}" is used by run ${users.map((run) => `${run.id} ("${run.name}", ${run.status})`).join(', ')}; stop ${users.length > 1 ? 'those runs' : 'that run'} or let ${users.length > 1 ? 'them' : 'it'} finish, then delete the dataset.`,
        )
      }
      deleteDataset(db, dataset)
      return { dataset }
    },

    'datasets.export': ({ dataset, format, out, acceptedOnly }) => {
      const current = requireDataset(db, dataset)
      const folder = out ?? join(workspace, 'exports', `${current.name.replace(/[^\w.-]+/g, '_')}-${exportStamp()}`)
      const { files, rows, withoutParaphrase } = exportDataset(db, String(dataset), { format, out: folder, acceptedOnly })
      return { files, rows, withoutParaphrase }
    },

    'paraphrases.update': ({ paraphrase, text, status }) => {
      if (text === undefined && status === undefined)
        throw new ApiError('invalid_request', 'paraphrases.update: give the new text, the new status, or both.')
      const updated = editParaphrase(db, paraphrase, { text, status })
      if (!updated) throw new ApiError('not_found', `No paraphrase ${paraphrase}; it may have been removed by an undo.`)
      return paraphraseOf(updated)
    },

    'paraphrases.add': ({ record, text }) => {
      if (!getRecord(db, record)) throw new ApiError('not_found', `No record ${record}; datasets.records lists them.`)
      // A paraphrase the user wrote is their review already: accepted.
      return paraphraseOf(addParaphrase(db, record, { text, origin: 'manual', status: 'accepted' }, { edit: true }))
    },

    'paraphrases.bulkStatus': ({ dataset, filter, status, onlyPending, dryRun }) => {
      requireDataset(db, dataset)
      return bulkStatus(db, dataset, filter, status, { onlyPending, dryRun })
    },

    'edits.undo': ({ dataset }) => {
      requireDataset(db, dataset)
      return undoEdit(db, dataset)
    },

    'edits.list': ({ dataset, limit }) => {
      requireDataset(db, dataset)
      return listEdits(db, dataset, limit)
    },

    'paraphrases.generate': async ({ dataset, filter, job, source, skipDone, limit }) => {
      requireDataset(db, dataset)
      const { generateParaphrases } = await import('../data/paraphrase/generate')
      const resolved =
        source.kind === 'onnx'
          ? {
              kind: 'onnx' as const,
              folder: checkpointFolder(db, source.checkpoint),
              prompt: source.prompt,
              maxTokens: source.maxTokens,
            }
          : source
      return jobs.run(job, 'generate', async (progress) => {
        try {
          return await generateParaphrases(db, {
            datasetId: dataset,
            filter,
            source: resolved,
            skipDone,
            limit,
            signal: progress.signal,
            onProgress: (done, total) => progress.progress('generating', done, total),
          })
        } catch (error) {
          throw new ApiError('invalid_request', (error as Error).message)
        }
      })
    },

    'paraphrases.agreement': async ({ checkpoint, records, samples, job, again }) => {
      const folder = checkpointFolder(db, checkpoint)
      const pairs = agreementPairs(db, records)
      const { agreementFinding, agreementPreview } = await import('../data/paraphrase/agreement')
      const { storedModelResult, storeModelResult } = await import('../data/paraphrase/model-checks')
      // Pairs sampled with this checkpoint and G already give their stored results (a stopped preview resumes).
      const stored = new Map<number, Result<'paraphrases.agreement'>[number]>()
      if (!again) {
        for (const pair of pairs) {
          for (const { id: paraphrase } of pair.paraphrases) {
            const current = getParaphrase(db, paraphrase)
            const result = current && storedModelResult(current.checks, current.text, 'agreement')
            if (result?.folder === folder && result.samples === samples) {
              const { original, rewrite, agree, originalVotes, rewriteVotes } = result as unknown as StoredAgreement
              stored.set(paraphrase, { record: pair.record, paraphrase, original, rewrite, agree, originalVotes, rewriteVotes })
            }
          }
        }
      }
      const todo = pairs
        .map((pair) => ({ ...pair, paraphrases: pair.paraphrases.filter((p) => !stored.has(p.id)) }))
        .filter((pair) => pair.paraphrases.length > 0)
      const texts = new Map(pairs.flatMap((pair) => pair.paraphrases.map((p) => [p.id, p.text] as const)))
      return jobs.run(job, 'agreement', async (progress) => {
        const sampled = await agreementPreview(todo, {
          folder,
          samples,
          signal: progress.signal,
          onProgress: (done, total) => progress.progress('sampling', done, total),
          onRecord: (results) => {
            for (const result of results) {
              storeModelResult(db, result.paraphrase, texts.get(result.paraphrase)!, 'agreement', {
                finding: agreementFinding(result, checkpoint, samples),
                checkpoint,
                folder,
                samples,
                original: result.original,
                rewrite: result.rewrite,
                agree: result.agree,
                originalVotes: result.originalVotes,
                rewriteVotes: result.rewriteVotes,
              })
            }
            flagDisagreements(db, results)
          },
        })
        // In the order of the records asked for, stored and sampled pairs alike.
        const bySampled = new Map(sampled.map((result) => [result.paraphrase, result]))
        const results = pairs.flatMap((pair) =>
          pair.paraphrases.flatMap((p) => {
            const result = stored.get(p.id) ?? bySampled.get(p.id)
            return result ? [result] : []
          }),
        )
        flagDisagreements(db, results)
        return results
      })
    },

    'paraphrases.judge': async ({ dataset, filter, job, url, model, apiKey, concurrency, retries, again, limit }) => {
      requireDataset(db, dataset)
      const { judgeParaphrases } = await import('../data/paraphrase/judge')
      return jobs.run(job, 'judge', (progress) =>
        judgeParaphrases(db, {
          datasetId: dataset,
          filter,
          endpoint: { url, model, apiKey, concurrency, retries },
          again,
          limit,
          signal: progress.signal,
          onProgress: (done, total) => progress.progress('judging', done, total),
        }),
      )
    },
  }
}

/** What the agreement preview stores per pair beside its finding (model-checks.ts). */
interface StoredAgreement {
  original: string
  rewrite: string
  agree: boolean
  originalVotes: Record<string, number>
  rewriteVotes: Record<string, number>
}

/** Each record's question and its paraphrases that are not rejected (accepted first); every record must have one. */
function agreementPairs(
  db: Db,
  records: number[],
): { record: number; question: string; paraphrases: { id: number; text: string }[] }[] {
  const pairs = records.map((id) => {
    const record = getRecord(db, id)
    if (!record) throw new ApiError('not_found', `records: no record ${id}; datasets.records lists them.`)
    return { record, paraphrases: unrejectedParaphrases(db, id) }
  })
  const bare = pairs
    .filter((pair) => pair.paraphrases.length === 0)
    .map((pair) => recordName(pair.record, findDataset(db, pair.record.datasetId)!.name))
  if (bare.length > 0) {
    throw new ApiError(
      'invalid_request',
      `records: ${bare.join(', ')} ha${bare.length > 1 ? 've' : 's'} no paraphrase that is not rejected; leave ${bare.length > 1 ? 'them' : 'it'} out or add one.`,
    )
  }
  return pairs.map(({ record, paraphrases }) => ({ record: record.id, question: record.question, paraphrases }))
}

/** Marks the records with a disagreeing pair for review (and unmarks those whose pairs all agree now). */
function flagDisagreements(db: Db, results: Result<'paraphrases.agreement'>): void {
  const disagree = new Map<number, boolean>()
  for (const r of results) disagree.set(r.record, (disagree.get(r.record) ?? false) || !r.agree)
  setRecordFlag(db, FLAG_DISAGREEMENT, disagree)
}
