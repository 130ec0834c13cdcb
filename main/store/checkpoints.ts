// A run's checkpoints: the folder saved at a step, with its tags. The best checkpoints by held-out accuracy and by
// self-reward carry tags the store moves as metrics arrive, so retention keeps them.
import type { CheckpointSummary } from '../../preload/contract'
import type { Db } from './database'
import { HELD_OUT_KEYS_LIKE, SELF_REWARD_KEY } from './metrics'
import { requireRun } from './runs'
import { NOW, prepared, writeTransaction } from './sql'
import { checkInteger, checkTags, parseTags } from './values'

export interface RunCheckpoint {
  id: number
  runId: number
  step: number
  path: string
  tags: string[]
  createdAt: string
}

/** The tag of the checkpoint with the best held-out accuracy (see refreshBestCheckpointTag). */
export const BEST_GT_TAG = 'best-gt'

/** The tag of the checkpoint with the best training score `critic/score/mean` (the self-reward; see refreshBestSelfTag). */
export const BEST_SELF_TAG = 'best-self'

const CHECKPOINT_COLUMNS = 'id, run_id AS runId, step, path, tags, created_at AS createdAt'
type CheckpointRow = Omit<RunCheckpoint, 'tags'> & { tags: string }
const parseCheckpoint = (row: CheckpointRow): RunCheckpoint => ({ ...row, tags: parseTags(row.tags) })

/** Records the checkpoint folder of a run's step (replacing the path and tags of one already at that step); returns its id. */
export function addCheckpoint(db: Db, runId: number, step: number, path: string, tags: string[] = []): number {
  checkInteger(step, `The checkpoint step of run ${runId}`)
  checkTags(tags, 'Checkpoint tags')
  if (typeof path !== 'string' || path.trim() === '')
    throw new Error(`The checkpoint of run ${runId} at step ${step} needs a folder path.`)
  const upsert = prepared(
    db,
    `INSERT INTO checkpoints (run_id, step, path, tags) VALUES (?, ?, ?, ?)
     ON CONFLICT (run_id, step) DO UPDATE SET path = excluded.path, tags = excluded.tags, created_at = ${NOW}
     RETURNING id`,
  )
  return writeTransaction(db, (): number => {
    requireRun(db, runId)
    return (upsert.get(runId, step, path, JSON.stringify(tags)) as { id: number }).id
  })
}

/** Adds and removes tags of a checkpoint (by checkpoint id) and returns its tags, in the order they were first added. */
export function tagCheckpoint(db: Db, checkpointId: number, add: string[], remove: string[] = []): string[] {
  checkTags(add, 'Tags to add')
  checkTags(remove, 'Tags to remove')
  return writeTransaction(db, (): string[] => {
    const row = prepared(db, 'SELECT tags FROM checkpoints WHERE id = ?').get(checkpointId) as { tags: string } | undefined
    if (!row) throw new Error(`No checkpoint with id ${checkpointId} in this workspace; \`cwb runs\` lists the runs.`)
    const tags = [...new Set([...parseTags(row.tags), ...add])].filter((tag) => !remove.includes(tag))
    prepared(db, 'UPDATE checkpoints SET tags = ? WHERE id = ?').run(JSON.stringify(tags), checkpointId)
    return tags
  })
}

/** Forgets a checkpoint; its folder is the caller's to delete. */
export function removeCheckpoint(db: Db, checkpointId: number): void {
  prepared(db, 'DELETE FROM checkpoints WHERE id = ?').run(checkpointId)
}

/** A run's checkpoints, steps ascending. */
export function listRunCheckpoints(db: Db, runId: number): RunCheckpoint[] {
  const rows = prepared(db, `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE run_id = ? ORDER BY step`).all(
    runId,
  ) as CheckpointRow[]
  return rows.map(parseCheckpoint)
}

/** A checkpoint by id. */
export function getCheckpoint(db: Db, checkpointId: number): RunCheckpoint | undefined {
  const row = prepared(db, `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE id = ?`).get(checkpointId) as
    CheckpointRow | undefined
  return row && parseCheckpoint(row)
}

/** The checkpoint of a run's step. */
export function checkpointAtStep(db: Db, runId: number, step: number): RunCheckpoint | undefined {
  const row = prepared(db, `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE run_id = ? AND step = ?`).get(runId, step) as
    CheckpointRow | undefined
  return row && parseCheckpoint(row)
}

/** The checkpoint stored at a folder (the first recorded, should two runs name the same folder). */
export function checkpointAtPath(db: Db, path: string): RunCheckpoint | undefined {
  const row = prepared(db, `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE path = ? ORDER BY id LIMIT 1`).get(path) as
    CheckpointRow | undefined
  return row && parseCheckpoint(row)
}

/** The folders of every run's checkpoints, by run. */
export function checkpointFolders(db: Db): Map<number, string[]> {
  const folders = new Map<number, string[]>()
  for (const row of prepared(db, 'SELECT run_id AS run, path FROM checkpoints').all() as { run: number; path: string }[]) {
    folders.set(row.run, [...(folders.get(row.run) ?? []), row.path])
  }
  return folders
}

/** The checkpoint list: every run's (or one run's) checkpoints with their run's name, newest run first, steps ascending. */
export function checkpointSummaries(db: Db, run?: number): CheckpointSummary[] {
  const rows = prepared(
    db,
    `SELECT c.id, c.run_id AS run, r.name AS runName, c.step, c.path, c.tags, c.created_at AS createdAt
     FROM checkpoints c JOIN runs r ON r.id = c.run_id
     WHERE (@run IS NULL OR c.run_id = @run) ORDER BY c.run_id DESC, c.step`,
  ).all({ run: run ?? null }) as (Omit<CheckpointSummary, 'tags'> & { tags: string })[]
  return rows.map((row) => ({ ...row, tags: parseTags(row.tags) }))
}

/**
 * The step whose value is strictly higher than every other candidate's, or null when no candidate has a finite value
 * or the top value is shared: a tie is not a peak, so tied steps get no best tag.
 */
export function bestStep(values: readonly { step: number; value: number | null }[]): number | null {
  let best: { step: number; value: number } | null = null
  let tied = false
  for (const { step, value } of values) {
    if (value === null || !Number.isFinite(value)) continue
    if (best === null || value > best.value) [best, tied] = [{ step, value }, false]
    else if (value === best.value) tied = true
  }
  return best && !tied ? best.step : null
}

/** A step the best tags may go to: validated (held-out accuracy logged), and step 0 or a step with a checkpoint. */
export interface ValidatedStep {
  step: number
  /** Mean over the sources of `val-core/<source>/reward/mean@1`. */
  heldOut: number
  /** How many sources (benchmarks) were validated at the step. */
  sources: number
  /** `critic/score/mean` at the step (null at step 0, before any training). */
  selfReward: number | null
}

/**
 * The run's validated steps among step 0 (the base model's validation) and its checkpoints' steps, ascending: the
 * candidates for best-gt and best-self. A checkpoint never validated is no candidate, whatever its training score.
 */
export function validatedSteps(db: Db, runId: number): ValidatedStep[] {
  return prepared(
    db,
    `SELECT step,
            AVG(CASE WHEN key LIKE '${HELD_OUT_KEYS_LIKE}' THEN value END) AS heldOut,
            COUNT(CASE WHEN key LIKE '${HELD_OUT_KEYS_LIKE}' THEN value END) AS sources,
            MAX(CASE WHEN key = '${SELF_REWARD_KEY}' THEN value END) AS selfReward
     FROM metrics
     WHERE run_id = @run AND (step = 0 OR step IN (SELECT step FROM checkpoints WHERE run_id = @run))
       AND (key LIKE '${HELD_OUT_KEYS_LIKE}' OR key = '${SELF_REWARD_KEY}')
     GROUP BY step HAVING heldOut IS NOT NULL ORDER BY step`,
  ).all({ run: runId }) as ValidatedStep[]
}

/** Moves `tag` to the run's checkpoint at `step` (off every checkpoint when null, or when the step has none). */
function moveTag(db: Db, runId: number, tag: string, step: number | null): void {
  const select = prepared(db, 'SELECT id, step, tags FROM checkpoints WHERE run_id = ? ORDER BY step')
  const setTags = prepared(db, 'UPDATE checkpoints SET tags = ? WHERE id = ?')
  for (const row of select.all(runId) as { id: number; step: number; tags: string }[]) {
    const tags = parseTags(row.tags)
    const tagged = tags.includes(tag)
    if (tagged === (row.step === step)) continue
    setTags.run(JSON.stringify(tagged ? tags.filter((t) => t !== tag) : [...tags, tag]), row.id)
  }
}

/** Moves `tag` to the best validated step by `value` (bestStep's rule); returns that step, 0 for the base model. */
function moveBestTag(db: Db, runId: number, tag: string, value: (s: ValidatedStep) => number | null): number | null {
  return writeTransaction(db, (): number | null => {
    const best = bestStep(validatedSteps(db, runId).map((s) => ({ step: s.step, value: value(s) })))
    moveTag(db, runId, tag, best)
    return best
  })
}

/**
 * Moves the BEST_GT_TAG to the run's checkpoint whose step has the best held-out accuracy: the mean over the
 * `val-core/<source>/reward/mean@1` keys logged at that step, among validated checkpoints and step 0 (the base
 * model). A tie at the top, or the base model being best, tags no checkpoint. Call it after a checkpoint or a
 * validation is written, and before pruning, so the best checkpoint is kept. Returns the step (0: the base).
 */
export function refreshBestCheckpointTag(db: Db, runId: number): number | null {
  return moveBestTag(db, runId, BEST_GT_TAG, (s) => s.heldOut)
}

/** Moves the BEST_SELF_TAG the same way, by the training score at the validated steps, so retention keeps it too. */
export function refreshBestSelfTag(db: Db, runId: number): number | null {
  return moveBestTag(db, runId, BEST_SELF_TAG, (s) => s.selfReward)
}

/** Both best tags, as a run's retention needs them before it prunes. */
export function refreshBestTags(db: Db, runId: number): void {
  refreshBestCheckpointTag(db, runId)
  refreshBestSelfTag(db, runId)
}
