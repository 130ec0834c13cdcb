// `npm run setup:gpu`: the GPU extras for a CUDA workstation. @tensorflow/tfjs-node-gpu (needs CUDA 11.2 +
// cuDNN 8.1) and onnxruntime-node's CUDA 12 execution provider; neither is needed to run the workbench.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join, dirname } from 'node:path'
import { causeOf } from './launch/electron'
import { packageRoot } from './package-root'

const nodeRequire = createRequire(import.meta.url)
const log = (message: string): void => void process.stderr.write(`${message}\n`)
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function step(what: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  log(`${what}...`)
  const result = spawnSync(command, args, { cwd: packageRoot(), env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (result.status === 0) return true
  log(`  failed: ${causeOf(`${result.stderr}\n${result.stdout}`)}`)
  return false
}

const tf = step('Installing @tensorflow/tfjs-node-gpu 4.22 (downloads libtensorflow with CUDA 11.2 support)', npm, [
  'install',
  '--no-save',
  '@tensorflow/tfjs-node-gpu@4.22.0',
])
const ortInstaller = join(dirname(nodeRequire.resolve('onnxruntime-node/package.json')), 'script', 'install.js')
const ort = step("Installing onnxruntime-node's CUDA 12 execution provider", process.execPath, [ortInstaller], {
  ...process.env,
  ONNXRUNTIME_NODE_INSTALL: 'cuda12',
})
log(
  tf && ort
    ? 'GPU extras installed; `npx cwb doctor` shows what loads.'
    : 'Some GPU extras could not be installed; `npx cwb doctor` shows what is available.',
)
process.exit(tf && ort ? 0 : 1)
