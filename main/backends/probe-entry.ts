// Runs the probe in its own process (loading TensorFlow or CUDA must never take down the app or server)
// and writes the report as one JSON line on stdout.
import { probeBackends } from './probe'

const backends = await probeBackends()
process.stdout.write(`${JSON.stringify(backends)}\n`)
process.exit(0)
