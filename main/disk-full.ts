// A full disk, however it shows up: ENOSPC (or a quota's EDQUOT) from a file write, SQLITE_FULL from the store (SQLite
// reports a failed write to a full disk, and a database at its max_page_count, that way), SQLITE_IOERR_SHMSIZE when
// opening the store on a full disk. Messages name it plainly.

// SQLITE_IOERR_SHMSIZE: SQLite could not grow its shared-memory file (workbench.db-shm), which it needs even to read.
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', 'SQLITE_IOERR_SHMSIZE'])

/** The error in `error`'s chain (itself, or what it wraps as `cause`) that says the disk is full, if any. */
function fullError(error: unknown): Error | undefined {
  for (let e = error, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && FULL_CODES.has(code)) return e as Error
  }
  return undefined
}

/** Whether `error`, or an error it wraps, says the disk is full. */
export function isDiskFull(error: unknown): boolean {
  return fullError(error) !== undefined
}

/** "the disk is full (ENOSPC: no space left on device, write)": what happened, in the system's own words too. */
export function diskFullReason(error: unknown): string {
  const full = fullError(error)
  return `the disk is full (${full?.message ?? (error as Error)?.message ?? String(error)})`
}
