// A background job the Datasets views start (import, paraphrase generation, agreement preview): the caller picks
// the job id, so it can follow the job's `job.progress` events and cancel it while the call is still running.
import { computed, onScopeDispose, ref } from 'vue'
import type { EventPayload } from '../../../preload/contract'
import { api } from '../api/client'
import { newJobId } from '../components/datasets/words'

export type JobProgress = EventPayload<'job.progress'>

export function useDatasetJob(kind: JobProgress['kind']) {
  const job = ref<string>()
  const progress = ref<JobProgress>()
  const running = ref(false)
  const cancelling = ref(false)

  onScopeDispose(
    api.on('job.progress', (event) => {
      if (event.job === job.value) progress.value = event
    }),
  )

  /** Runs `start` with a fresh job id; resolves with its result when the host finishes the job. */
  async function run<T>(start: (job: string) => Promise<T>): Promise<T> {
    job.value = newJobId(kind)
    progress.value = undefined
    running.value = true
    cancelling.value = false
    try {
      return await start(job.value)
    } finally {
      running.value = false
    }
  }

  async function cancel(): Promise<void> {
    if (!job.value || !running.value) return
    cancelling.value = true
    await api.call('jobs.cancel', { job: job.value })
  }

  /** Done over total in [0, 1], or undefined while the total is unknown. */
  const fraction = computed(() => {
    const p = progress.value
    return p && p.total > 0 ? Math.min(1, p.done / p.total) : undefined
  })

  return { job, progress, running, cancelling, run, cancel, fraction }
}

/** A job as useDatasetJob follows it, for the progress bar to show and cancel. */
export type DatasetJob = ReturnType<typeof useDatasetJob>
