// The corpus's machinery: the built `cwb` (a CLI call, or one `cwb serve` for the whole corpus), plain HTTP calls
// to it, and a snapshot of what the store holds, to show that a refused input left it exactly as it was.
import { Buffer } from 'node:buffer'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { join, resolve } from 'node:path'
import { clearTimeout, setTimeout } from 'node:timers'
import Database from 'better-sqlite3'

export const root = resolve(import.meta.dirname, '..', '..')
export const cliPath = join(root, 'out', 'main', 'cli.js')

const baseEnv = () => ({ ...process.env, CWB_WORKSPACE: '', CWB_TOKEN: '', CWB_DEMO: '0', CWB_ALLOW_PATHS: '' })

/** Runs the built cwb and answers {status: exit code, message: stderr, stdout}. */
export function cwb(args, { env = {}, input, timeout = 60_000 } = {}) {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npx electron-vite build\` first (npm test does).`)
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
    env: { ...baseEnv(), ...env },
    timeout,
    maxBuffer: 64 << 20,
  })
  return { status: result.status, message: result.stderr, stdout: result.stdout }
}

/** Starts `cwb serve --port 0 ARGS` and resolves once it prints its ready line. */
export function serve(args, env = {}) {
  const child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', ...args], { cwd: root, env: { ...baseEnv(), ...env } })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise((done) => child.on('exit', (code) => done(code)))
  return new Promise((resolveServed, reject) => {
    const timer = setTimeout(() => reject(new Error(`cwb serve did not start: ${stderr}`)), 30_000)
    void exited.then((code) => reject(new Error(`cwb serve exited with ${code}: ${stderr}`)))
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      const match = /^Workbench at (http:\/\/([^/]+)\/)\?token=(\S+)\n/m.exec(stdout)
      if (!match) return
      clearTimeout(timer)
      const [host, port] = match[2].split(':')
      resolveServed({
        base: match[1],
        host,
        port: Number(port),
        token: match[3],
        stderr: () => stderr,
        exited,
        stop: () => {
          if (child.exitCode === null) child.kill('SIGTERM')
          return exited
        },
      })
    })
  })
}

/**
 * One raw HTTP request (no client-side checks, so bodies, headers and methods can be anything). Answers the status,
 * the body as text, and the error message of a JSON reply (else the text).
 */
export function http(served, { method = 'POST', path, headers = {}, body, timeout = 30_000 }) {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: served.host,
        port: served.port,
        method,
        path,
        headers: { authorization: `Bearer ${served.token}`, ...headers },
        timeout,
      },
      (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json
          try {
            json = JSON.parse(text)
          } catch {
            json = undefined
          }
          done({ status: res.statusCode, text, json, code: json?.error?.code, message: json?.error?.message ?? text })
        })
        res.on('error', fail)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeout} ms`)))
    req.on('error', (error) => {
      // The server may answer (413) and close before the whole body is sent: that answer is what counts.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') done({ status: 'reset', text: '', message: error.message })
      else fail(error)
    })
    if (body !== undefined) req.write(body)
    req.end()
  })
}

/** A request that promises 1000 bytes of body, sends 10 and hangs up: answers {status: 'closed'} once it is gone. */
export function partial(served, path) {
  return new Promise((done, fail) => {
    const socket = connect(served.port, served.host, () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${served.host}:${served.port}\r\nAuthorization: Bearer ${served.token}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"run": 1,',
      )
      setTimeout(() => socket.destroy(), 50)
    })
    socket.on('close', () => done({ status: 'closed', message: '' }))
    socket.on('error', fail)
  })
}

/** Calls an API method with a JSON body (or any string/Buffer body as given). */
export function call(served, method, params, headers = {}) {
  const body = typeof params === 'string' || Buffer.isBuffer(params) ? params : JSON.stringify(params)
  return http(served, { path: `/api/call/${method}`, headers: { 'content-type': 'application/json', ...headers }, body })
}

const TABLES = ['datasets', 'records', 'paraphrases', 'edits', 'runs', 'metrics', 'samples', 'checkpoints', 'events']

/** Row counts and a hash of every row of the tables that hold the user's work. */
export function snapshot(file) {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const tables = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all())
    const state = {}
    for (const table of TABLES.filter((t) => tables.has(t))) {
      // Some tables have no rowid (WITHOUT ROWID): hash the rows in a fixed order of their own.
      const rows = db
        .prepare(`SELECT * FROM ${table}`)
        .raw()
        .all()
        .map((row) => JSON.stringify(row, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)))
        .sort()
      const hash = createHash('sha256')
      for (const row of rows) hash.update(row)
      state[table] = `${rows.length}:${hash.digest('hex').slice(0, 16)}`
    }
    return state
  } finally {
    db.close()
  }
}

/** The tables whose rows differ between two snapshots. */
export function changedTables(before, after) {
  return Object.keys({ ...before, ...after }).filter((table) => before[table] !== after[table])
}
