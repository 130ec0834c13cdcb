import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './cli'

/** ../shared/data beside the repository, or CWB_SHARED_DATA; tests that need it skip, saying why, when it is absent. */
export const sharedData = process.env.CWB_SHARED_DATA ?? join(root, '..', 'shared', 'data')
export const hasSharedData = existsSync(sharedData)
export const missingSharedData = `shared data not found at ${sharedData} (set CWB_SHARED_DATA)`

/** A test title that says, when the shared data is absent, why the test is skipped. */
export const needsSharedData = (title: string): string => (hasSharedData ? title : `${title} (skipped: ${missingSharedData})`)
