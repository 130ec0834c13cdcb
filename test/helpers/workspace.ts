import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'

/** A fresh, bare folder that removes itself. */
export function tempDir(prefix = 'cwb-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** For a test file: returns a maker of fresh folders, each removed after the test that made it. */
export function freshDirs(): () => string {
  const made: (() => void)[] = []
  afterEach(() => made.splice(0).forEach((remove) => remove()))
  return () => {
    const { dir, remove } = tempDir()
    made.push(remove)
    return dir
  }
}

export type Cleanup = () => unknown

/** For a test file: a list to push clean-ups onto; after each test they run, awaited, last pushed first. */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = []
  afterEach(async () => {
    for (const clean of cleanups.splice(0).reverse()) await clean()
  })
  return cleanups
}
