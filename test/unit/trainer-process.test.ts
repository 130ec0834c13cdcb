// The trainer as a Node child process (the CLI's and `cwb serve`'s): a tiny stand-in script, started for real.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startNodeTrainer } from '../../main/services/trainer-process'
import type { TrainerEvents, TrainerProcess } from '../../main/services/trainer-process'
import { freshDirs } from '../helpers/workspace'

const dir = freshDirs()

/** Answers `stop` with a log line and exits with code 3; says something on stderr first. */
const STAND_IN = `
process.stderr.write('warming up\\n')
process.on('message', (message) => {
  if (message.type === 'stop') process.send({ type: 'log', level: 'info', message: 'stopping' }, () => process.exit(3))
})
`

function start(): TrainerProcess {
  const script = join(dir(), 'stand-in.mjs')
  writeFileSync(script, STAND_IN)
  return startNodeTrainer(script)
}

const once = <E extends keyof TrainerEvents>(trainer: TrainerProcess, event: E): Promise<TrainerEvents[E]> =>
  new Promise((resolve) => trainer.on(event, (...args) => resolve(args)))

describe('the trainer as a Node child process', () => {
  it('passes messages both ways, keeps stderr for the log and reports the exit code', async () => {
    const trainer = start()
    let stderr = ''
    trainer.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const messages: unknown[] = []
    trainer.on('message', (message) => messages.push(message))
    const exit = once(trainer, 'exit')
    await once(trainer, 'spawn')
    expect(trainer.pid).toBeGreaterThan(0)
    expect(trainer.exited).toBe(false)

    trainer.send({ type: 'stop' })
    expect(await exit).toEqual([3, null])
    expect(trainer.exited).toBe(true)
    expect(messages).toEqual([{ type: 'log', level: 'info', message: 'stopping' }])
    expect(stderr).toContain('warming up')
    // The channel has closed: a late message is dropped, not thrown.
    expect(() => trainer.send({ type: 'stop' })).not.toThrow()
  })

  it('ends at once on SIGKILL, reported as the signal', async () => {
    const trainer = start()
    const exit = once(trainer, 'exit')
    await once(trainer, 'spawn')
    trainer.kill('SIGKILL')
    expect(await exit).toEqual([null, 'SIGKILL'])
    expect(trainer.exited).toBe(true)
  })
})
