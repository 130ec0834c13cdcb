// Opening a workspace's store. A workspace created now starts with the demo: the demo dataset in the store
// and the shipped base model under models/demo-base (unless --no-demo or CWB_DEMO=0 asks for a bare one).
import { cpSync, existsSync } from 'node:fs'
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

export function openWorkspace(option: string | undefined, demo: boolean): { dir: string; store: Store; created: boolean } {
  const { dir, database } = prepareWorkspace(resolveWorkspace(option))
  const created = !existsSync(database)
  const store = new Store(database)
  if (created && demo) {
    try {
      ensureDemoDataset(store.db)
      const baseModel = shippedBaseModel()
      if (existsSync(baseModel)) cpSync(baseModel, join(dir, DEMO_MODEL_FOLDER), { recursive: true })
    } catch (error) {
      store.close()
      throw error
    }
  }
  // Runs left running by a trainer that is gone (a crash, a reboot) become interrupted, ready to resume.
  markInterruptedRuns(store.db, (pid, host) => host === hostname() && processAlive(pid))
  return { dir, store, created }
}
