// A call whose parameters follow reactive state: re-run when they change (the latest answer wins) and when the
// store changes (throttled, since a training run commits every step).
import { onScopeDispose, ref, shallowRef, watch } from 'vue'
import type { Ref, ShallowRef } from 'vue'
import type { MethodName, Params, Result } from '../../../../preload/contract'
import { api } from '../../api/client'

export interface Query<M extends MethodName> {
  data: ShallowRef<Result<M> | undefined>
  /** The parameters (as JSON) that `data` answers. */
  dataKey: Ref<string | undefined>
  error: Ref<string | undefined>
  loading: Ref<boolean>
  refresh: () => Promise<void>
}

/** `params` returns null while the call makes no sense yet (no run picked): data is then cleared. */
export function useQuery<M extends MethodName>(
  method: M,
  params: () => Params<M> | null,
  options: { debounceMs?: number; liveEveryMs?: number } = {},
): Query<M> {
  const data = shallowRef<Result<M>>()
  const dataKey = ref<string>()
  const error = ref<string>()
  const loading = ref(false)
  let sequence = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  const refresh = async (): Promise<void> => {
    const request = params()
    const mine = ++sequence
    if (request === null) {
      data.value = undefined
      dataKey.value = undefined
      error.value = undefined
      loading.value = false
      return
    }
    loading.value = true
    try {
      const result = await api.call(method, request)
      if (mine !== sequence) return
      dataKey.value = JSON.stringify(request)
      data.value = result
      error.value = undefined
    } catch (err) {
      if (mine === sequence) error.value = (err as Error).message
    } finally {
      if (mine === sequence) loading.value = false
    }
  }

  watch(
    () => JSON.stringify(params()),
    () => {
      clearTimeout(timer)
      if (options.debounceMs) timer = setTimeout(() => void refresh(), options.debounceMs)
      else void refresh()
    },
    { immediate: true },
  )

  let lastLive = 0
  let liveTimer: ReturnType<typeof setTimeout> | undefined
  const every = options.liveEveryMs ?? 1000
  onScopeDispose(
    api.on('store.changed', () => {
      if (liveTimer) return
      const wait = Math.max(0, lastLive + every - Date.now())
      liveTimer = setTimeout(() => {
        liveTimer = undefined
        lastLive = Date.now()
        void refresh()
      }, wait)
    }),
  )
  onScopeDispose(() => {
    clearTimeout(timer)
    clearTimeout(liveTimer)
  })
  return { data, dataKey, error, loading, refresh }
}
