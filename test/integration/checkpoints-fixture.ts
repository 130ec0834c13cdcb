// A workspace with one tiny trained Co-rewarding-II run (checkpoints at steps 1, 2 and 3, each with its EMA
// teacher, validated every step), trained by the real `cwb train` (build first), for the checkpoint tests.
import { join } from 'node:path'
import { openWorkspace } from '../../main/services/open-workspace'
import { cwb } from '../helpers/cli'
import { writeTinyRun } from '../helpers/tiny-model'
import { tempDir } from '../helpers/workspace'

export interface TrainedWorkspace {
  dir: string
  /** The tiny starting checkpoint (the run's base). */
  tiny: string
  remove: () => void
}

export function trainedWorkspace(): TrainedWorkspace {
  const { dir, remove } = tempDir('cwb-checkpoints-')
  openWorkspace(dir, true).store.close()
  const config = writeTinyRun(dir, 'tiny-co2', {
    mode: 'co_rewarding_ii',
    validation: { every: 1, questions: 4 },
    checkpoint_every: 1,
  })
  const trained = cwb(['train', '--config', config, '--workspace', dir, '--json'])
  if (trained.code !== 0) throw new Error(`cwb train failed: ${trained.stderr}`)
  return { dir, tiny: join(dir, 'tiny'), remove }
}
