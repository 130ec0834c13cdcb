// Kept apart from workspace.ts: Playwright's loader cannot import better-sqlite3, and the e2e tests use workspace.ts.
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { Store } from '../../main/store/store'
import { freshDirs } from './workspace'

/** For a test file: returns an opener of run stores in fresh folders (or at `file`), each closed after its test. */
export function freshStores(): (file?: string) => Store {
  const freshDir = freshDirs()
  const opened: Store[] = []
  afterEach(() => opened.splice(0).forEach((store) => store.close()))
  return (file = join(freshDir(), 'workbench.db')) => {
    const store = new Store(file)
    opened.push(store)
    return store
  }
}
