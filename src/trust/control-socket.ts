import { constants } from 'node:fs'
import { chmod, open, rm } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { basename, dirname } from 'node:path'
import type { Logger } from 'pino'
import { HiveError, errorMessage, isHiveError } from '../errors.js'
import { object, oneOf, optional, text } from '../protocol/check.js'

/**
 * How `hive peers` reaches a running hub: a Unix socket beside the hub's key (`FILE.sock`,
 * mode 0600, so only the key's owner can use it). One request per connection, one JSON line
 * each way. The hub applies the change to its trust store itself, so the file has one writer.
 */
export type ControlRequest = { op: 'list' } | { op: 'revoke' | 'remove'; who: string } | { op: 'allow'; id: string; name?: string }
export type ControlAnswer = { ok: true; [key: string]: unknown } | { ok: false; code: string; message: string }

export function controlSocketFor(keyFile: string): string {
  return `${keyFile}.sock`
}

/** A request is a line of a few hundred bytes; more is not ours. */
const MAX_REQUEST_BYTES = 4096
const REQUEST_TIMEOUT_MS = 5_000
const MAX_CLIENTS = 8
/** sun_path holds 108 bytes, with the terminating zero. */
const MAX_SOCKET_PATH = 107

const checkRequest = object(
  { op: oneOf(['list', 'revoke', 'remove', 'allow'] as const), who: optional(text({ min: 1, max: 128 })), id: optional(text({ min: 1, max: 128 })), name: optional(text({ min: 1, max: 128 })) },
  { loose: true },
)

function parseRequest(line: string): ControlRequest {
  const r = checkRequest(JSON.parse(line))
  if ((r.op === 'revoke' || r.op === 'remove') && r.who !== undefined) return { op: r.op, who: r.who }
  if (r.op === 'allow' && r.id !== undefined) return { op: 'allow', id: r.id, ...(r.name !== undefined ? { name: r.name } : {}) }
  if (r.op === 'list') return { op: 'list' }
  throw new Error(`${r.op} is missing its argument`)
}

/** Reads one line of at most MAX_REQUEST_BYTES, or rejects. */
function readLine(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffered += chunk
      const end = buffered.indexOf('\n')
      if (end >= 0) return resolve(buffered.slice(0, end))
      if (buffered.length > MAX_REQUEST_BYTES) reject(new Error('request too long'))
    })
    socket.once('end', () => reject(new Error('no request')))
    socket.once('error', reject)
  })
}

/**
 * Runs `use` with a name for the socket at `path` that fits sun_path. A longer path (a key deep
 * in a project tree) is reached on Linux through /proc/self/fd/N/NAME, N an open descriptor of
 * its directory: bind and connect resolve that as the full path, which has no such limit.
 */
async function withSocketName<T>(path: string, use: (name: string) => Promise<T>): Promise<T> {
  if (Buffer.byteLength(path) <= MAX_SOCKET_PATH) return use(path)
  const tooLong = () =>
    new HiveError('IDENTITY_FILE', `the control socket path ${path} is longer than a Unix socket allows (${MAX_SOCKET_PATH} bytes); keep the hub's key in a shorter path (--identity)`, { file: path, reason: 'long_path' })
  if (process.platform !== 'linux') throw tooLong()
  const dir = await open(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY).catch((err: NodeJS.ErrnoException) => {
    throw new HiveError('IDENTITY_FILE', `cannot open ${dirname(path)}, the directory of the control socket: ${err.message}`, { file: path, errno: err.code ?? '' })
  })
  try {
    const name = `/proc/self/fd/${dir.fd}/${basename(path)}`
    if (Buffer.byteLength(name) > MAX_SOCKET_PATH) throw tooLong()
    return await use(name)
  } finally {
    await dir.close()
  }
}

export interface ControlServer {
  readonly path: string
  close(): Promise<void>
}

/**
 * Listens on `path` for `handle`. A socket left by a hub that died is replaced; one that
 * answers belongs to a hub running with the same key, which is an error: two hubs would
 * each write the trust store.
 */
export async function listenControl(path: string, handle: (request: ControlRequest) => Promise<ControlAnswer>, log: Logger): Promise<ControlServer> {
  if (await answers(path)) {
    throw new HiveError('IDENTITY_FILE', `another hub with this key is running (its control socket ${path} answers); stop it, or give this hub a key of its own with --identity`, { file: path })
  }
  await rm(path, { force: true })
  const server = createServer((socket) => serve(socket, handle, log))
  server.maxConnections = MAX_CLIENTS
  // The socket takes its mode from the umask at bind: 0600 from the start, not after a chmod.
  const umask = process.umask(0o177)
  try {
    await withSocketName(path, (name) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(name, () => resolve())
      }),
    )
  } catch (err) {
    if (isHiveError(err) && err.details.reason === 'long_path') throw err
    // A long path that /proc could not reach either is long_path too: the hub goes on without it.
    const details: Record<string, string> = Buffer.byteLength(path) > MAX_SOCKET_PATH ? { file: path, reason: 'long_path' } : { file: path }
    throw new HiveError('IDENTITY_FILE', `cannot listen on the control socket ${path}: ${errorMessage(err)}`, details)
  } finally {
    process.umask(umask)
  }
  await chmod(path, 0o600)
  server.on('error', (err) => log.warn({ err: errorMessage(err) }, 'control socket'))
  return { path, close: () => closeServer(server, path) }
}

async function closeServer(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await rm(path, { force: true }).catch(() => undefined)
}

function serve(socket: Socket, handle: (request: ControlRequest) => Promise<ControlAnswer>, log: Logger): void {
  socket.on('error', () => undefined)
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy())
  void (async () => {
    let answer: ControlAnswer
    try {
      const request = parseRequest(await readLine(socket))
      answer = await handle(request)
    } catch (err) {
      answer = isHiveError(err) ? { ok: false, code: err.code, message: err.message } : { ok: false, code: 'USAGE', message: `bad request: ${errorMessage(err).slice(0, 120)}` }
    }
    log.debug({ ok: answer.ok }, 'control request')
    socket.end(JSON.stringify(answer) + '\n')
  })()
}

/** Whether something listens at `path` now. */
function answers(path: string): Promise<boolean> {
  const probe = (name: string) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(name)
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
  return withSocketName(path, probe).catch(() => false)
}

/**
 * Sends one request to the hub running with this key. Null when no hub listens there (no
 * socket, or one left behind by a hub that is gone): then the caller edits the file itself.
 */
export async function askHub(path: string, request: ControlRequest, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ControlAnswer | null> {
  try {
    return await withSocketName(path, (name) => ask(name, path, request, timeoutMs))
  } catch (err) {
    // No directory, no hub: the caller then finds no trust store either and says so.
    if (isHiveError(err) && err.details.errno === 'ENOENT') return null
    throw err
  }
}

function ask(name: string, path: string, request: ControlRequest, timeoutMs: number): Promise<ControlAnswer | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(name)
    let buffered = ''
    let connected = false
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new HiveError('TIMEOUT', `the hub at ${path} did not answer within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    socket.setEncoding('utf8')
    socket.once('connect', () => {
      connected = true
      socket.write(JSON.stringify(request) + '\n')
    })
    socket.on('data', (chunk: string) => {
      buffered += chunk
      if (buffered.length > 16 * 1024 * 1024) socket.destroy(new Error('answer too long'))
    })
    socket.once('end', () => {
      clearTimeout(timer)
      try {
        resolve(JSON.parse(buffered) as ControlAnswer)
      } catch {
        reject(new HiveError('PROTOCOL_VIOLATION', `the hub at ${path} gave an answer that is not JSON`))
      }
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) resolve(null)
      else reject(new HiveError('IDENTITY_FILE', `cannot reach the hub at ${path}: ${err.message}`, { file: path }))
    })
  })
}
