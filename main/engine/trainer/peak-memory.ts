// The trainer process's peak resident memory during one step (perf/rss_mb). Linux resets a process's high-water mark
// (VmHWM in /proc/self/status) when 5 is written to /proc/self/clear_refs; elsewhere the peak is the process's since
// it started (process.resourceUsage().maxRSS), which still shows growth over a run.
import { readFileSync, writeFileSync } from 'node:fs'

/** Starts a new peak; false where the platform cannot (the peak then runs from the process's start). */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return true
  } catch {
    return false
  }
}

/** The peak resident memory in bytes since the last reset (or the process's start). */
export function peakRssBytes(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (match) return Number(match[1]) * 1024
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS * 1024
}
