// Lint rules, including the layers (README, Architecture): the renderer may import neither Node nor Electron nor main/;
// the engine and the store stay below the services; reward modes stay apart; no import cycles anywhere.
import js from '@eslint/js'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'
import importX, { createNodeResolver } from 'eslint-plugin-import-x'
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

/** The folders of main/ a layer may be kept from, with the name its messages give each. */
const layers = {
  engine: ['main/engine', 'the engine (main/engine/)'],
  store: ['main/store', 'the store (main/store/)'],
  services: ['main/services', 'the services (main/services/)'],
  data: ['main/data', 'the data layer (main/data/)'],
  demo: ['main/demo', 'the demo feature (main/demo/)'],
  serve: ['main/serve', 'the HTTP server (main/serve/)'],
  app: ['main/app', 'the Electron app (main/app/)'],
  cli: ['main/cli', 'the CLI (main/cli/)'],
  launch: ['main/launch', 'the launcher (main/launch/)'],
}

const capitalized = (text) => text[0].toUpperCase() + text.slice(1)

/** One zone per forbidden pair, so each refusal names the layer that was reached. */
function keepFrom(target, forbidden, why) {
  const [targetPath, targetName] = layers[target]
  return forbidden.map((name) => {
    const [from, fromName] = layers[name]
    return {
      target: `./${targetPath}`,
      from: `./${from}`,
      message: `${capitalized(targetName)} may not import ${fromName}: ${why}`,
    }
  })
}

export const layerZones = [
  ...keepFrom(
    'engine',
    ['store', 'services', 'serve', 'app', 'cli', 'launch', 'data', 'demo'],
    'the engine takes values and emits events; let a service or the demo feature pass it what it needs.',
  ),
  ...keepFrom(
    'store',
    ['engine', 'services', 'data', 'demo', 'serve', 'app', 'cli', 'launch'],
    'the store only stores; let the caller compute and pass plain values.',
  ),
  // Every file directly in rewards/ but the registry is one mode (main/engine/rewards/<mode id>.ts); what modes share
  // lives in rewards/shared/.
  {
    target: './main/engine/rewards/!(index).ts',
    from: './main/engine/rewards/!(index).ts',
    message: 'A reward mode may not import another reward mode: move what both need to main/engine/rewards/shared/.',
  },
]

// SQL lives in main/store/: elsewhere in main/ no statement text, no prepared statement, no pragma.
// A statement keyword in capitals, or a common table expression (`WITH name AS (`): a title such as 'WITH ANSWER' is not SQL.
const SQL_START =
  '^\\s*((SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|VACUUM|ATTACH|DETACH|EXPLAIN|ANALYZE|REINDEX)\\b|WITH\\s+(RECURSIVE\\s+)?\\w+[^;]*?\\sAS\\s*\\()'
const sqlOutsideStore = 'SQL lives in main/store/: add a named store function there and call it.'
export const sqlRule = [
  'error',
  { selector: `Literal[value=/${SQL_START}/]`, message: sqlOutsideStore },
  { selector: `TemplateLiteral > TemplateElement:first-child[value.raw=/${SQL_START}/]`, message: sqlOutsideStore },
  { selector: "CallExpression[callee.property.name='prepare']", message: sqlOutsideStore },
  { selector: "CallExpression[callee.property.name='pragma']", message: sqlOutsideStore },
]

const noElectron = (layer) => ({
  paths: [
    {
      name: 'electron',
      message: `${capitalized(layers[layer][1])} may not import electron: only main/app/ and main/index.ts talk to Electron.`,
    },
  ],
})

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
    files: ['main/**/*.ts', 'preload/**/*.ts', 'renderer/**/*.ts', 'renderer/**/*.vue'],
    plugins: { 'import-x': importX },
    // The cycle check parses .vue files it reaches from .ts ones with these options too: their scripts are TypeScript.
    languageOptions: { parserOptions: { parser: tseslint.parser } },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' }), createNodeResolver()],
      'import-x/extensions': ['.ts', '.js', '.mjs', '.vue'],
      'import-x/parsers': { 'vue-eslint-parser': ['.vue'], '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'import-x/no-unresolved': 'error',
      // Only `import type` statements are left out of the cycle check, so inline `type` specifiers are written as those.
      'import-x/consistent-type-specifier-style': ['error', 'prefer-top-level'],
      'import-x/no-cycle': ['error', { allowUnsafeDynamicCyclicDependency: false }],
    },
  },
  { files: ['main/engine/**/*.ts'], rules: { 'no-restricted-imports': ['error', noElectron('engine')] } },
  { files: ['main/store/**/*.ts'], rules: { 'no-restricted-imports': ['error', noElectron('store')] } },
  { files: ['main/**/*.ts'], ignores: ['main/store/**'], rules: { 'no-restricted-syntax': sqlRule } },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
)
