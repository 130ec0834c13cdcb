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

/**
 * tfjs is CommonJS. Imported from an ES module, Node first scans its sources for their export names (the umbrella
 * package and the 6 MB of packages it re-exports): about 0.3 s of the 0.95 s that `cwb --help` took to start, paid by
 * every `cwb` process, trainer and worker. `require` skips the scan, so the built files load these modules with it
 * (`import * as tf from "@tensorflow/tfjs";` becomes a `createRequire` call on the same line; the module is the same).
 */
function requireCommonJs(modules: readonly string[]): Plugin {
  return {
    name: 'cwb-require-commonjs',
    renderChunk(code) {
      let changed = false
      const rewritten = code.replace(/^import \* as (\w+) from "([^"]+)";$/gm, (line, name: string, specifier: string) => {
        if (!modules.includes(specifier)) return line
        changed = true
        return `import { createRequire as __cwbRequire } from "node:module"; const ${name} = __cwbRequire(import.meta.url)(${JSON.stringify(specifier)});`
      })
      return changed ? { code: rewritten, map: null } : null
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
    plugins: [executableCli(), requireCommonJs(['@tensorflow/tfjs'])],
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
