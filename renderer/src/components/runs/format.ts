// How the Runs views write numbers, sizes, times and durations: short, and the same everywhere.
import type { RunSummary } from '../../../../preload/contract'

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—'
  if (bytes < 1000) return `${bytes} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = bytes / 1000
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`
}

/** Memory in binary units (GiB, MiB, KiB), as the memory plan and its advice write it. */
export function formatMemory(bytes: number): string {
  const GIB = 2 ** 30
  if (bytes >= GIB) return `${(bytes / GIB).toFixed(bytes >= 100 * GIB ? 0 : 2)} GiB`
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${bytes} B`
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—'
  if (seconds < 10) return `${seconds.toFixed(1)} s`
  if (seconds < 60) return `${Math.round(seconds)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`
}

/** A stored ISO time as local `YYYY-MM-DD HH:MM` (seconds with `seconds`). */
export function formatTime(iso: string | null | undefined, seconds = false): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  const pad = (n: number): string => String(n).padStart(2, '0')
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}${seconds ? `:${pad(date.getSeconds())}` : ''}`
  return `${day} ${time}`
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** A stored ISO time for a dense table: `26 Nov 14:57`, with the year only when it is not this year's. */
export function formatShortTime(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  const year = date.getFullYear() === now.getFullYear() ? '' : ` ${date.getFullYear()}`
  const time = `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`
  return `${date.getDate()} ${MONTHS[date.getMonth()]}${year} ${time}`
}

export function formatAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return '—'
  const seconds = Math.max(0, (now - new Date(iso).getTime()) / 1000)
  return seconds < 1 ? 'just now' : `${formatDuration(seconds)} ago`
}

/** A metric value with four significant digits; NaN was logged as null. */
export function formatMetric(value: number | 'Infinity' | '-Infinity' | null): string {
  if (value === null) return 'NaN'
  if (typeof value === 'string') return value === 'Infinity' ? '∞' : '−∞'
  if (value === 0) return '0'
  const magnitude = Math.abs(value)
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(2)
  if (magnitude >= 1000) return value.toFixed(0)
  return String(Number(value.toPrecision(4)))
}

export const RESUMABLE_STATUSES: ReadonlySet<RunSummary['status']> = new Set(['stopped', 'failed', 'interrupted'])

/** The groups the live panel shows the latest metrics in, in this order; a key goes to the first that claims it. */
export const METRIC_GROUPS: { label: string; claims: (key: string) => boolean }[] = [
  { label: 'Held-out accuracy', claims: (key) => key.startsWith('val-core/') || key.startsWith('val/') },
  { label: 'Reward', claims: (key) => key.startsWith('critic/score') || key.startsWith('critic/reward') },
  { label: 'Pseudo-label accuracy', claims: (key) => key.startsWith('coreward/') },
  { label: 'Response length', claims: (key) => key.startsWith('response_length/') },
  { label: 'Entropy', claims: (key) => key.includes('entropy') },
  { label: 'KL', claims: (key) => key.includes('kl') },
  { label: 'Others', claims: () => true },
]

export function groupMetrics<T extends { key: string }>(rows: T[]): { label: string; rows: T[] }[] {
  const groups = METRIC_GROUPS.map((group) => ({ label: group.label, rows: [] as T[] }))
  for (const row of rows) {
    const index = METRIC_GROUPS.findIndex((group) => group.claims(row.key))
    groups[index]!.rows.push(row)
  }
  for (const group of groups) group.rows.sort((a, b) => a.key.localeCompare(b.key))
  return groups.filter((group) => group.rows.length > 0)
}
