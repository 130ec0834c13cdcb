// The trainer's side of its channel to the owner: `process.parentPort` in an Electron utilityProcess (the app), the
// IPC channel of a Node child process (the CLI, `cwb serve`).
import type { OwnerMessage, TrainerMessage } from './engine/trainer/protocol'

export interface Channel {
  /** Resolves once the message has left this process. */
  send(message: TrainerMessage): Promise<void>
  onMessage(listener: (message: OwnerMessage) => void): void
  onClose(listener: () => void): void
}

/** Electron's utilityProcess gives the child `process.parentPort`; a Node child process has `process.send`. */
export function ownerChannel(): Channel {
  const parentPort = (
    process as unknown as {
      parentPort?: { postMessage(m: unknown): void; on(e: 'message', l: (e: { data: OwnerMessage }) => void): void }
    }
  ).parentPort
  if (parentPort) {
    return {
      send: async (message) => parentPort.postMessage(message),
      onMessage: (listener) => parentPort.on('message', (event) => listener(event.data)),
      // Electron ends its utility processes with the app, so there is no closing to watch for.
      onClose: () => {},
    }
  }
  if (!process.send) throw new Error('the trainer must be started by the workbench (no channel to its owner)')
  return {
    send: (message) => new Promise((resolve) => process.send!(message, undefined, {}, () => resolve())),
    onMessage: (listener) => process.on('message', (message) => listener(message as OwnerMessage)),
    onClose: (listener) => process.on('disconnect', listener),
  }
}
