// A trainer process as its owner sees it, whichever kind runs it: a Node child process under the CLI and `cwb serve`,
// an Electron utilityProcess in the app (main/app/utility-trainer.ts, which main/index.ts passes in, so the services
// never import Electron).
import { fork } from 'node:child_process'
import { join } from 'node:path'
import type { OwnerMessage, TrainerMessage } from '../engine/trainer/protocol'
import { packageRoot } from '../package-root'

export interface TrainerEvents {
  /** The process is running and has its pid. */
  spawn: []
  message: [message: TrainerMessage]
  /** `signal`: the signal that ended the process, when one did; `code` otherwise. */
  exit: [code: number | null, signal: NodeJS.Signals | null]
}

export interface TrainerProcess {
  /** Undefined until the process has spawned (a utilityProcess has it only a moment after the fork). */
  readonly pid: number | undefined
  /** The trainer's stderr, for the log of a trainer that dies without a word; its stdout is the owner's own. */
  readonly stderr: NodeJS.ReadableStream | null
  /** True once the process has exited, on its own or killed. */
  readonly exited: boolean
  /** Dropped once the process has exited. */
  send(message: OwnerMessage): void
  on<E extends keyof TrainerEvents>(event: E, listener: (...args: TrainerEvents[E]) => void): void
  /** SIGTERM asks the process to end; SIGKILL ends it at once. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void
}

/** Starts `modulePath` (the trainer entry, or a stand-in in tests) as a trainer process. */
export type StartTrainer = (modulePath: string) => TrainerProcess

/** The built trainer entry, main/trainer-entry.ts. */
export const trainerModule = (): string => join(packageRoot(), 'out', 'main', 'trainer.js')

/** A Node child process; ELECTRON_RUN_AS_NODE lets Electron's own binary start it as Node too. */
export const startNodeTrainer: StartTrainer = (modulePath) => {
  const child = fork(modulePath, [], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  })
  return {
    get pid() {
      return child.pid
    },
    stderr: child.stderr,
    get exited() {
      return child.exitCode !== null || child.signalCode !== null
    },
    send: (message) => {
      if (child.connected) child.send(message)
    },
    on: (event, listener) => {
      child.on(event, listener)
    },
    kill: (signal) => {
      child.kill(signal)
    },
  }
}
