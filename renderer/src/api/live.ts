import { onScopeDispose, ref } from 'vue'
import type { Ref } from 'vue'
import type { MethodName, Params, Result } from '../../../preload/contract'
import { api } from './client'

/** A query that re-runs whenever the store changes (a CLI import, a trainer's step, another window). */
export function useLiveQuery<M extends MethodName>(
  method: M,
  params: () => Params<M>,
): { data: Ref<Result<M> | undefined>; error: Ref<string | undefined>; loading: Ref<boolean>; refresh: () => Promise<void> } {
  const data = ref<Result<M>>()
  const error = ref<string>()
  const loading = ref(true)
  const refresh = async (): Promise<void> => {
    try {
      data.value = await api.call(method, params())
      error.value = undefined
    } catch (err) {
      error.value = (err as Error).message
    } finally {
      loading.value = false
    }
  }
  void refresh()
  onScopeDispose(api.on('store.changed', () => void refresh()))
  return { data: data as Ref<Result<M> | undefined>, error, loading, refresh }
}
