// verl's dataset rows (co-rewarding.md section 11): a chat `prompt` (list of {role, content}; the last user turn is
// the question), `reward_model.ground_truth`, `extra_info` {index, split, ...}, optional data_source, ability,
// level, type, solution. Written back as one Parquet file in verl's schema, as data.train_files / val_files read it.
import type { ExportableRecord } from '../../store/datasets'
import type { TableRow } from '../import/read-table'
import { RowError, text, withoutKeys } from './format'
import type { Message, RowFormat } from './format'
import { chatColumn, messages, sourceText, structColumn, textColumn, textStructColumn, writeParquet } from './parquet'

/** The question of a chat prompt: the last user turn; and the system turn, kept for exports. */
function chatQuestion(file: string, row: TableRow, field: string, prompt: unknown): { question: string; system?: string } {
  if (typeof prompt === 'string') return { question: prompt }
  if (!Array.isArray(prompt))
    throw new RowError(file, row, field, `should be a list of {role, content} messages, got ${typeof prompt}.`)
  const turns = prompt as Message[]
  const user = [...turns].reverse().find((m) => m && m.role === 'user')
  if (!user || typeof user.content !== 'string')
    throw new RowError(file, row, field, `has no user message with text content; the question is the last user turn.`)
  const system = turns.find((m) => m && m.role === 'system')
  return { question: user.content, ...(typeof system?.content === 'string' ? { system: system.content } : {}) }
}

export const verl: RowFormat<'verl'> = {
  name: 'verl',
  label: 'verl',
  questionField: 'prompt',
  needs: ['prompt'],
  detect: (table) => table.columns.includes('prompt') && table.columns.includes('reward_model'),
  read(row, { file }) {
    const v = row.values
    const { question, system } = chatQuestion(file, row, 'prompt', v.prompt)
    const reward = v.reward_model
    if (reward !== undefined && reward !== null && typeof reward !== 'object')
      throw new RowError(file, row, 'reward_model', `should be {ground_truth, style}, got ${typeof reward}.`)
    const answer = text(file, row, 'reward_model.ground_truth', (reward as Record<string, unknown> | null)?.ground_truth, false)
    const extra = (v.extra_info ?? {}) as Record<string, unknown>
    const split = typeof extra.split === 'string' && extra.split ? extra.split : 'train'
    // The GT lives in the record's answer (where the quarantine applies), not twice in its source.
    const { ground_truth: _gt, ...rewardRest } = (reward ?? {}) as Record<string, unknown>
    void _gt
    return {
      question,
      answer,
      split,
      source: {
        ...withoutKeys(v, ['prompt']),
        ...(reward !== undefined && reward !== null ? { reward_model: rewardRest } : {}),
        ...(system !== undefined ? { system } : {}),
      },
    }
  },
}

/** verl's extra_info for a record: the imported one (its split kept in step with the record's), else {index, split}. */
function extraInfo(r: ExportableRecord, i: number): Record<string, unknown> {
  const importedInfo = r.source.extra_info
  if (importedInfo === null || typeof importedInfo !== 'object' || Array.isArray(importedInfo))
    return { index: i, split: r.split }
  const info = { ...(importedInfo as Record<string, unknown>) }
  if ('split' in info || r.split !== 'train') info.split = r.split
  return info
}

const VERL_COLUMNS = ['data_source', 'prompt', 'ability', 'reward_model', 'extra_info', 'system']

/** One verl Parquet file of `rows`, each asking `question(row)` (the original, or its paraphrase for a rewrite file). */
export function writeVerlFile(
  file: string,
  rows: ExportableRecord[],
  question: (r: ExportableRecord) => string,
  datasetName: string,
): void {
  const extraKeys = [...new Set(rows.flatMap((r) => Object.keys(r.source)))].filter((k) => !VERL_COLUMNS.includes(k))
  const style = (r: ExportableRecord): string =>
    sourceText((r.source.reward_model as { style?: unknown } | undefined)?.style) ?? 'rule'
  writeParquet(file, [
    textColumn(
      'data_source',
      rows.map((r) => sourceText(r.source.data_source) ?? datasetName),
    ),
    chatColumn(
      'prompt',
      rows.map((r) => messages(r.source.system, question(r))),
    ),
    textColumn(
      'ability',
      rows.map((r) => sourceText(r.source.ability) ?? 'math'),
    ),
    textStructColumn(
      'reward_model',
      ['ground_truth', 'style'],
      rows.map((r) => ({ ground_truth: r.answer ?? '', style: style(r) })),
    ),
    structColumn('extra_info', rows.map(extraInfo)),
    ...extraKeys.map((key) =>
      textColumn(
        key,
        rows.map((r) => sourceText(r.source[key])),
      ),
    ),
  ])
}
