import { Command } from 'commander'
import { preferredTfBackend, probeBackends } from '../../backends/probe'
import { packageVersion } from '../../package-root'
import { printJson, progress, table } from '../output'
import { EXIT } from '../errors'

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check which compute backends work here, and why the others do not (exit 0 when at least one works)')
    .option('--json', 'print {"backends": [...], "preferred": NAME} as the last stdout line')
    .action(async (options: { json?: boolean }) => {
      progress('Probing compute backends...')
      const backends = await probeBackends()
      const preferred = preferredTfBackend(backends)?.name ?? null
      if (options.json) {
        printJson({ version: packageVersion(), node: process.versions.node, backends, preferred })
      } else {
        const rows = backends.map((b) => [b.family, b.name, b.available ? 'available' : 'missing', b.detail])
        process.stdout.write(`${table(rows)}\n`)
        process.stdout.write(`Training will use tfjs ${preferred ?? '(none)'}.\n`)
      }
      if (!backends.some((b) => b.available)) process.exitCode = EXIT.failure
    })
}
