// Paths in API requests are confined to the workspace and the folders the user allowed (main/services/paths.ts):
// the policy on its own (links, missing parts, read-only roots), and through a real host on real files.
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { desktopAllowedPaths } from '../../main/app/desktop-paths'
import { ApiError } from '../../main/services/dispatch'
import { allowedPathsFromEnv, PathPolicy, realLocation } from '../../main/services/paths'
import { addCheckpoint } from '../../main/store/checkpoints'
import { createRun } from '../../main/store/runs'
import { root } from '../helpers/cli'
import { hostOnWorkspace } from '../helpers/host'
import { cleanupsAfterEach, tempDir } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()

/** A workspace, a folder the user allowed, and one they did not, side by side. */
function folders(): { ws: string; allowed: string; outside: string; top: string } {
  const { dir, remove } = tempDir('cwb-paths-')
  cleanups.push(remove)
  const [ws, allowed, outside] = ['ws', 'allowed', 'outside'].map((name) => join(dir, name))
  for (const folder of [ws!, allowed!, outside!]) mkdirSync(folder)
  return { ws: ws!, allowed: allowed!, outside: outside!, top: dir }
}

const refusal = (field: string, path: string, roots: string[]): string =>
  `${field}: ${path} is outside the folders this workbench may use (${roots.join(', ')}); start it with --allow-path DIR to allow another folder`

describe('the path policy', () => {
  it('allows paths under its roots, also ones that do not exist yet, and refuses the rest', () => {
    const { ws, allowed, outside } = folders()
    const policy = new PathPolicy({ roots: [ws, allowed] })
    expect(policy.check('path', join(ws, 'data.jsonl'))).toBe(join(ws, 'data.jsonl'))
    expect(policy.check('out', join(allowed, 'new', 'deeper', 'export'), 'write')).toBe(join(allowed, 'new', 'deeper', 'export'))
    expect(policy.allows(ws)).toBe(true)
    expect(() => policy.check('path', join(outside, 'x.jsonl'))).toThrow(refusal('path', join(outside, 'x.jsonl'), [ws, allowed]))
    expect(policy.allows(`${ws}/../outside/x`)).toBe(false)
    expect(policy.allows(`${ws}-sibling`)).toBe(false)
    expect(policy.allows('/')).toBe(false)
  })

  it('resolves symbolic links, so a link inside a root cannot lead out of it', () => {
    const { ws, outside } = folders()
    symlinkSync(outside, join(ws, 'door'))
    symlinkSync(join(ws, 'data'), join(ws, 'inner-link'))
    mkdirSync(join(ws, 'data'))
    const policy = new PathPolicy({ roots: [ws] })
    expect(policy.allows(join(ws, 'door'))).toBe(false)
    expect(policy.allows(join(ws, 'door', 'new-file'), 'write')).toBe(false)
    expect(policy.allows(join(ws, 'inner-link', 'x.jsonl'))).toBe(true)
    expect(realLocation(join(ws, 'door', 'a', 'b'))).toBe(join(outside, 'a', 'b'))
  })

  it('refuses a folder that is read when a file in it (or one level down) links out, as a checkpoint’s weights could', () => {
    const { ws, outside } = folders()
    writeFileSync(join(outside, 'secret.safetensors'), 'x')
    mkdirSync(join(ws, 'ckpt', 'onnx'), { recursive: true })
    writeFileSync(join(ws, 'ckpt', 'config.json'), '{}')
    const policy = new PathPolicy({ roots: [ws] })
    expect(policy.allows(join(ws, 'ckpt'))).toBe(true)
    symlinkSync(join(outside, 'secret.safetensors'), join(ws, 'ckpt', 'onnx', 'model.onnx'))
    expect(policy.allows(join(ws, 'ckpt'))).toBe(false)
    expect(policy.allows(join(ws, 'ckpt'), 'write')).toBe(true) // writing into it replaces files; it reads none
    expect(() => policy.check('path', join(ws, 'ckpt'))).toThrow(refusal('path', join(ws, 'ckpt'), [ws]))
  })

  it('refuses dangling and looping links (writing through one would create its target anywhere)', () => {
    const { ws, outside } = folders()
    symlinkSync(join(outside, 'not-yet'), join(ws, 'dangling'))
    symlinkSync(join(ws, 'loop-b'), join(ws, 'loop-a'))
    symlinkSync(join(ws, 'loop-a'), join(ws, 'loop-b'))
    const policy = new PathPolicy({ roots: [ws] })
    expect(() => policy.check('out', join(ws, 'dangling'), 'write')).toThrow(/dangling is a symbolic link that leads to nothing/)
    expect(() => policy.check('path', join(ws, 'loop-a', 'x'))).toThrow(/is a symbolic link that (loops|leads to nothing)/)
    expect(() => policy.check('path', `${ws}/a\u0000b`)).toThrow('path: the path contains a NUL character')
  })

  it('keeps read-only roots out of reach for writes', () => {
    const { ws, allowed } = folders()
    const policy = new PathPolicy({ roots: [ws], readOnly: [allowed] })
    expect(policy.allows(join(allowed, 'model'), 'read')).toBe(true)
    expect(policy.allows(join(allowed, 'model'), 'write')).toBe(false)
    const error = (() => {
      try {
        policy.check('out', join(allowed, 'model'), 'write')
      } catch (e) {
        return e as ApiError
      }
    })()
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ code: 'invalid_request', issues: [{ path: 'out' }] })
  })

  it('reads $CWB_ALLOW_PATHS split by the platform path delimiter; the desktop app adds the home folder', () => {
    expect(allowedPathsFromEnv({ CWB_ALLOW_PATHS: ['/data/a', ' /data/b ', ''].join(delimiter) })).toEqual(['/data/a', '/data/b'])
    expect(allowedPathsFromEnv({})).toEqual([])
    expect(desktopAllowedPaths({ CWB_ALLOW_PATHS: '/mnt/disk' }, '/home/someone')).toEqual(['/home/someone', '/mnt/disk'])
  })
})

describe('a host confines the paths of its requests', () => {
  function host(allowedPaths?: string[]) {
    const { ws, allowed, outside, top } = folders()
    const { store, call, refuse } = hostOnWorkspace(cleanups, { workspace: ws, allowedPaths: allowedPaths ?? [allowed] })
    const data = (folder: string, name = 'data.jsonl'): string => {
      const file = join(folder, name)
      writeFileSync(file, '{"question": "What is 2 + 3?", "answer": "5"}\n')
      return file
    }
    return { ws, allowed, outside, top, store, call, refuse, data }
  }

  it('reads files in the workspace and the allowed folders, and refuses others with the message and the field', async () => {
    const { ws, allowed, outside, call, refuse, data } = host()
    expect((await call('datasets.previewImport', { path: data(ws) })).rows).toBe(1)
    expect((await call('datasets.previewImport', { path: data(allowed) })).rows).toBe(1)
    const secret = data(outside)
    expect(await refuse('datasets.previewImport', { path: secret })).toEqual({
      code: 'invalid_request',
      message: refusal('path', secret, [ws, allowed]),
      issues: [{ path: 'path', message: expect.stringMatching(/is outside the folders this workbench may use/) }],
    })
    expect((await refuse('datasets.import', { path: data(ws), rewrite: secret, job: 'j' })).message).toBe(
      refusal('rewrite', secret, [ws, allowed]),
    )
    expect((await refuse('runs.importLog', { path: join(ws, '..', 'outside', 'data.jsonl') })).message).toMatch(
      /^path: .* is outside the folders/,
    )
    expect((await refuse('runs.unbundle', { path: secret })).message).toMatch(/^path: /)
  })

  it('writes exports only where allowed, and leaves nothing behind when it refuses', async () => {
    const { ws, allowed, outside, call, refuse, data } = host()
    const { dataset } = await call('datasets.import', { path: data(ws), job: 'import' })
    const out = join(allowed, 'export')
    expect((await call('datasets.export', { dataset, format: 'jsonl', out })).files[0]!.startsWith(out)).toBe(true)
    expect((await refuse('datasets.export', { dataset, format: 'jsonl', out: join(outside, 'export') })).message).toBe(
      refusal('out', join(outside, 'export'), [ws, allowed]),
    )
    expect(readdirSync(outside)).toEqual([])
  })

  it('confines checkpoint folders named by path, but not RUN:STEP, ids, base or checkpoints the store records', async () => {
    const { ws, allowed, outside, store, call, refuse } = host()
    const base = join(root, 'resources', 'base-model')
    // The shipped base model is readable (a read-only root), by name and by path.
    expect((await call('checkpoints.openFolder', { path: base })).modelType).toBe('cwb-gpt')
    expect((await call('checkpoints.get', { checkpoint: 'base' })).path).toBe(base)
    const foreign = join(outside, 'model')
    cpSync(base, foreign, { recursive: true })
    expect((await refuse('checkpoints.openFolder', { path: foreign })).message).toBe(refusal('path', foreign, [ws, allowed]))
    expect((await refuse('checkpoints.stats', { checkpoint: foreign })).message).toMatch(/^checkpoint: .* is outside/)
    expect((await refuse('checkpoints.branch', { checkpoint: 'base', config: { checkpoint: foreign } })).message).toMatch(
      /^config\.checkpoint: .* is outside/,
    )
    expect((await refuse('checkpoints.exportHf', { checkpoint: 'base', out: join(outside, 'hf') })).message).toMatch(/^out: /)
    expect(existsSync(join(outside, 'hf'))).toBe(false)
    // A path that does not exist outside is refused the same way: a refusal does not tell what exists there.
    expect((await refuse('checkpoints.get', { checkpoint: join(outside, 'nothing') })).message).toMatch(
      /^checkpoint: .* is outside/,
    )
    expect((await refuse('checkpoints.get', { checkpoint: 'ghost:3' })).message).toMatch(/No run "ghost"/)
    // The launch form shows a refused checkpoint as a field issue; launching is refused and queues nothing.
    const config = { name: 'x', mode: 'majority_voting', dataset: 'demo-arithmetic', checkpoint: foreign }
    const validated = await call('runs.validate', { config })
    expect(validated.config).toBeNull()
    expect(validated.issues).toEqual([{ path: 'checkpoint', message: expect.stringMatching(/is outside the folders/) }])
    expect((await refuse('runs.launch', { configs: [config] })).message).toMatch(/^configs\.0\.checkpoint: /)
    expect(store.db.prepare('SELECT COUNT(*) FROM runs').pluck().get()).toBe(0)
    // A folder the store records as a run's checkpoint is the user's own choice already (an import registered it).
    const run = createRun(store.db, { name: 'imported', mode: 'majority_voting', config: {}, seed: 0, origin: 'verl' })
    addCheckpoint(store.db, run, 10, foreign)
    expect((await call('checkpoints.get', { checkpoint: foreign })).step).toBe(10)
  })

  it('allows nothing beyond the workspace (and the shipped model) without allowed folders', async () => {
    const { ws, allowed, refuse, data } = host([])
    expect((await refuse('datasets.previewImport', { path: data(allowed) })).message).toBe(
      refusal('path', join(allowed, 'data.jsonl'), [ws]),
    )
  })
})
