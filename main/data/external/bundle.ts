// Run bundles: one .tgz that moves a run between workstations (config, metrics, samples, events and alerts, and
// the chosen checkpoints). Unbundling validates the manifest, extracts into the workspace, and stores the run in
// one transaction under a new id; on any error nothing stays behind.
//
// Layout: bundle.json (manifest), metrics.jsonl ([step, key, value, wall_time, tokens]; NaN as null, infinities as
// "Infinity"/"-Infinity"), samples.jsonl, events.jsonl, checkpoints/step-<N>/ (the checkpoint folders).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tar from 'tar'
import { z } from 'zod'
import { BUNDLE_CHECKPOINTS, isLiveStatus, RUN_ORIGINS, RUN_STATUSES } from '../../../preload/contract'
import { isRewardModeId } from '../../engine/rewards'
import { packageVersion } from '../../package-root'
import type { Db } from '../../store/database'
import { findDataset } from '../../store/datasets'
import { listRunCheckpoints } from '../../store/checkpoints'
import { metricFromJson, metricToJson } from '../../store/metrics'
import { insertBundledCheckpoints, insertBundledRun, runRowsForBundle } from '../../store/run-imports'
import type { BundledMetric } from '../../store/run-imports'
import { getRun } from '../../store/runs'
import { writeTransaction } from '../../store/sql'

export const BUNDLE_FORMAT = 'cwb-run-bundle'

const Manifest = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(1),
  workbench: z.string(),
  run: z.object({
    name: z.string().min(1),
    mode: z.string().refine(isRewardModeId, { message: 'not a reward mode this workbench knows' }),
    config: z.record(z.string(), z.unknown()),
    seed: z.number().int(),
    origin: z.enum(RUN_ORIGINS),
    status: z.enum(RUN_STATUSES),
    notes: z.string(),
    tags: z.array(z.string()),
    environment: z.record(z.string(), z.unknown()),
    dataset: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  }),
  checkpoints: z.array(z.object({ step: z.number().int().min(0), tags: z.array(z.string()), dir: z.string() })),
})
type Manifest = z.infer<typeof Manifest>

export type CheckpointChoice = (typeof BUNDLE_CHECKPOINTS)[number] | number[]

const jsonl = (rows: unknown[]): string => rows.map((row) => JSON.stringify(row)).join('\n') + (rows.length ? '\n' : '')

export async function bundleRun(
  db: Db,
  runSpec: string,
  file: string,
  choice: CheckpointChoice = 'tagged',
): Promise<{ run: number; checkpoints: number[]; file: string }> {
  const run = getRun(db, runSpec)
  if (!run) throw new Error(`No run "${runSpec}" in this workspace; \`cwb runs\` lists them.`)
  if (isLiveStatus(run.status))
    throw new Error(`Run ${run.id} is ${run.status}; stop it before bundling so the bundle holds a consistent run.`)
  const all = listRunCheckpoints(db, run.id)
  const chosen =
    choice === 'all'
      ? all
      : choice === 'none'
        ? []
        : choice === 'tagged'
          ? all.filter((c) => c.tags.length > 0)
          : choice.map((step) => {
              const found = all.find((c) => c.step === step)
              if (!found)
                throw new Error(
                  `Run ${run.id} has no checkpoint at step ${step}; it has ${all.map((c) => c.step).join(', ') || 'none'}.`,
                )
              return found
            })
  for (const checkpoint of chosen) {
    if (!existsSync(checkpoint.path))
      throw new Error(`The checkpoint folder of step ${checkpoint.step} is gone (${checkpoint.path}).`)
  }
  const dataset = run.datasetId === null ? null : (findDataset(db, run.datasetId)?.name ?? null)
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    version: 1,
    workbench: packageVersion(),
    run: {
      name: run.name,
      mode: run.mode,
      config: run.config,
      seed: run.seed,
      origin: run.origin,
      status: run.status,
      notes: run.notes,
      tags: run.tags,
      environment: run.environment,
      dataset,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    },
    checkpoints: chosen.map((c) => ({ step: c.step, tags: c.tags, dir: `checkpoints/step-${c.step}` })),
  }
  const staging = mkdtempSync(join(tmpdir(), 'cwb-bundle-'))
  try {
    writeFileSync(join(staging, 'bundle.json'), JSON.stringify(manifest, null, 2))
    const { metrics, samples, events } = runRowsForBundle(db, run.id)
    writeFileSync(
      join(staging, 'metrics.jsonl'),
      jsonl(metrics.map(([step, key, value, wall, tokens]) => [step, key, metricToJson(value), wall, tokens])),
    )
    writeFileSync(join(staging, 'samples.jsonl'), jsonl(samples))
    writeFileSync(join(staging, 'events.jsonl'), jsonl(events))
    mkdirSync(join(staging, 'checkpoints'))
    for (const checkpoint of chosen) symlinkSync(checkpoint.path, join(staging, 'checkpoints', `step-${checkpoint.step}`), 'dir')
    await tar.create({ gzip: true, file, cwd: staging, follow: true, portable: true }, [
      'bundle.json',
      'metrics.jsonl',
      'samples.jsonl',
      'events.jsonl',
      'checkpoints',
    ])
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
  return { run: run.id, checkpoints: chosen.map((c) => c.step), file }
}

function readJsonl(file: string, what: string): unknown[] {
  if (!existsSync(file)) throw new Error(`The bundle has no ${what}; is it a cwb run bundle?`)
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as unknown
      } catch (error) {
        throw new Error(`The bundle's ${what} line ${i + 1} is not valid JSON; the bundle is damaged.`, { cause: error })
      }
    })
}

export async function unbundleRun(
  db: Db,
  workspace: string,
  file: string,
): Promise<{ run: number; name: string; checkpoints: number[] }> {
  if (!existsSync(file)) throw new Error(`${file}: no such file; check the path.`)
  const runsDir = join(workspace, 'runs')
  mkdirSync(runsDir, { recursive: true })
  const staging = mkdtempSync(join(runsDir, '.unbundle-'))
  try {
    try {
      await tar.extract({ file, cwd: staging, strict: true })
    } catch (error) {
      throw new Error(`${file}: not a readable run bundle (${(error as Error).message}).`, { cause: error })
    }
    let raw: unknown
    try {
      raw = JSON.parse(readFileSync(join(staging, 'bundle.json'), 'utf8'))
    } catch (error) {
      throw new Error(`${file}: no readable bundle.json; is it a cwb run bundle?`, { cause: error })
    }
    const parsed = Manifest.safeParse(raw)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new Error(`${file}: bundle.json: ${issue?.path.join('.') || '(manifest)'}: ${issue?.message}`)
    }
    const manifest = parsed.data
    const metrics = readJsonl(join(staging, 'metrics.jsonl'), 'metrics.jsonl') as [number, string, unknown, number, number][]
    const samples = readJsonl(join(staging, 'samples.jsonl'), 'samples.jsonl') as Record<string, unknown>[]
    const events = readJsonl(join(staging, 'events.jsonl'), 'events.jsonl') as Record<string, unknown>[]
    for (const checkpoint of manifest.checkpoints) {
      if (!existsSync(join(staging, checkpoint.dir)))
        throw new Error(`${file}: the checkpoint of step ${checkpoint.step} is missing from the bundle.`)
    }
    const m = manifest.run
    // A bundled run that was live when it left ends up resumable here, like one whose trainer went away.
    const status = isLiveStatus(m.status) ? 'interrupted' : m.status
    const datasetId = m.dataset === null ? null : (findDataset(db, m.dataset)?.id ?? null)
    const store = (): number => {
      const id = insertBundledRun(
        db,
        {
          ...m,
          status,
          datasetId,
          environment: { ...m.environment, bundle: { file, workbench: manifest.workbench } },
        },
        {
          metrics: metrics.map(([step, key, value, wall, tokens]): BundledMetric => [
            step,
            key,
            metricFromJson(value),
            wall,
            tokens,
          ]),
          samples,
          events,
        },
      )
      insertBundledCheckpoints(
        db,
        id,
        manifest.checkpoints.map((c) => ({ step: c.step, path: join(runsDir, String(id), c.dir), tags: c.tags })),
      )
      if (existsSync(join(runsDir, String(id))))
        throw new Error(`The folder for run ${id} exists already (${join(runsDir, String(id))}); move it away and retry.`)
      return id
    }
    let id: number
    try {
      id = writeTransaction(db, store)
    } catch (error) {
      throw new Error(`${file}: cannot store the bundled run: ${(error as Error).message}`, { cause: error })
    }
    const runDir = join(runsDir, String(id))
    renameSync(staging, runDir)
    for (const name of ['metrics.jsonl', 'samples.jsonl', 'events.jsonl']) rmSync(join(runDir, name), { force: true })
    return { run: id, name: m.name, checkpoints: manifest.checkpoints.map((c) => c.step) }
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}
