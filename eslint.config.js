// Lint rules, including the process boundary: the renderer may import neither Node nor Electron nor main/.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import vue from 'eslint-plugin-vue'
import vueParser from 'vue-eslint-parser'

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'module',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
]

export const rendererBoundary = {
  paths: [
    ...nodeBuiltins.map((name) => ({
      name,
      message: 'The renderer runs in a browser sandbox: ask the host through the API contract instead.',
    })),
    {
      name: 'electron',
      message: 'The renderer never talks to Electron directly: use window.api through renderer/src/api/client.ts.',
    },
    { name: 'better-sqlite3', message: 'The store lives in the host process: use the API contract.' },
  ],
  patterns: [
    { group: ['node:*'], message: 'The renderer runs in a browser sandbox: ask the host through the API contract instead.' },
    {
      group: ['**/main/**', '../../main/*', '**/preload/index*'],
      message: 'The renderer may import only preload/contract (types and schemas), never main/ or the bridge.',
    },
  ],
}

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parser: vueParser, parserOptions: { parser: tseslint.parser, sourceType: 'module' } },
    // vue-tsc checks names in .vue files against the DOM's types, as tsc does for .ts (where typescript-eslint turns this off).
    rules: { 'no-undef': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    rules: { 'no-restricted-imports': ['error', rendererBoundary] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
)
