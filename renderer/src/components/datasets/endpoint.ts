// The OpenAI-compatible endpoint the Datasets tools share (Generate, Model checks): its URL and model are
// remembered across launches (they are not secret); the API key lives in memory while a panel that uses it is
// open, is sent only with the requests, and is forgotten when the last such panel goes (the view is left).
import { onScopeDispose, ref, watch } from 'vue'
import type { Ref } from 'vue'

function remembered(key: string, fallback: string): Ref<string> {
  let stored: string | null = null
  try {
    stored = localStorage.getItem(key)
  } catch {
    // No storage (a locked-down browser profile): the value lasts until the page is left.
  }
  const value = ref(stored ?? fallback)
  watch(value, (next) => {
    try {
      localStorage.setItem(key, next)
    } catch {
      // As above.
    }
  })
  return value
}

const url = remembered('cwb.endpoint.url', 'http://localhost:11434/v1')
const model = remembered('cwb.endpoint.model', '')
const apiKey = ref('')
let users = 0

/** The shared endpoint settings, for a panel's setup (the key is cleared when no panel uses it any more). */
export function useEndpoint(): { url: Ref<string>; model: Ref<string>; apiKey: Ref<string> } {
  users++
  onScopeDispose(() => {
    users--
    if (users === 0) apiKey.value = ''
  })
  return { url, model, apiKey }
}
