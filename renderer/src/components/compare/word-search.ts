// The pickers' search box: every word typed must appear somewhere in an item's text (any order, any case).
import { computed, ref } from 'vue'
import type { ComputedRef, Ref } from 'vue'

export function useWordSearch<T>(
  items: () => readonly T[],
  textOf: (item: T) => string,
): { search: Ref<string>; matching: ComputedRef<T[]> } {
  const search = ref('')
  const matching = computed(() => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean)
    return items().filter((item) => {
      const text = textOf(item).toLowerCase()
      return words.every((w) => text.includes(w))
    })
  })
  return { search, matching }
}
