// Opening a workspace's store. A workspace created now starts with the demo: the demo dataset in the store
// and the shipped base model under models/demo-base (unless --no-demo or CWB_DEMO=0 asks for a bare one).
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { hostname } from 'node:os'
import { ensureDemoDataset } from '../data/demo/dataset'
import { shippedBaseModel } from '../package-root'
import { markInterruptedRuns } from '../store/runs'
import { Store } from '../store/store'
import { prepareWorkspace, processAlive, resolveWorkspace } from '../store/workspace'

export const DEMO_MODEL_FOLDER = join('models', 'demo-base')

/** Whether a new workspace gets the demo: `--no-demo` (demo: false) or CWB_DEMO=0 turn it off. */
export function demoWanted(option: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (option === false) return false
  return env.CWB_DEMO !== '0'
}

/** Marks a new workspace whose demo is being set up, with the setting-up process's id. */
const DEMO_SETUP_FILE = '.demo-setup'

/** Whether another live process is setting up this workspace's demo right now. */
function demoBeingSetUp(file: string): boolean {
  try {
    const pid = Number(readFileSync(file, 'utf8'))
    return Number.isSafeInteger(pid) && pid !== process.pid && processAlive(pid)
  } catch {
    return false
  }
}

/**
 * Copies a folder to `to` unless it is there: into a folder of this process first, then renamed into place, so a
 * process that opens the workspace at the same time sees the whole copy or none, and the second copy is dropped.
 */
function copyOnce(from: string, to: string): void {
  if (existsSync(to)) return
  const partial = `${to}.${process.pid}.partial`
  cpSync(from, partial, { recursive: true })
  try {
    renameSync(partial, to)
  } catch (error) {
    rmSync(partial, { recursive: true, force: true })
    if (!existsSync(to)) throw error
  }
}

export function openWorkspace(option: string | undefined, demo: boolean): { dir: string; store: Store; created: boolean } {
  const { dir, database } = prepareWorkspace(resolveWorkspace(option))
  const setup = join(dir, DEMO_SETUP_FILE)
  const created = !existsSync(database)
  // A second process that opens the workspace while the first still sets up its demo (two `cwb train` started
  // together on a new folder) joins the setup: storing the demo dataset is idempotent under the write lock, so it
  // waits for the first one's dataset instead of finding none.
  const joining = !created && demo && demoBeingSetUp(setup)
  if (created && demo) writeFileSync(setup, String(process.pid))
  const store = new Store(database)
  if ((created || joining) && demo) {
    try {
      ensureDemoDataset(store.db)
      const baseModel = shippedBaseModel()
      if (existsSync(baseModel)) copyOnce(baseModel, join(dir, DEMO_MODEL_FOLDER))
    } catch (error) {
      store.close()
      throw error
    } finally {
      if (created) rmSync(setup, { force: true })
    }
  }
  // Runs left running by a trainer that is gone (a crash, a reboot) become interrupted, ready to resume.
  markInterruptedRuns(store.db, (pid, host) => host === hostname() && processAlive(pid))
  return { dir, store, created }
}
