import { chmodSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'

/** `cwb` is package.json's bin: its built file must be executable for `npx cwb`. */
function executableCli(): Plugin {
  return {
    name: 'cwb-executable-cli',
    writeBundle(options, bundle) {
      if ('cli.js' in bundle && options.dir) chmodSync(join(options.dir, 'cli.js'), 0o755)
    },
  }
}

// Modules that are only present on GPU workstations (`npm run setup:gpu`) stay outside the bundle.
const optionalNative = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve('main/index.ts'),
          cli: resolve('main/cli.ts'),
          start: resolve('main/start.ts'),
          'setup-gpu': resolve('main/setup-gpu.ts'),
          probe: resolve('main/backends/probe-entry.ts'),
          trainer: resolve('main/trainer-entry.ts'),
          'weights-worker': resolve('main/engine/checkpoint/weights-worker.ts'),
        },
        external: optionalNative,
      },
    },
    plugins: [executableCli()],
  },
  preload: {
    build: {
      rollupOptions: {
        input: { index: resolve('preload/index.ts') },
        // A sandboxed preload must be a single CommonJS file.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('renderer'),
    build: {
      rollupOptions: { input: { index: resolve('renderer/index.html') } },
    },
    plugins: [vue()],
  },
})
