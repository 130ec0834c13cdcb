// The trainer process: runs one job and streams its events to the owner, which writes the store. It stops
// after the current step (with a checkpoint) when asked, and exits when its owner's channel closes.
import { Killer, parseFault, type Fault } from './engine/trainer/faults'
import { NumericalFault, Trainer, type TrainerEvent } from './engine/trainer/trainer'
import type { OwnerMessage, TrainerMessage } from './engine/trainer/protocol'

interface Channel {
  /** Resolves once the message has left this process. */
  send(message: TrainerMessage): Promise<void>
  onMessage(listener: (message: OwnerMessage) => void): void
  onClose(listener: () => void): void
}

/** Electron's utilityProcess gives the child `process.parentPort`; a Node child process has `process.send`. */
function ownerChannel(): Channel {
  const parentPort = (
    process as unknown as {
      parentPort?: { postMessage(m: unknown): void; on(e: 'message', l: (e: { data: OwnerMessage }) => void): void }
    }
  ).parentPort
  if (parentPort) {
    return {
      send: async (message) => parentPort.postMessage(message),
      onMessage: (listener) => parentPort.on('message', (event) => listener(event.data)),
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

const channel = ownerChannel()
let stopRequested = false
channel.onClose(() => process.exit(1))
channel.onMessage((message) => {
  if (message.type === 'stop') stopRequested = true
  if (message.type === 'start') void train(message)
})

/** Test-only (CWB_FAULT, see engine/trainer/faults.ts): a SIGKILL of this process or its owner at a phase of a step. */
function killFault(fault: Fault | undefined): (event: TrainerEvent) => void {
  if (fault?.kind !== 'kill-trainer' && fault?.kind !== 'kill-owner') return () => {}
  const killer = new Killer()
  let fired = false
  return (event) => {
    const at = (event.type === 'phase' && event.phase === fault.phase) || (event.type === 'step' && fault.phase === 'commit')
    if (fired || !at || event.step !== fault.step) return
    fired = true
    killer.fire(fault.kind === 'kill-owner' ? process.ppid : process.pid, fault.delayMs)
  }
}

async function train(message: Extract<OwnerMessage, { type: 'start' }>): Promise<void> {
  try {
    const fault = parseFault(process.env.CWB_FAULT)
    const inject = killFault(fault)
    const emit = (event: TrainerEvent): void => {
      void channel.send(event)
      inject(event)
    }
    const trainer = await Trainer.create(message.job, emit, { fault })
    const result = await trainer.run(() => stopRequested)
    trainer.dispose()
    await channel.send({ type: 'done', ...result })
    process.exit(0)
  } catch (error) {
    const err = error as Error
    const step = error instanceof NumericalFault ? error.step : undefined
    await channel.send({ type: 'error', message: err.message ?? String(error), stack: err.stack, step })
    process.exit(1)
  }
}
