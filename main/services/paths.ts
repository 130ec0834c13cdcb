// Which files the API may touch. A request names host paths (a file to import, a folder to export to, a checkpoint
// folder); in browser mode anyone holding the token could otherwise read or write anywhere the host user can. So
// every path in a request must lie under an allowed root: the workspace, plus the folders the user chose
// (`cwb serve --allow-path DIR`, $CWB_ALLOW_PATHS; the desktop app adds the user's home, see main/app/desktop-paths.ts).
// Paths are compared after resolving symbolic links, so a link inside the workspace cannot lead outside it.
import { existsSync, lstatSync, readdirSync, realpathSync } from 'node:fs'
import type { Dirent } from 'node:fs'
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import type { z } from 'zod'
import { DELTA_AGAINST } from '../../preload/contract'
import { looksLikeHubId } from '../engine/checkpoint/hub-cache'
import type { MethodName, methods } from '../../preload/contract'
import { ApiError } from './dispatch'
import type { Handlers } from './dispatch'

export const ALLOW_PATHS_ENV = 'CWB_ALLOW_PATHS'
export const ALLOW_PATH_HINT = 'start it with --allow-path DIR to allow another folder'

/** The folders $CWB_ALLOW_PATHS names (separated by the platform's path delimiter: `:`, or `;` on Windows). */
export function allowedPathsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[ALLOW_PATHS_ENV] ?? '')
    .split(delimiter)
    .map((part) => part.trim())
    .filter(Boolean)
}

/**
 * Whether `path` lies under `root`, or is `root` itself unless `strictly`. Compares the paths as given: resolve links
 * first where a link could lead out (realLocation).
 */
export function isWithin(root: string, path: string, strictly = false): boolean {
  const rel = relative(root, path)
  if (rel === '') return !strictly
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)
}

/**
 * Where `path` really is: the real path of its deepest existing ancestor, with the parts that do not exist yet
 * appended (an export's new folder). A link that leads nowhere (dangling, or a loop) is refused: writing through
 * it would create its target, wherever that is.
 */
export function realLocation(path: string): string {
  const absolute = resolve(path)
  const missing: string[] = []
  let current = absolute
  for (;;) {
    try {
      return join(realpathSync(current), ...missing.reverse())
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      let isLink = false
      try {
        isLink = lstatSync(current).isSymbolicLink()
      } catch {
        // does not exist at all: look at the parent
      }
      if (isLink || code === 'ELOOP') {
        throw new ApiError(
          'invalid_request',
          `${current} is a symbolic link that ${code === 'ELOOP' ? 'loops' : 'leads to nothing'}; name the folder it should point to instead.`,
        )
      }
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error
      const parent = dirname(current)
      if (parent === current) return absolute
      missing.push(basename(current))
      current = parent
    }
  }
}

export interface PathPolicyOptions {
  /** Folders the API may read and write under (the workspace first). */
  roots: string[]
  /** Folders it may only read (the shipped base model). */
  readOnly?: string[]
  /** What the refusal tells the user to do. */
  hint?: string
}

export class PathPolicy {
  /** The allowed roots as given (resolved), for messages; `real` holds them with links resolved. */
  readonly roots: string[]
  private readonly real: string[]
  private readonly readable: string[]
  private readonly hint: string

  constructor(options: PathPolicyOptions) {
    this.roots = [...new Set(options.roots.map((root) => resolve(root)))]
    this.real = this.roots.map(realOrSelf)
    this.readable = [...this.real, ...(options.readOnly ?? []).map(realOrSelf)]
    this.hint = options.hint ?? ALLOW_PATH_HINT
  }

  allows(path: string, access: 'read' | 'write' = 'read'): boolean {
    const roots = access === 'write' ? this.real : this.readable
    const inside = (p: string): boolean => {
      const real = realLocation(p)
      return roots.some((root) => isWithin(root, real))
    }
    // A folder that is read (a checkpoint, a dump folder) must not lead out through a link among its files either.
    return inside(path) && (access === 'write' || entriesOf(path, 2).every(inside))
  }

  /**
   * The absolute path to use for `path` (field `field` of a request), or an invalid_request error when it lies
   * outside the allowed roots. Callers must use the returned path: it is the one that was checked.
   */
  check(field: string, path: string, access: 'read' | 'write' = 'read'): string {
    const refuse = (message: string): never => {
      throw new ApiError('invalid_request', `${field}: ${message}`, [{ path: field, message }])
    }
    if (path.includes('\0')) refuse('the path contains a NUL character; name a file or folder by its plain path.')
    let allowed: boolean
    try {
      allowed = this.allows(path, access)
    } catch (error) {
      if (error instanceof ApiError) refuse(error.message)
      throw error
    }
    if (!allowed) refuse(`${path} is outside the folders this workbench may use (${this.roots.join(', ')}); ${this.hint}`)
    return resolve(path)
  }
}

/** The files and folders under `dir` down to `depth` levels (none when `dir` is not a folder). */
function entriesOf(dir: string, depth: number): string[] {
  let names: Dirent[]
  try {
    names = readdirSync(dir, { withFileTypes: true })
  } catch {
    return []
  }
  return names.flatMap((entry) => {
    const path = join(dir, entry.name)
    return [path, ...(depth > 1 && entry.isDirectory() ? entriesOf(path, depth - 1) : [])]
  })
}

function realOrSelf(path: string): string {
  try {
    return realLocation(path)
  } catch {
    return resolve(path)
  }
}

/** Checkpoint names that are no folder: the shipped base model, and delta targets. */
const NAMED_REFS: ReadonlySet<string> = new Set(DELTA_AGAINST)
const RUN_STEP = /^(.+):(\d+|latest)$/

type HandlerParams<M extends MethodName> = z.output<(typeof methods)[M]['params']>

interface Confine {
  /** A file or folder the method reads. */
  read(field: string, path: string): string
  read(field: string, path: string | undefined): string | undefined
  /** A file or folder the method writes. */
  write(field: string, path: string | undefined): string | undefined
  /** A checkpoint named by folder, RUN:STEP, id or `base`: only a folder on disk is a path to confine. */
  ref<T>(field: string, ref: T): T
  /** A run config's starting checkpoint (`checkpoint`: a folder or RUN:STEP). */
  config<T>(field: string, config: T): T
}

type Rule<M extends MethodName> = (params: HandlerParams<M>, confine: Confine) => HandlerParams<M>

/** Every method whose request names a host path, and how each path is used. */
const RULES: { [M in MethodName]?: Rule<M> } = {
  'datasets.previewImport': (p, c) => ({ ...p, path: c.read('path', p.path) }),
  'datasets.import': (p, c) => ({ ...p, path: c.read('path', p.path), rewrite: c.read('rewrite', p.rewrite) }),
  'datasets.export': (p, c) => ({ ...p, out: c.write('out', p.out) }),
  'uploads.discard': (p, c) => ({ ...p, path: c.write('path', p.path)! }),
  'runs.importLog': (p, c) => ({ ...p, path: c.read('path', p.path) }),
  'runs.follow': (p, c) => ({ ...p, path: c.read('path', p.path) }),
  'runs.unbundle': (p, c) => ({ ...p, path: c.read('path', p.path) }),
  // A model that is no folder here (a hub id, a path on the cluster) is only written into the script, never read.
  'runs.exportVerl': (p, c) => ({
    ...p,
    out: c.write('out', p.out),
    model: p.model !== undefined && existsSync(p.model) ? c.ref('model', p.model) : p.model,
    base: c.read('base', p.base),
  }),
  'runs.validate': (p, c) => ({ ...p, config: c.config('config', p.config) }),
  'runs.plan': (p, c) => ({ ...p, config: c.config('config', p.config) }),
  'runs.launch': (p, c) => ({ ...p, configs: p.configs.map((config, i) => c.config(`configs.${i}`, config)) }),
  'checkpoints.openFolder': (p, c) => ({ ...p, path: c.read('path', p.path) }),
  'checkpoints.get': (p, c) => ({ ...p, checkpoint: c.ref('checkpoint', p.checkpoint) }),
  'checkpoints.stats': (p, c) => ({ ...p, checkpoint: c.ref('checkpoint', p.checkpoint) }),
  'checkpoints.delta': (p, c) => ({ ...p, checkpoint: c.ref('checkpoint', p.checkpoint), against: c.ref('against', p.against) }),
  'checkpoints.diff': (p, c) => ({ ...p, a: c.ref('a', p.a), b: c.ref('b', p.b) }),
  'checkpoints.evaluate': (p, c) => ({ ...p, checkpoint: c.ref('checkpoint', p.checkpoint) }),
  'checkpoints.exportOnnx': (p, c) => ({ ...p, checkpoint: c.ref('checkpoint', p.checkpoint), out: c.write('out', p.out) }),
  'checkpoints.exportHf': (p, c) => ({
    ...p,
    checkpoint: c.ref('checkpoint', p.checkpoint),
    out: c.write('out', p.out)!,
    base: c.read('base', p.base),
  }),
  'checkpoints.branch': (p, c) => ({ ...p, checkpoint: c.ref('checkpoint', p.checkpoint), config: c.config('config', p.config) }),
  'paraphrases.generate': (p, c) =>
    p.source.kind === 'onnx' ? { ...p, source: { ...p.source, checkpoint: c.ref('source.checkpoint', p.source.checkpoint) } } : p,
  'paraphrases.agreement': (p, c) => ({ ...p, checkpoint: c.ref('checkpoint', p.checkpoint) }),
}

/**
 * Wraps the handlers of the methods that take host paths so that each path is checked against the policy before
 * the service sees it. `known` tells a folder the store already records as a checkpoint (a run's own, or one an
 * import registered): naming those by path is fine wherever they are.
 */
export function confinePaths(handlers: Handlers, policy: PathPolicy, known: (path: string) => boolean): Handlers {
  const confine: Confine = {
    read: ((field: string, path: string | undefined) =>
      path === undefined ? undefined : policy.check(field, path, 'read')) as Confine['read'],
    write: (field, path) => (path === undefined ? undefined : policy.check(field, path, 'write')),
    ref: (field, ref) => confineRef(field, ref) as typeof ref,
    config: (field, config) => {
      if (typeof config !== 'object' || config === null || Array.isArray(config)) return config
      const checkpoint = (config as Record<string, unknown>).checkpoint
      if (typeof checkpoint !== 'string') return config
      return { ...config, checkpoint: confine.ref(`${field}.checkpoint`, checkpoint) }
    },
  }
  // resolveCheckpoint: an existing folder (or file) wins over RUN:STEP and the names `base`, `previous`, `teacher`;
  // those are store lookups. Anything else is checked whether it exists or not, so a refusal does not tell what
  // exists outside the allowed folders.
  function confineRef(field: string, ref: unknown): unknown {
    if (typeof ref !== 'string') return ref
    if (!ref.includes('\0') && existsSync(ref)) return known(resolve(ref)) ? ref : policy.check(field, ref, 'read')
    if (NAMED_REFS.has(ref) || RUN_STEP.test(ref)) return ref
    // A hub id (ORG/NAME) that is no folder here names a model in the local Hugging Face cache, found there alone and only read.
    if (looksLikeHubId(ref)) return ref
    return policy.check(field, ref, 'read')
  }
  const wrapped: Record<string, unknown> = { ...handlers }
  for (const method of Object.keys(RULES) as MethodName[]) {
    const rule = RULES[method] as Rule<MethodName> | undefined
    const handler = handlers[method] as (params: unknown) => unknown
    if (!rule) continue
    wrapped[method] = (params: HandlerParams<MethodName>) => {
      let checked: HandlerParams<MethodName>
      try {
        checked = rule(params, confine)
      } catch (error) {
        // The launch form validates and plans as the user types: a refused checkpoint is one of its field issues.
        if ((method === 'runs.validate' || method === 'runs.plan') && error instanceof ApiError && error.issues) {
          const issues = error.issues.map((issue) => ({ ...issue, path: issue.path.replace(/^config\./, '') }))
          return method === 'runs.plan' ? { plan: null, issues } : { config: null, issues }
        }
        throw error
      }
      return handler(checked)
    }
  }
  return wrapped as Handlers
}
