// One action behind a dialog's or panel's button: busy while it runs (the button and Close wait on it), and the
// host's refusal as the error to show when it fails.
import { ref } from 'vue'
import type { Ref } from 'vue'

export interface Submit {
  busy: Ref<boolean>
  error: Ref<string | undefined>
  submit: (action: () => Promise<void>) => Promise<void>
}

/** `describe` words a failure (the dialogs show the message as the host wrote it). */
export function useSubmit(describe: (err: unknown) => string = (err) => (err as Error).message): Submit {
  const busy = ref(false)
  const error = ref<string>()
  async function submit(action: () => Promise<void>): Promise<void> {
    busy.value = true
    error.value = undefined
    try {
      await action()
    } catch (err) {
      error.value = describe(err)
    } finally {
      busy.value = false
    }
  }
  return { busy, error, submit }
}
