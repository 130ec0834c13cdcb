// Files a browser uploads for import (`POST /api/upload`, browser mode has no host paths): they land in the
// workspace's uploads folder under a random prefix, and the import dialog shows them by their own name. An upload is
// removed once its import is stored, when the dialog that made it is abandoned (`uploads.discard`), and, left over
// from a server that stopped mid-import, when the next server starts on the workspace.
import { randomBytes } from 'node:crypto'
import { readdirSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

export const UPLOADS_FOLDER = 'uploads'
const PREFIX = /^[0-9a-f]{16}-/

/** A file name safe on every platform: the last path part, odd characters replaced, at most 120 characters. */
export function safeFileName(name: string): string {
  const last = basename(name.replaceAll('\\', '/'))
  const cleaned = last.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '')
  return cleaned.slice(-120) || 'upload'
}

/** Where an upload named `name` goes: a fresh random prefix, so two uploads of one name never meet. */
export function uploadPath(workspace: string, name: string): string {
  return join(workspace, UPLOADS_FOLDER, `${randomBytes(8).toString('hex')}-${safeFileName(name)}`)
}

/** Whether `path` is an upload in this workspace (removed once its import is stored). */
export function isUpload(workspace: string, path: string): boolean {
  return resolve(dirname(path)) === resolve(workspace, UPLOADS_FOLDER) && PREFIX.test(basename(path))
}

/** The name a file was uploaded as (the path's own name for any other file). */
export function uploadedName(path: string): string {
  return basename(path).replace(PREFIX, '')
}

/**
 * Removes every upload left in the workspace's uploads folder and returns how many: for a server starting on the
 * workspace, whose lock means no other process is uploading into it, so each one is left from an abandoned import.
 */
export function removeStaleUploads(workspace: string): number {
  let names: string[]
  try {
    names = readdirSync(join(workspace, UPLOADS_FOLDER))
  } catch {
    return 0
  }
  let removed = 0
  for (const name of names) {
    if (!PREFIX.test(name)) continue
    rmSync(join(workspace, UPLOADS_FOLDER, name), { force: true, recursive: true })
    removed++
  }
  return removed
}
