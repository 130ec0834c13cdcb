// The app's trainers run as Electron utility processes (design section 2): Electron starts and reaps them with the
// app and lists them in its process metrics. The CLI and `cwb serve` start Node children instead.
import { EventEmitter } from 'node:events'
import { utilityProcess } from 'electron'
import type { StartTrainer } from '../services/trainer-process'

export const startUtilityTrainer: StartTrainer = (modulePath) => {
  const child = utilityProcess.fork(modulePath, [], {
    serviceName: 'Co-rewarding Workbench trainer',
    stdio: ['ignore', 'inherit', 'pipe'],
  })
  const events = new EventEmitter()
  let exited = false
  // A utilityProcess reports an exit code only: the signal is the one sent from here, if any.
  let sent: NodeJS.Signals | null = null
  child.on('spawn', () => events.emit('spawn'))
  child.on('message', (message) => events.emit('message', message))
  // Electron reports a trainer's V8 fatal error (out of heap, say) here; unheard, it would throw in the app's own process.
  // The exit that follows fails the run.
  child.on('error', (type: string, location: string) => console.error(`trainer ${child.pid ?? ''}: ${type} at ${location}`))
  child.on('exit', (code) => {
    exited = true
    events.emit('exit', sent ? null : code, sent)
  })
  return {
    get pid() {
      return child.pid
    },
    stderr: child.stderr,
    get exited() {
      return exited
    },
    send: (message) => {
      // Posting to a process that has exited can crash Electron's main process.
      if (!exited) child.postMessage(message)
    },
    on: (event, listener) => {
      events.on(event, listener)
    },
    kill: (signal) => {
      if (exited) return
      sent = signal
      // utilityProcess.kill() sends SIGTERM only; before the spawn there is no pid to send SIGKILL to.
      if (signal === 'SIGKILL' && child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
      else child.kill()
    },
  }
}
