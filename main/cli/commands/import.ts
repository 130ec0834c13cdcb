import { Command, Option } from 'commander'
import { IMPORT_FORMATS } from '../../../preload/contract'
import { UsageError } from '../errors'
import { untilInterrupted } from '../jobs'
import { printJson, progress } from '../output'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface ImportCliOptions extends WorkspaceOptions {
  name?: string
  format: (typeof IMPORT_FORMATS)[number]
  map?: string
  pending?: boolean
  skipBadRows?: boolean
  json?: boolean
}

/** How many skipped rows the human-readable output lists (all of them are in --json's "skipped"). */
const SKIPPED_SHOWN = 20

export function importCommand(): Command {
  return withWorkspace(new Command('import'))
    .description(
      'import a dataset from JSONL, CSV or Parquet (verl, pairs, GSM8K or question/answer rows); PATH2 is the aligned rewrite file of a verl pair',
    )
    .argument('<path>', 'the data file (the original file of a verl pair)')
    .argument('[path2]', 'the rewrite file aligned with PATH row by row (a verl pair)')
    .option('--name <name>', 'dataset name (default: the file name); a taken name is refused with a suggestion')
    .addOption(
      new Option('--format <format>', 'file format or schema; auto recognises the columns')
        .choices(IMPORT_FORMATS)
        .default('auto'),
    )
    .option(
      '--map <fields>',
      'columns for unknown schemas: question=COL[,answer=COL][,paraphrase=COL][,split=COL] (dotted paths reach nested fields)',
    )
    .option('--pending', 'import paraphrases as pending review (default: accepted, ready to train)')
    .option(
      '--skip-bad-rows',
      'leave out rows that cannot be read or have no question (each printed with its data row, file line and reason) instead of failing',
    )
    .option(
      '--json',
      'print {"dataset", "records", "paraphrases", "with_answer"} as the last stdout line (with --skip-bad-rows also "skipped": [{"file", "row", "line", "field", "reason"}])',
    )
    .action(async (path: string, path2: string | undefined, options: ImportCliOptions) => {
      const { importDataset, skippedText } = await import('../../data/import/import')
      const { parseColumnMap } = await import('../../data/formats/mapped')
      let map
      try {
        map = options.map === undefined ? undefined : parseColumnMap(options.map)
      } catch (error) {
        throw new UsageError((error as Error).message)
      }
      const { store } = openWorkspaceStore(options)
      let shown = -1
      try {
        const result = await untilInterrupted((signal) =>
          importDataset(store.db, {
            path,
            rewrite: path2,
            name: options.name,
            format: options.format,
            map,
            paraphraseStatus: options.pending ? 'pending' : 'accepted',
            skipBadRows: options.skipBadRows ?? false,
            signal,
            onStage: (stage, fraction) => {
              const percent = Math.floor(fraction * 10) * 10
              if (stage === 'reading' && percent !== shown) {
                shown = percent
                progress(`reading ${percent}%`)
              }
              if (stage === 'storing' && fraction === 0) progress('storing')
            },
          }),
        )
        const flags = [
          result.flagged.duplicate ? `${result.flagged.duplicate} duplicate questions` : '',
          result.flagged.noAnswer ? `${result.flagged.noAnswer} without an answer` : '',
        ].filter(Boolean)
        progress(
          `Imported "${result.name}" (${result.schema}): ${result.records} records, ${result.withAnswer} with an answer, ${result.paraphrases} paraphrases${flags.length ? `; flagged: ${flags.join(', ')}` : ''}`,
        )
        const { skipped } = result
        if (skipped.length > 0) {
          const files = new Set(skipped.map((row) => row.file))
          const of = files.size === 1 ? ` of ${skipped[0]!.file}` : ''
          progress(`Skipped ${skipped.length} bad row${skipped.length > 1 ? 's' : ''}${of}:`)
          for (const row of skipped.slice(0, SKIPPED_SHOWN))
            progress(`  ${files.size > 1 ? `${row.file}: ` : ''}${skippedText(row)}`)
          if (skipped.length > SKIPPED_SHOWN)
            progress(`  ... and ${skipped.length - SKIPPED_SHOWN} more (--json lists them all, under "skipped")`)
        }
        if (options.json)
          printJson({
            dataset: result.id,
            records: result.records,
            paraphrases: result.paraphrases,
            with_answer: result.withAnswer,
            ...(options.skipBadRows ? { skipped } : {}),
          })
        else {
          const note = skipped.length > 0 ? ` (${skipped.length} bad row${skipped.length > 1 ? 's' : ''} skipped)` : ''
          process.stdout.write(`Dataset ${result.id} "${result.name}": ${result.records} records${note}.\n`)
        }
      } finally {
        store.close()
      }
    })
}
