// Run notices: an in-app toast for every `run.notice` (finished, failed, stopped, collapse alert), a desktop or
// browser notification where the user allowed them, and, in browser mode, a question before the page closes
// while a run trains. Mounted once (App.vue, in the sidebar, so a toast never covers a view's controls); other views
// push their own toasts with `pushToast`. Every toast fades, and stays while the pointer is on it.
import { computed, onScopeDispose, ref } from 'vue'
import { useRouter } from 'vue-router'
import type { EventPayload } from '../../../preload/contract'
import { api } from '../api/client'
import { useLiveQuery } from '../api/live'

export interface Toast {
  id: number
  title: string
  message: string
  tone: 'ok' | 'bad' | 'warn' | 'info'
  run?: number
  /** A button the toast offers (e.g. "Clear the filter"); pressing it runs `run` and dismisses the toast. */
  action?: { label: string; run: () => void }
}

const toasts = ref<Toast[]>([])
let nextToast = 1
/** At most this many at once: a new one pushes out the oldest, so notices never pile up. */
const MAX_TOASTS = 3
/** How long a toast pushed with `ms` 0 (a failure to read) stays: long, but it still fades. */
const LONG_MS = 30_000
/** After the pointer leaves a toast it was holding, the toast stays this long more. */
const AFTER_HOVER_MS = 4000

const timers = new Map<number, ReturnType<typeof setTimeout>>()

export function dismissToast(id: number): void {
  clearTimeout(timers.get(id))
  timers.delete(id)
  toasts.value = toasts.value.filter((toast) => toast.id !== id)
}

/** Drops the toasts that open a run (it was deleted). */
export function dismissRunToasts(run: number): void {
  for (const toast of toasts.value) if (toast.run === run) dismissToast(toast.id)
}

function startTimer(id: number, ms: number): void {
  clearTimeout(timers.get(id))
  timers.set(
    id,
    setTimeout(() => dismissToast(id), ms),
  )
}

/** The pointer is on a toast: it stays while read. */
export function holdToast(id: number): void {
  clearTimeout(timers.get(id))
  timers.delete(id)
}

/** The pointer left a toast: it fades a few seconds later. */
export function releaseToast(id: number): void {
  if (toasts.value.some((toast) => toast.id === id)) startTimer(id, AFTER_HOVER_MS)
}

/**
 * Shows a toast for `ms` milliseconds (0: a failure the user should read, shown for 30 s). Every toast fades; one
 * that says the same as a toast on screen replaces it, and at most three show at once, the oldest going first.
 */
export function pushToast(toast: Omit<Toast, 'id'>, ms = 8000): void {
  for (const shown of toasts.value)
    if (shown.title === toast.title && shown.message === toast.message && shown.run === toast.run) dismissToast(shown.id)
  while (toasts.value.length >= MAX_TOASTS) dismissToast(toasts.value[0]!.id)
  const id = nextToast++
  toasts.value = [...toasts.value, { ...toast, id }]
  startTimer(id, ms > 0 ? ms : LONG_MS)
}

/** Asks once for permission to notify; browsers grant it only from a user gesture (the launch click). */
export async function askNotificationPermission(): Promise<void> {
  if (typeof Notification === 'undefined' || Notification.permission !== 'default') return
  try {
    await Notification.requestPermission()
  } catch {
    // Old permission API or a refusal by policy: the in-app toasts still appear.
  }
}

const TONES: Record<EventPayload<'run.notice'>['kind'], Toast['tone']> = {
  finished: 'ok',
  failed: 'bad',
  alert: 'warn',
  stopped: 'info',
  interrupted: 'warn',
}

const TITLES: Record<EventPayload<'run.notice'>['kind'], string> = {
  finished: 'Run finished',
  failed: 'Run failed',
  alert: 'Collapse alert',
  stopped: 'Run stopped',
  interrupted: 'Run interrupted',
}

export function useNotices(): { toasts: typeof toasts; open: (toast: Toast) => void } {
  const router = useRouter()
  const open = (toast: Toast): void => {
    if (toast.run !== undefined) void router.push(`/runs/${toast.run}`)
    dismissToast(toast.id)
  }

  onScopeDispose(
    api.on('run.notice', (notice) => {
      const title = `${TITLES[notice.kind]}: ${notice.name}`
      // Failures, interruptions and alerts stay longest (the run's page keeps them); a finish or a requested stop fades soon.
      pushToast(
        { title, message: notice.message, tone: TONES[notice.kind], run: notice.run },
        notice.kind === 'finished' || notice.kind === 'stopped' ? 8000 : 0,
      )
      if (typeof Notification !== 'undefined' && Notification.permission === 'granted') {
        const shown = new Notification(title, { body: notice.message, tag: `run-${notice.run}-${notice.kind}` })
        shown.onclick = () => {
          window.focus()
          void router.push(`/runs/${notice.run}`)
        }
      }
    }),
  )

  // The desktop app asks in its main process before quitting; a browser tab asks here.
  if (api.transport === 'http') {
    const { data: runs } = useLiveQuery('runs.list', () => ({}))
    const training = computed(() => runs.value?.some((run) => run.status === 'running' || run.status === 'stopping') ?? false)
    const beforeUnload = (event: BeforeUnloadEvent): void => {
      if (!training.value) return
      event.preventDefault()
      event.returnValue = ''
    }
    window.addEventListener('beforeunload', beforeUnload)
    onScopeDispose(() => window.removeEventListener('beforeunload', beforeUnload))
  }

  return { toasts, open }
}
