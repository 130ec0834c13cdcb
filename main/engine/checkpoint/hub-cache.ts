// Models named by Hugging Face hub id (ORG/NAME) are found in the local hub cache only; nothing is downloaded.
// Layout: <cache>/models--ORG--NAME/snapshots/<revision>/ with refs/main naming the current revision.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/

/** Whether `spec` reads as a hub id (ORG/NAME) rather than a path or RUN:STEP. */
export function looksLikeHubId(spec: string): boolean {
  return HUB_ID.test(spec) && !spec.includes('..')
}

/** The hub cache folder: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE
  if (env.HF_HOME) return join(env.HF_HOME, 'hub')
  return join(home, '.cache', 'huggingface', 'hub')
}

/** The snapshot folder of a cached hub model (refs/main's revision, else the newest snapshot), or an error saying where it looked. */
export function resolveHubModel(id: string, env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  const cache = hubCacheDir(env, home)
  const repo = join(cache, `models--${id.split('/').join('--')}`)
  const snapshots = join(repo, 'snapshots')
  const missing = (): Error =>
    new Error(
      `${id} is not a folder, and no copy of it is in the local Hugging Face cache (looked in ${snapshots}). ` +
        'Nothing is downloaded: fetch it first (e.g. `huggingface-cli download ' +
        id +
        '`), set HF_HOME to the cache that holds it, or give the model folder.',
    )
  if (!existsSync(snapshots)) throw missing()
  const ref = join(repo, 'refs', 'main')
  if (existsSync(ref)) {
    const revision = readFileSync(ref, 'utf8').trim()
    const folder = join(snapshots, revision)
    if (revision !== '' && existsSync(join(folder, 'config.json'))) return folder
  }
  const candidates = readdirSync(snapshots)
    .map((name) => join(snapshots, name))
    .filter((folder) => existsSync(join(folder, 'config.json')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  if (candidates.length === 0) throw missing()
  return candidates[0]!
}

/** The hub id (ORG/NAME) of a snapshot folder inside the hub cache, as PEFT writes base_model_name_or_path; else undefined. */
export function hubIdOf(folder: string): string | undefined {
  const match = /models--([^/]+?)--([^/]+)\/snapshots\/[^/]+\/?$/.exec(folder)
  return match ? `${match[1]}/${match[2]}` : undefined
}
