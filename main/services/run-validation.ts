// Checking a run config before it is queued, as the trainer would read it: the schema, the mode's rules, and that
// its dataset, splits and starting checkpoint exist in this workspace (the launch form, runs.launch, a branch).
import type { FieldIssue } from '../../preload/contract'
import { planRefusal } from '../engine/memory-plan'
import { parseRunConfig, RunConfig } from '../engine/run-config'
import { shippedBaseModel } from '../package-root'
import type { Db } from '../store/database'
import { auditSplitOf, datasetNames, datasetSplits, findDataset } from '../store/datasets'
import { checkpointFromStore } from './checkpoint-spec'
import { inspectFolder } from './checkpoints/inspect'
import { runPlan } from './run-plan'

/**
 * Checks a config as the trainer would: every schema issue (with its field path), the EMA/mode rule, and that the
 * dataset, its splits and the starting checkpoint exist in this workspace. Returns the complete config when valid.
 */
export function validateRunConfig(db: Db, raw: unknown): { config: RunConfig | null; issues: FieldIssue[] } {
  const parsed = RunConfig.safeParse(raw)
  const issues: FieldIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(config)', message: issue.message }))
  if (parsed.success) {
    try {
      parseRunConfig(raw, 'config')
    } catch (error) {
      // parseRunConfig's own rules (EMA only for Co-rewarding-II) say "config: <field>: <reason>".
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
  // A run that cannot fit in the backend's memory is refused now, with the numbers and what to change.
  const plan = await runPlan(folder, result.config)
  return plan.fits ? result : { config: null, issues: [...result.issues, { path: 'memory', message: planRefusal(plan) }] }
}
