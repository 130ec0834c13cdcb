// A call whose parameters follow reactive state, re-run only when they change: checkpoint files do not change in
// place, so weight statistics and deltas need no refresh on every store commit (a training run commits each step).
import { ref, shallowRef, watch } from 'vue'
import type { Ref, ShallowRef } from 'vue'
import type { MethodName, Params, Result } from '../../../../preload/contract'
import { api } from '../../api/client'
import { describeError } from '../datasets/words'

export interface Call<M extends MethodName> {
  data: ShallowRef<Result<M> | undefined>
  error: Ref<string | undefined>
  loading: Ref<boolean>
  reload: () => Promise<void>
}

/** `params` returns null while the call makes no sense (nothing selected): data and error are then cleared. */
export function useCall<M extends MethodName>(method: M, params: () => Params<M> | null): Call<M> {
  const data = shallowRef<Result<M>>()
  const error = ref<string>()
  const loading = ref(false)
  let sequence = 0

  const reload = async (): Promise<void> => {
    const request = params()
    const mine = ++sequence
    data.value = undefined
    error.value = undefined
    if (request === null) {
      loading.value = false
      return
    }
    loading.value = true
    try {
      const result = await api.call(method, request)
      if (mine === sequence) data.value = result
    } catch (err) {
      if (mine === sequence) error.value = describeError(err)
    } finally {
      if (mine === sequence) loading.value = false
    }
  }

  watch(
    () => JSON.stringify(params()),
    () => void reload(),
    { immediate: true },
  )
  return { data, error, loading, reload }
}
