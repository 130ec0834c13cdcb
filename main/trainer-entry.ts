// The trainer process: runs one job and streams its events to the owner, which writes the store. It stops
// after the current step (with a checkpoint) when asked, and exits when its owner's channel closes.
import { Killer, numericalFaults, parseFault } from './engine/trainer/faults'
import type { Fault } from './engine/trainer/faults'
import { NumericalFault, Trainer } from './engine/trainer/trainer'
import type { TrainerEvent } from './engine/trainer/trainer'
import type { OwnerMessage } from './engine/trainer/protocol'
import { ownerChannel } from './trainer-channel'

const channel = ownerChannel()
/** The owner's pid: the host that started this trainer and writes its events to the store. */
const owner = process.ppid
let stopRequested = false
channel.onClose(() => process.exit(1))
channel.onMessage((message) => {
  if (message.type === 'stop') stopRequested = true
  if (message.type === 'start') void train(message)
})

/**
 * Test-only (CWB_FAULT, see engine/trainer/faults.ts): a SIGKILL of this process or its owner at a phase of a step.
 * The kill lands `delayMs` into the phase from a helper thread; the trainer goes on with that phase meanwhile (a write
 * may be cut), but waits at its next event until the kill has landed, so a thread scheduled late on a busy machine
 * cannot move the kill into a later step (a step of a tiny model takes milliseconds).
 */
function killFault(fault: Fault | undefined): { gate(): void; fire(event: TrainerEvent): void } {
  if (fault?.kind !== 'kill-trainer' && fault?.kind !== 'kill-owner') return { gate: () => {}, fire: () => {} }
  const killer = new Killer()
  const pause = new Int32Array(new SharedArrayBuffer(4))
  let fired = false
  return {
    gate() {
      if (!fired) return
      // Landed: this process is gone (kill-trainer), or the owner is and the caller exits (kill-owner).
      const deadline = Date.now() + 5000
      while (process.ppid === owner && Date.now() < deadline) Atomics.wait(pause, 0, 0, 1)
    },
    fire(event) {
      const at = (event.type === 'phase' && event.phase === fault.phase) || (event.type === 'step' && fault.phase === 'commit')
      if (fired || !at || event.step !== fault.step) return
      fired = true
      killer.fire(fault.kind === 'kill-owner' ? process.ppid : process.pid, fault.delayMs)
    },
  }
}

async function train(message: Extract<OwnerMessage, { type: 'start' }>): Promise<void> {
  try {
    const fault = parseFault(process.env.CWB_FAULT)
    const inject = killFault(fault)
    const emit = (event: TrainerEvent): void => {
      inject.gate()
      // An orphan stops at once: the owner's death reparents this process, which the closing channel may tell only
      // after a whole (fast) step has run and written its checkpoint.
      if (process.ppid !== owner) process.exit(1)
      void channel.send(event)
      inject.fire(event)
    }
    const faults = numericalFaults(fault, (text) => emit({ type: 'log', level: 'warning', message: text }))
    const trainer = await Trainer.create(message.job, emit, { faults })
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
