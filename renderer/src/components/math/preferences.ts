// How math is shown, remembered across views and launches: rendered or as its LaTeX source (key m wherever math is
// shown), and how the review pane marks a paraphrase's differences.
import { computed, ref, watch } from 'vue'
import type { Ref } from 'vue'
import { DIFF_MODES } from './diff'
import type { DiffMode } from './diff'

function remembered<T extends string>(key: string, allowed: readonly T[], fallback: T): Ref<T> {
  let stored: string | null = null
  try {
    stored = localStorage.getItem(key)
  } catch {
    // No storage (a locked-down browser profile): the choice lasts until the page is left.
  }
  const value = ref((allowed as readonly string[]).includes(stored ?? '') ? stored : fallback) as Ref<T>
  watch(value, (next) => {
    try {
      localStorage.setItem(key, next)
    } catch {
      // As above.
    }
  })
  return value
}

const mathShown = remembered('cwb.math.shown', ['rendered', 'source'], 'rendered')
/** Whether formulas show as their LaTeX source instead of rendered. */
export const showMathSource = computed({
  get: () => mathShown.value === 'source',
  set: (source: boolean) => (mathShown.value = source ? 'source' : 'rendered'),
})
export const pairDiffMode = remembered<DiffMode>('cwb.pair.diff', DIFF_MODES, 'math')

const typing = (el: HTMLElement | null): boolean =>
  !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName))

function onKey(event: KeyboardEvent): void {
  if (event.key !== 'm' || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return
  if (typing(event.target as HTMLElement | null) || document.querySelector('dialog[open]')) return
  event.preventDefault()
  showMathSource.value = !showMathSource.value
}

let listeners = 0
/** Key m toggles source and rendered math while at least one formula is on screen (each MathText holds one claim). */
export function claimSourceKey(): () => void {
  if (listeners++ === 0) window.addEventListener('keydown', onKey)
  return () => {
    if (--listeners === 0) window.removeEventListener('keydown', onKey)
  }
}
