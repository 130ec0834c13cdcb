// The records of one dataset under a filter, fetched a page at a time as the list scrolls: the list renders only
// the rows in view, so 100,000 records cost a few pages of memory. Pages are refetched (and swapped in at once,
// without flicker) when the filter changes, after the user's own edits, and when another process commits.
import { onScopeDispose, ref, shallowRef, triggerRef, watch } from 'vue'
import type { DatasetRecordRow, Paraphrase, RecordFilter } from '../../../preload/contract'
import { api } from '../api/client'

export const PAGE_SIZE = 100
/** Pages kept beyond the ones in view, so scrolling back is instant but memory stays bounded. */
const KEEP_PAGES = 30

export function useDatasetRecords(dataset: () => number, filter: () => RecordFilter) {
  /** Records matching the filter; undefined until the first page answers. */
  const total = ref<number>()
  const pages = shallowRef(new Map<number, DatasetRecordRow[]>())
  const error = ref<string>()
  /** Counts page swaps (reloads), so the view can re-find its selection. */
  const reloads = ref(0)
  let generation = 0
  const inflight = new Set<string>()
  let wanted: [number, number] = [0, PAGE_SIZE]

  const rowAt = (index: number): DatasetRecordRow | undefined =>
    pages.value.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE]

  /** The index of a record among the loaded pages, or -1. */
  function indexOf(record: number): number {
    for (const [page, rows] of pages.value) {
      const at = rows.findIndex((row) => row.id === record)
      if (at >= 0) return page * PAGE_SIZE + at
    }
    return -1
  }

  function pagesIn([from, to]: [number, number]): number[] {
    const last = total.value === undefined ? to : Math.min(to, total.value)
    const first = Math.floor(Math.max(0, from) / PAGE_SIZE)
    const end = Math.max(first, Math.ceil(last / PAGE_SIZE) - 1)
    return Array.from({ length: end - first + 1 }, (_, i) => first + i)
  }

  async function fetchPage(page: number, gen: number): Promise<DatasetRecordRow[] | undefined> {
    const result = await api.call('datasets.records', {
      dataset: dataset(),
      filter: filter(),
      offset: page * PAGE_SIZE,
      limit: PAGE_SIZE,
    })
    if (gen !== generation) return undefined
    total.value = result.total
    return result.rows
  }

  /** Loads the pages that rows [from, to) fall on, if they are not loaded or loading. */
  function ensure(from: number, to: number): void {
    wanted = [from, to]
    const gen = generation
    for (const page of pagesIn(wanted)) {
      const key = `${gen}:${page}`
      if (pages.value.has(page) || inflight.has(key)) continue
      inflight.add(key)
      fetchPage(page, gen)
        .then((rows) => {
          if (!rows) return
          pages.value.set(page, rows)
          evict(page)
          triggerRef(pages)
          error.value = undefined
        })
        .catch((err: unknown) => {
          if (gen === generation) error.value = (err as Error).message
        })
        .finally(() => inflight.delete(key))
    }
  }

  function evict(near: number): void {
    if (pages.value.size <= KEEP_PAGES) return
    const far = [...pages.value.keys()].sort((a, b) => Math.abs(b - near) - Math.abs(a - near))
    for (const page of far.slice(0, pages.value.size - KEEP_PAGES)) pages.value.delete(page)
  }

  /** Refetches the pages in view and swaps them in at once; `from` restarts at that row (a new filter). */
  async function reload(from?: number): Promise<void> {
    if (from !== undefined) {
      const span = Math.max(PAGE_SIZE, wanted[1] - wanted[0])
      wanted = [from, from + span]
      total.value = undefined
    }
    const gen = ++generation
    try {
      const needed = pagesIn(wanted)
      const fetched = await Promise.all(needed.map((page) => fetchPage(page, gen)))
      if (gen !== generation) return
      pages.value = new Map(needed.map((page, i) => [page, fetched[i] ?? []]))
      error.value = undefined
      reloads.value++
      // The view may have moved on while this reload ran (a jump to a record far away): load what it shows now.
      ensure(wanted[0], wanted[1])
    } catch (err) {
      if (gen === generation) error.value = (err as Error).message
    }
  }

  /** Puts a paraphrase the host just returned into the loaded rows (before the next reload confirms it). */
  function patchParaphrase(paraphrase: Paraphrase, record?: number): void {
    // New row objects, not mutated ones: components holding a row as a prop see the change.
    for (const [page, rows] of pages.value) {
      pages.value.set(
        page,
        rows.map((row) => {
          const at = row.paraphrases.findIndex((p) => p.id === paraphrase.id)
          if (at >= 0) return { ...row, paraphrases: row.paraphrases.map((p, i) => (i === at ? paraphrase : p)) }
          return row.id === record ? { ...row, paraphrases: [...row.paraphrases, paraphrase] } : row
        }),
      )
    }
    triggerRef(pages)
  }

  // Another process (the CLI, a generation job) committed: refetch what is in view, at most every 300 ms.
  let timer: ReturnType<typeof setTimeout> | undefined
  const soon = (): void => {
    timer ??= setTimeout(() => {
      timer = undefined
      void reload()
    }, 300)
  }
  onScopeDispose(api.on('store.changed', soon))
  onScopeDispose(() => clearTimeout(timer))

  watch([dataset, () => JSON.stringify(filter())], () => void reload(0), { immediate: true })

  return { total, pages, error, reloads, rowAt, indexOf, ensure, reload, patchParaphrase }
}
