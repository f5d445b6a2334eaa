import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { HiveError } from '../../src/errors.js'
import { askHub, listenControl, type ControlRequest, type ControlServer } from '../../src/trust/control-socket.js'

const log = pino({ level: 'silent' })
const servers: ControlServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const socketPath = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'hive-sock-'))
  chmodSync(d, 0o755)
  return join(d, 'hub.key.sock')
}

/** Sends raw bytes and collects the whole answer. */
function raw(path: string, bytes: string | Buffer, end = true): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(path)
    let answer = ''
    socket.on('data', (c) => (answer += c))
    socket.on('close', () => resolve(answer))
    socket.on('error', () => undefined)
    socket.write(bytes)
    if (end) socket.end()
  })
}

describe('the control socket', () => {
  it('is 0600 from the start, answers one request per connection, and is removed on close', async () => {
    const path = socketPath()
    const seen: ControlRequest[] = []
    const server = await listenControl(path, async (r) => (seen.push(r), { ok: true, echo: r.op }), log)
    servers.push(server)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(await askHub(path, { op: 'list' })).toEqual({ ok: true, echo: 'list' })
    expect(await askHub(path, { op: 'revoke', who: 'laptop' })).toEqual({ ok: true, echo: 'revoke' })
    expect(await askHub(path, { op: 'remove', who: 'old' })).toEqual({ ok: true, echo: 'remove' })
    expect(seen).toEqual([{ op: 'list' }, { op: 'revoke', who: 'laptop' }, { op: 'remove', who: 'old' }])
    await server.close()
    servers.length = 0
    expect(() => statSync(path)).toThrow()
    // Nobody listens: the caller is told so (null), to edit the file itself.
    expect(await askHub(path, { op: 'list' })).toBeNull()
  })

  it('turns hostile requests into error answers and keeps serving', async () => {
    const path = socketPath()
    servers.push(await listenControl(path, async () => ({ ok: true }), log))
    expect(JSON.parse(await raw(path, 'not json\n'))).toMatchObject({ ok: false, code: 'USAGE', message: expect.stringMatching(/^bad request/) })
    expect(JSON.parse(await raw(path, '{"op":"format-disk"}\n'))).toMatchObject({ ok: false, code: 'USAGE' })
    expect(JSON.parse(await raw(path, '{"op":"revoke"}\n'))).toMatchObject({ ok: false, message: expect.stringMatching(/missing its argument/) })
    expect(JSON.parse(await raw(path, '{"op":"remove"}\n'))).toMatchObject({ ok: false, message: expect.stringMatching(/missing its argument/) })
    expect(JSON.parse(await raw(path, Buffer.alloc(10_000, 0x61), false))).toMatchObject({ ok: false, message: expect.stringMatching(/too long/) })
    // A client that says nothing and leaves is closed on; the next one is served.
    await raw(path, '')
    expect(await askHub(path, { op: 'list' })).toEqual({ ok: true })
  })

  it('passes on the handler\'s HiveError as a code and a message', async () => {
    const path = socketPath()
    servers.push(await listenControl(path, async () => {
      throw new HiveError('USAGE', 'no peer named x')
    }, log))
    expect(await askHub(path, { op: 'revoke', who: 'x' })).toEqual({ ok: false, code: 'USAGE', message: 'no peer named x' })
  })

  it('refuses to start while another hub answers on the same socket, and replaces one left by a dead hub', async () => {
    const path = socketPath()
    const first = await listenControl(path, async () => ({ ok: true }), log)
    await expect(listenControl(path, async () => ({ ok: true }), log)).rejects.toThrow(/another hub with this key is running/)
    await first.close()
    // A socket file nobody listens on, as a hub killed with -9 leaves it.
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] })
    await new Promise((r) => holder.stdout.once('data', r))
    holder.kill('SIGKILL')
    await new Promise((r) => holder.once('exit', r))
    expect(statSync(path).isSocket()).toBe(true)
    servers.push(await listenControl(path, async () => ({ ok: true, fresh: true }), log))
    expect(await askHub(path, { op: 'list' })).toEqual({ ok: true, fresh: true })
  })

  it('serves at a path longer than a Unix socket address holds (a key deep in a tree), and a second hub there is refused', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hive-sock-')), 'd'.repeat(60), 'e'.repeat(60))
    mkdirSync(dir, { recursive: true })
    const path = join(dir, 'hub.key.sock')
    expect(Buffer.byteLength(path)).toBeGreaterThan(108)
    const server = await listenControl(path, async () => ({ ok: true, deep: true }), log)
    servers.push(server)
    expect(statSync(path).isSocket()).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(await askHub(path, { op: 'list' })).toEqual({ ok: true, deep: true })
    await expect(listenControl(path, async () => ({ ok: true }), log)).rejects.toThrow(/another hub with this key is running/)
    await server.close()
    expect(() => statSync(path)).toThrow()
    expect(await askHub(path, { op: 'list' })).toBeNull()
    expect(await askHub(join(dir, 'gone', 'x'.repeat(40), 'hub.key.sock'), { op: 'list' })).toBeNull()
  })

  it('names a socket file name too long for any Unix socket address instead of failing obscurely', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hive-sock-')), `${'x'.repeat(100)}.key.sock`)
    await expect(listenControl(path, async () => ({ ok: true }), log)).rejects.toThrow(/longer than a Unix socket allows/)
  })
})
