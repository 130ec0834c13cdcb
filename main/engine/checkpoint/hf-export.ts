// Exporting a checkpoint as a plain Hugging Face folder: config.json, model.safetensors, tokenizer.json and
// tokenizer_config.json, without the workbench's extras (optimizer moments, EMA teacher, trainer state). The files
// are copied into a hidden sibling and renamed into place, so the folder appears whole or not at all.
import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { CheckpointWeights } from '../../../preload/contract'
import { CONFIG_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE } from './folder'
import { readSafetensors, writeSafetensors } from './safetensors'

export const TEACHER_FILE = 'teacher.safetensors'

export interface ExportedFile {
  name: string
  bytes: number
}

/** Copies `source`'s model (or, with `weights: 'teacher'`, its EMA teacher as the model) to the new folder `out`. */
export function exportHfFolder(source: string, out: string, weights: CheckpointWeights = 'model'): ExportedFile[] {
  const target = resolve(out)
  if (existsSync(target) && (!statSync(target).isDirectory() || readdirSync(target).length > 0)) {
    throw new Error(`Cannot export to ${target}: it exists and is not an empty folder; choose a new folder.`)
  }
  const copies: [from: string, to: string][] = [
    [CONFIG_FILE, CONFIG_FILE],
    [weights === 'teacher' ? TEACHER_FILE : WEIGHTS_FILE, WEIGHTS_FILE],
    [TOKENIZER_FILE, TOKENIZER_FILE],
    [TOKENIZER_CONFIG_FILE, TOKENIZER_CONFIG_FILE],
  ]
  for (const [from] of copies.slice(0, 3)) {
    if (!existsSync(join(source, from))) {
      throw new Error(
        from === TEACHER_FILE
          ? `${source} has no ${TEACHER_FILE}: only Co-rewarding-II checkpoints keep an EMA teacher; export the model instead.`
          : `${join(source, from)} is missing: a checkpoint folder holds ${CONFIG_FILE}, ${WEIGHTS_FILE} and ${TOKENIZER_FILE}.`,
      )
    }
  }
  mkdirSync(dirname(target), { recursive: true })
  const temporary = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    mkdirSync(temporary)
    const files: ExportedFile[] = []
    for (const [from, to] of copies) {
      if (!existsSync(join(source, from))) continue
      if (from === TEACHER_FILE) {
        // The teacher file lacks the metadata Transformers requires of a model.safetensors.
        const { tensors, metadata } = readSafetensors(join(source, from))
        writeSafetensors(join(temporary, to), tensors, { ...metadata, format: 'pt' })
      } else copyFileSync(join(source, from), join(temporary, to))
      files.push({ name: to, bytes: statSync(join(temporary, to)).size })
    }
    if (existsSync(target)) rmSync(target, { recursive: true })
    renameSync(temporary, target)
    return files
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true })
    throw new Error(`Cannot export ${source} to ${target}: ${(error as Error).message}`, { cause: error })
  }
}
