// Generating paraphrases for a dataset's records (the records of a filter): demo templates, an OpenAI-compatible
// endpoint, or a local ONNX model. New paraphrases are pending review, checked as they are stored, one record at
// a time, so a cancelled job keeps what it made and a rerun with skipDone resumes where it stopped. Every record
// that gets nothing says why. The API key of an endpoint lives only in memory, for the requests.
import type { RecordFilter } from '../../../preload/contract'
import type { Db } from '../../store/database'
import { findDataset } from '../../store/datasets'
import type { ParaphraseOrigin } from '../../store/datasets'
import { getRecord, matchingRecordIds, paraphraseTexts, recordsWithParaphraseOf } from '../../store/records'
import type { RecordText } from '../../store/records'
import { writeTransaction } from '../../store/sql'
import { addParaphrase } from '../datasets'
import { onnxRewriteAll } from './onnx-rewrite'
import { rewriteAll } from './openai'
import type { EndpointOptions, RewriteOutcome } from './openai'
import { demoSource, templateParaphrases } from './templates'

export type GenerateSource =
  | { kind: 'templates' }
  | ({ kind: 'endpoint' } & EndpointOptions)
  | { kind: 'onnx'; folder: string; prompt?: string; maxTokens: number }

export interface GenerateOptions {
  datasetId: number
  filter: RecordFilter
  source: GenerateSource
  /** Skip records that already have a paraphrase of the origin this source makes (resume). */
  skipDone: boolean
  /** At most this many records (after skipping). */
  limit?: number
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
}

export interface GenerateResult {
  generated: number
  failed: { record: number; reason: string }[]
  cancelled: boolean
}

const TEMPLATE_CHUNK = 200

const originOf = (source: GenerateSource): ParaphraseOrigin => (source.kind === 'templates' ? 'template' : 'llm')

/** The records a job covers: the filter's, less those done already when skipDone, at most `limit`. */
function recordsToDo(db: Db, options: GenerateOptions): RecordText[] {
  let ids = matchingRecordIds(db, options.datasetId, options.filter)
  if (options.skipDone) {
    const done = new Set(recordsWithParaphraseOf(db, options.datasetId, originOf(options.source)))
    ids = ids.filter((id) => !done.has(id))
  }
  return ids.slice(0, options.limit).map((id) => getRecord(db, id)!)
}

const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export async function generateParaphrases(db: Db, options: GenerateOptions): Promise<GenerateResult> {
  const records = recordsToDo(db, options)
  const result: GenerateResult = { generated: 0, failed: [], cancelled: false }
  const total = records.length
  options.onProgress?.(0, total)
  if (options.source.kind === 'templates') {
    if (records.length > 0 && !records.some((record) => demoSource(record.source))) {
      const name = findDataset(db, options.datasetId)?.name ?? options.datasetId
      throw new Error(
        `Template paraphrases exist only for the demo task's problems (records whose source names a demo problem type and scenario family, as in demo-arithmetic); dataset "${name}" has none. Use an OpenAI-compatible endpoint or a local ONNX model instead.`,
      )
    }
    for (let start = 0; start < records.length; start += TEMPLATE_CHUNK) {
      if (options.signal?.aborted) return { ...result, cancelled: true }
      writeTransaction(db, () => {
        for (const record of records.slice(start, start + TEMPLATE_CHUNK)) {
          const texts = paraphraseTexts(db, record.id)
          const outcome = templateParaphrases(record, texts, texts.length)
          if (!outcome.ok) {
            result.failed.push({ record: record.id, reason: outcome.reason })
            continue
          }
          for (const { family, text } of outcome.texts) {
            addParaphrase(db, record.id, { text, origin: 'template', status: 'pending', extra: { family } })
            result.generated++
          }
        }
      })
      options.onProgress?.(Math.min(total, start + TEMPLATE_CHUNK), total)
      await pause()
    }
    return result
  }
  let done = 0
  const store = (outcome: RewriteOutcome): void => {
    if (outcome.ok) {
      addParaphrase(db, outcome.id, { text: outcome.text, origin: 'llm', status: 'pending' })
      result.generated++
    } else {
      result.failed.push({ record: outcome.id, reason: outcome.reason })
    }
    options.onProgress?.(++done, total)
  }
  const jobs = records.map((record) => ({ id: record.id, question: record.question }))
  const { source } = options
  const { cancelled } =
    source.kind === 'endpoint'
      ? await rewriteAll(source, jobs, store, options.signal)
      : await onnxRewriteAll(
          { folder: source.folder, prompt: source.prompt, maxTokens: source.maxTokens },
          jobs,
          store,
          options.signal,
        )
  return { ...result, cancelled }
}
