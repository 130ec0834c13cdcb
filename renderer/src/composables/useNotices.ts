// Run notices: an in-app toast for every `run.notice` (finished, failed, stopped, collapse alert), a desktop or
// browser notification where the user allowed them, and, in browser mode, a question before the page closes
// while a run trains. Mounted once (App.vue); other views push their own toasts with `pushToast`.
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
}

const toasts = ref<Toast[]>([])
let nextToast = 1

export function dismissToast(id: number): void {
  toasts.value = toasts.value.filter((toast) => toast.id !== id)
}

/** Drops the toasts that open a run (it was deleted). */
export function dismissRunToasts(run: number): void {
  toasts.value = toasts.value.filter((toast) => toast.run !== run)
}

/** Shows a toast for `ms` milliseconds (0: until dismissed). */
export function pushToast(toast: Omit<Toast, 'id'>, ms = 8000): void {
  const id = nextToast++
  toasts.value = [...toasts.value.slice(-4), { ...toast, id }]
  if (ms > 0) setTimeout(() => dismissToast(id), ms)
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
      // Failures, interruptions and alerts stay until read; a finish or a requested stop fades.
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
