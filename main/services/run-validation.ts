// Checking a run config before it is queued, as the trainer would read it: the schema, the mode's rules, and that
// its dataset, splits and starting checkpoint exist in this workspace (the launch form, runs.launch, a branch).
import type { FieldIssue } from '../../preload/contract'
import { planRefusal } from '../engine/memory-plan'
import { promptFitIssues, promptFits } from '../engine/prompt-fit'
import type { PromptText } from '../engine/prompt-fit'
import { parseRunConfig, promptsParaphrases, RunConfig } from '../engine/run-config'
import { shippedBaseModel } from '../package-root'
import type { Db } from '../store/database'
import { auditSplitOf, datasetNames, datasetRecords, datasetSplits, findDataset } from '../store/datasets'
import { acceptedParaphrases, recordName } from '../store/records'
import { checkpointFromStore } from './checkpoint-spec'
import { inspectFolder } from './checkpoints/inspect'
import { runPlan } from './run-plan'
import { plainErrors } from '../plain-errors'

/**
 * Checks a config as the trainer would: every schema issue (with its field path), the EMA/mode rule, and that the
 * dataset, its splits and the starting checkpoint exist in this workspace. Returns the complete config when valid.
 */
export function validateRunConfig(db: Db, raw: unknown): { config: RunConfig | null; issues: FieldIssue[] } {
  const parsed = RunConfig.safeParse(raw, { error: plainErrors })
  const issues: FieldIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(config)', message: issue.message }))
  if (parsed.success) {
    try {
      parseRunConfig(raw, 'config')
    } catch (error) {
      // parseRunConfig's own rules (EMA, cross_view and question_view by mode) say "config: <field>: <reason>".
      const [, path = '(config)', message = (error as Error).message] =
        /^config: ([^:]+): (.*)$/s.exec((error as Error).message) ?? []
      issues.push({ path, message })
    }
  }
  const fields = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {}
  const datasetName = parsed.success ? parsed.data.dataset : typeof fields.dataset === 'string' ? fields.dataset : undefined
  if (datasetName !== undefined && !issues.some((issue) => issue.path === 'dataset')) {
    const dataset = findDataset(db, datasetName)
    if (!dataset) {
      const names = datasetNames(db)
      issues.push({
        path: 'dataset',
        message: `no dataset "${datasetName}" in this workspace; ${names.length ? `choose one of ${names.join(', ')}` : 'import one first'}`,
      })
    } else if (parsed.success) {
      const { train_split: train, validation_split: validation } = parsed.data
      const audit = auditSplitOf(db, dataset.id)
      if (!datasetSplits(db, dataset.id)[train]) {
        issues.push({ path: 'train_split', message: `dataset "${dataset.name}" has no records in split "${train}"` })
      } else if (train === audit) {
        issues.push({
          path: 'train_split',
          message: `split "${train}" is the audit/validation split of dataset "${dataset.name}" (GT quarantine); train on another split`,
        })
      }
      if (parsed.data.question_view === 'paraphrase' && !issues.some((issue) => issue.path === 'train_split')) {
        const paraphrases = acceptedParaphrases(db, dataset.id)
        const records = datasetRecords(db, dataset.id, { split: train })
        const bare = records.filter((record) => !paraphrases.get(record.id)?.length)
        if (bare.length > 0) {
          const named = bare.slice(0, 3).map((record) => recordName(record, dataset.name))
          issues.push({
            path: 'question_view',
            message:
              `"paraphrase" trains on rephrased questions only, but ${bare.length} of ${records.length} questions in split "${train}" ` +
              `have no accepted paraphrase (${named.join(', ')}${bare.length > named.length ? ', ...' : ''}); ` +
              'accept a paraphrase for each, or use "original"',
          })
        }
      }
      if (!datasetSplits(db, dataset.id, { labelledOnly: true })[validation]) {
        issues.push({
          path: 'validation_split',
          message: `dataset "${dataset.name}" has no records with an answer in split "${validation}"`,
        })
      }
    }
  }
  if (parsed.success && parsed.data.checkpoint) {
    try {
      checkpointFromStore(db, parsed.data.checkpoint)
    } catch (error) {
      issues.push({ path: 'checkpoint', message: (error as Error).message })
    }
  }
  return { config: parsed.success && issues.length === 0 ? parsed.data : null, issues }
}

/**
 * validateRunConfig, and the starting checkpoint folder read as the trainer will load it (headers only): a damaged
 * or foreign folder is a field issue now rather than a run that fails once it starts.
 */
export async function validateWithCheckpoint(db: Db, raw: unknown): Promise<{ config: RunConfig | null; issues: FieldIssue[] }> {
  const result = validateRunConfig(db, raw)
  if (!result.config) return result
  const spec = result.config.checkpoint
  let folder: string
  try {
    folder = spec ? checkpointFromStore(db, spec) : shippedBaseModel()
    if (spec) await inspectFolder(folder)
  } catch (error) {
    return { config: null, issues: [...result.issues, { path: 'checkpoint', message: (error as Error).message }] }
  }
  // A run that cannot fit in the backend's memory is refused now, with the numbers and what to change; so is a dataset
  // the model cannot read (prompts over its limits, text its tokenizer does not know).
  const plan = await runPlan(folder, result.config)
  const issues = plan.fits ? [] : [{ path: 'memory', message: planRefusal(plan) }]
  issues.push(...datasetFitIssues(db, folder, result.config))
  return issues.length === 0 ? result : { config: null, issues: [...result.issues, ...issues] }
}

/**
 * Whether the model in `folder` can read the run's dataset: its training texts (questions, and paraphrases where the
 * mode prompts with them) and validation questions against max_prompt_tokens, the model's context and its tokenizer's
 * vocabulary. One issue per field, naming the record and the numbers; none when it fits.
 */
export function datasetFitIssues(db: Db, folder: string, config: RunConfig): FieldIssue[] {
  const dataset = findDataset(db, config.dataset)
  if (!dataset) return []
  const usesParaphrases = promptsParaphrases(config)
  const paraphrases = usesParaphrases ? acceptedParaphrases(db, dataset.id) : new Map<number, string[]>()
  const train = datasetRecords(db, dataset.id, { split: config.train_split }).flatMap((record): PromptText[] => {
    const label = recordName(record, dataset.name)
    return [
      { text: record.question, label },
      ...(paraphrases.get(record.id) ?? []).map((text, i) => ({ text, label: `${label}, paraphrase ${i + 1}` })),
    ]
  })
  const validation = datasetRecords(db, dataset.id, { split: config.validation_split, labelledOnly: true }).map((record) => ({
    text: record.question,
    label: recordName(record, dataset.name),
  }))
  const [trainFit, validationFit] = promptFits(folder, [train, validation])
  const issues = [
    ...promptFitIssues(trainFit!, config, `training ${usesParaphrases ? 'questions and paraphrases' : 'questions'}`),
    ...promptFitIssues(validationFit!, config, 'validation questions'),
  ]
  // One message per field: the training texts' issue, else the validation questions'.
  const seen = new Set<string>()
  return issues
    .filter((issue) => !seen.has(issue.field) && seen.add(issue.field))
    .map(({ field, message }) => ({ path: field, message }))
}
