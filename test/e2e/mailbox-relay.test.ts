import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { isHiveError } from '../../src/errors.js'
import type { MailboxLimits } from '../../src/mailbox/limits.js'
import { startMailboxServer, type MailboxServer } from '../../src/mailbox/server.js'
import { httpGet } from '../helpers/clients.js'
import { HIVE_BIN, killAll, runHive, type HiveProcess } from '../helpers/hive.js'
import { freeUdpRun } from '../helpers/mailbox.js'
import { startPageServer } from '../helpers/services.js'
import { runStock } from '../helpers/stock-clients.js'

/** The transit relay is never needed for text; a dead local one makes sure nothing public is tried. */
const NO_TRANSIT = ['--transit-helper', 'tcp:127.0.0.1:9']

describe('hive relay --mailbox-port: the stock clients and hive through it', () => {
  let relay: HiveProcess
  let url: string
  let page: Awaited<ReturnType<typeof startPageServer>>

  beforeAll(async () => {
    page = await startPageServer()
    const port = await freeUdpRun(4)
    relay = runHive(['relay', '--bind', `127.0.0.1:${port}`, '--ephemeral', '--mailbox-port', '0', '--json'])
    url = String((await relay.waitEvent('relay_ready', 30_000)).mailbox)
  })
  afterAll(async () => {
    await killAll()
    await page?.close()
  })

  it('announces the mailbox in relay_ready and in the status lines, on a real port', () => {
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1$/)
    expect(url).not.toMatch(/:0\//)
    expect(relay.stderr).toContain(`--wormhole-relay ${url}`)
    expect(relay.stderr).toMatch(/in memory/)
  })

  it('Python `wormhole send` to `wormhole-william receive`', async () => {
    const sender = runStock('wormhole', ['--relay-url', url, ...NO_TRANSIT, 'send', '--text', 'from python to go'], 'stderr')
    const code = await sender.code
    expect(code).toMatch(/^\d+-[a-z]+-[a-z]+$/)
    const received = await runStock('wormhole-william', ['--relay-url', url, 'receive', code]).done
    expect(received.status, JSON.stringify(received.stderr)).toBe(0)
    expect(received.stdout.trim()).toBe('from python to go')
    const sent = await sender.done
    expect(sent.status, JSON.stringify(sent.stderr)).toBe(0)
    expect(sent.stderr).toContain('text message sent')
  })

  it('`wormhole-william send` to Python `wormhole receive`', async () => {
    const sender = runStock('wormhole-william', ['--relay-url', url, 'send', '--text', 'from go to python'], 'stdout')
    const code = await sender.code
    const received = await runStock('wormhole', ['--relay-url', url, ...NO_TRANSIT, 'receive', code]).done
    expect(received.status, JSON.stringify(received.stderr)).toBe(0)
    expect(received.stdout).toBe('from go to python\n')
    const senderDone = await sender.done
    expect(senderDone.status, JSON.stringify(senderDone.stderr)).toBe(0)
  })

  it('Python to Python, the receiver first with a code chosen in advance', async () => {
    const code = '77-python-python'
    const receiver = runStock('wormhole', ['--relay-url', url, ...NO_TRANSIT, 'receive', code])
    const sender = runStock('wormhole', ['--relay-url', url, ...NO_TRANSIT, 'send', '--code', code, '--text', 'from python to python'])
    const [received, sent] = await Promise.all([receiver.done, sender.done])
    expect(received.status, JSON.stringify(received.stderr)).toBe(0)
    expect(received.stdout).toBe('from python to python\n')
    expect(sent.status, JSON.stringify(sent.stderr)).toBe(0)
  })

  it('`hive share --wormhole` hands its ticket to `hive join --join-code` through it', async () => {
    const hub = runHive(['share', page.address, '-', '-', 'mailbox-hub', '--ephemeral', '--json', '--ipv4-addr', '127.0.0.1:0', '--wormhole', '--wormhole-relay', url])
    const code = String((await hub.waitEvent('join_code')).code)
    const peer = runHive(['join', 'mailbox-peer', '--join-code', code, '--wormhole-relay', url, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json'])
    const ready = await peer.waitEvent('join_ready')
    const port = Number(String((ready.services as Record<string, string>).frontend).split(':').pop())
    expect((await httpGet(port, '/')).body.toString()).toContain('hello from the frontend')
    expect(hub.events.find((e) => e.event === 'code_used')).toMatchObject({ code })
    // The hub goes on to a fresh code from the same mailbox.
    expect(String((await hub.waitEvent('join_code', 20_000, 2)).code)).not.toBe(code)
    for (const p of [hub, peer]) p.signal('SIGKILL')
  })

  it('stops cleanly on Ctrl+C', async () => {
    const stopped = Date.now()
    relay.signal('SIGINT')
    expect(await relay.exited).toBe(0)
    expect(Date.now() - stopped).toBeLessThan(5_000)
  })
})

describe('hive relay --mailbox-port: options and failures', () => {
  afterEach(killAll)

  it('a taken port is one line and exit 8; a bad port is a usage error', async () => {
    const holder: Server = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    try {
      const taken = (holder.address() as AddressInfo).port
      const relay = runHive(['relay', '--bind', `127.0.0.1:${await freeUdpRun(4)}`, '--ephemeral', '--mailbox-port', String(taken)])
      expect(await relay.exited).toBe(8)
      expect(relay.stderr.trim().split('\n')).toHaveLength(1)
      expect(relay.stderr).toMatch(new RegExp(`^hive: cannot run the wormhole mailbox on TCP 127\\.0\\.0\\.1:${taken}: the port is already in use`))
    } finally {
      holder.close()
    }
    const bad = runHive(['relay', '--bind', '127.0.0.1:40000', '--ephemeral', '--mailbox-port', '70000'])
    expect(await bad.exited).toBe(2)
    expect(bad.stderr).toMatch(/--mailbox-port: "70000" is not a port number/)
  })

  it('without --mailbox-port there is no mailbox', async () => {
    const relay = runHive(['relay', '--bind', `127.0.0.1:${await freeUdpRun(4)}`, '--ephemeral', '--json'])
    const ready = await relay.waitEvent('relay_ready', 30_000)
    expect(ready).not.toHaveProperty('mailbox')
    expect(relay.stderr).not.toMatch(/wormhole/i)
  })

  it('the built CLI loads the mailbox server (and ws) only for `hive relay`', () => {
    const dist = join(HIVE_BIN, '..')
    const files = readdirSync(dist).filter((f) => f.endsWith('.js'))
    const text = (f: string): string => readFileSync(join(dist, f), 'utf8')
    /** Files a module loads before it runs: its static imports, transitively. */
    const closure = (entry: string, seen = new Set<string>()): Set<string> => {
      if (seen.has(entry)) return seen
      seen.add(entry)
      for (const m of text(entry).matchAll(/(?:from\s*|import\s*)"\.\/([^"]+)"/g)) closure(m[1]!, seen)
      return seen
    }
    const server = files.filter((f) => text(f).includes('WebSocketServer'))
    expect(server).toHaveLength(1)
    const byName = (re: RegExp): string => files.find((f) => re.test(f))!
    for (const entry of ['cli.js', byName(/^share-[A-Z0-9]+\.js$/), byName(/^join-[A-Z0-9]+\.js$/)]) {
      expect([...closure(entry)], entry).not.toContain(server[0])
    }
    expect(text(byName(/^relay-[A-Z0-9]+\.js$/))).toContain(`import("./${server[0]}")`)
  })
})

/** A raw client of the library's server, recording everything it is sent. */
async function connect(url: string, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, options)
  const received: Array<Record<string, unknown>> = []
  let closeCode: number | undefined
  ws.once('close', (code) => (closeCode = code))
  /** The close code, once the connection has closed; fails after 10 s. */
  const closed = (): Promise<number> => waitFor(() => closeCode, 'the connection to close')
  ws.on('error', () => undefined)
  ws.on('message', (data) => received.push(JSON.parse(String(data))))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  /** Resolves with the first message (from the start) that matches; fails after 10 s. */
  const next = (match: (m: Record<string, unknown>) => boolean, from = 0): Promise<Record<string, unknown>> =>
    waitFor(() => received.slice(from).find(match), 'a matching message')
  return { ws, received, closed, next, send: (m: unknown) => ws.send(typeof m === 'string' || Buffer.isBuffer(m) ? m : JSON.stringify(m)) }
}

async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('mailbox server library: hostile clients, small limits', () => {
  let server: MailboxServer | undefined
  const start = async (limits: Partial<MailboxLimits>): Promise<MailboxServer> => {
    server = await startMailboxServer({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), limits })
    return server
  }
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  /** The server still answers: a fresh client gets a welcome and a pong. */
  const stillServes = async (url: string): Promise<void> => {
    const c = await connect(url)
    c.send({ type: 'ping', ping: 42 })
    expect(await c.next((m) => m.type === 'pong')).toMatchObject({ pong: 42 })
    c.ws.close()
  }

  it('an oversized frame closes that connection (1009); an oversized body is refused with an error', async () => {
    const { url } = await start({ maxFrameBytes: 4096, maxBodyChars: 1000 })
    const c = await connect(url)
    c.send({ type: 'bind', appid: 'a', side: 's' })
    c.send({ type: 'open', mailbox: 'm' })
    c.send({ type: 'add', phase: 'p', body: 'ab'.repeat(600) })
    expect(String((await c.next((m) => m.type === 'error')).error)).toMatch(/message too large/)
    c.send({ type: 'add', phase: 'p', body: 'ab' })
    await c.next((m) => m.type === 'message')
    c.send({ type: 'add', phase: 'p', body: 'x'.repeat(5000) })
    expect(await c.closed()).toBe(1009)
    await stillServes(url)
  })

  it('the nameplate after the last allowed one is refused, whatever the appid', async () => {
    const { url } = await start({ maxNameplates: 3 })
    for (let i = 0; i < 3; i++) {
      const c = await connect(url)
      c.send({ type: 'bind', appid: `app-${i}`, side: 's' })
      c.send({ type: 'allocate' })
      expect(await c.next((m) => m.type === 'allocated')).toMatchObject({ nameplate: '1' })
    }
    const late = await connect(url)
    late.send({ type: 'bind', appid: 'app-9', side: 's' })
    late.send({ type: 'claim', nameplate: '12' })
    expect(String((await late.next((m) => m.type === 'error')).error)).toMatch(/too many nameplates/)
    expect(server!.stats()).toMatchObject({ nameplates: 3, mailboxes: 3 })
  })

  it('garbage gets an error, a binary frame gets an error and a close (1003), and the server goes on', async () => {
    const { url } = await start({})
    const c = await connect(url)
    for (const frame of ['{{{', '[]', '12', '{"type":null}', '{"type":"open","mailbox":{"x":1}}', '{"type":"bind","appid":"a","side":7}']) c.send(frame)
    await waitFor(() => c.received.filter((m) => m.type === 'error').length === 6 || undefined, 'six errors')
    expect(c.received.filter((m) => m.type === 'error').map((m) => m.error)).toEqual([
      'message is not JSON',
      'message is not a JSON object',
      'message is not a JSON object',
      "'type' must be a string",
      'must bind first',
      "'side' must be a string",
    ])
    c.send(Buffer.from([0, 1, 2, 255]))
    expect(await c.closed()).toBe(1003)
    expect(c.received.at(-1)).toMatchObject({ type: 'error', error: 'binary frames are not supported' })
    await stillServes(url)
  })

  it('a connection that answers nothing is closed when idle; one that answers pings stays', async () => {
    const { url } = await start({ idleTimeoutMs: 1200, pingIntervalMs: 150 })
    const opened = Date.now()
    const silent = await connect(url, { autoPong: false })
    const alive = await connect(url)
    await silent.closed()
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1000)
    await new Promise((r) => setTimeout(r, Math.max(0, opened + 3000 - Date.now())))
    expect(alive.ws.readyState).toBe(WebSocket.OPEN)
    expect(server!.stats().connections).toBe(1)
  })

  it('an unused nameplate and mailbox expire; a subscribed mailbox does not', async () => {
    const { url } = await start({ channelExpiryMs: 300, sweepIntervalMs: 100 })
    const watcher = await connect(url)
    watcher.send({ type: 'bind', appid: 'a', side: 'w' })
    watcher.send({ type: 'claim', nameplate: '5' })
    const watched = String((await watcher.next((m) => m.type === 'claimed')).mailbox)
    watcher.send({ type: 'open', mailbox: watched })
    const leaver = await connect(url)
    leaver.send({ type: 'bind', appid: 'a', side: 'l' })
    leaver.send({ type: 'claim', nameplate: '6' })
    const first = String((await leaver.next((m) => m.type === 'claimed')).mailbox)
    leaver.ws.close()
    await waitFor(() => server!.stats().nameplates === 1 || undefined, 'nameplate 6 to expire')
    expect(server!.stats()).toMatchObject({ nameplates: 1, mailboxes: 1 })
    // Number 6 is free again and leads to a new mailbox; number 5 is still taken by the watcher.
    const again = await connect(url)
    again.send({ type: 'bind', appid: 'a', side: 'x' })
    again.send({ type: 'list' })
    expect(await again.next((m) => m.type === 'nameplates')).toMatchObject({ nameplates: [{ id: '5' }] })
    again.send({ type: 'claim', nameplate: '6' })
    expect(String((await again.next((m) => m.type === 'claimed')).mailbox)).not.toBe(first)
  })

  it('over the connection limit, a client is told so in its welcome and closed', async () => {
    const { url } = await start({ maxConnections: 2 })
    await connect(url)
    await connect(url)
    const third = await connect(url)
    expect(await third.closed()).toBe(1013)
    expect(third.received[0]).toMatchObject({ type: 'welcome', welcome: { error: expect.stringMatching(/too many connections/) } })
    expect(server!.stats().connections).toBe(2)
  })

  it('a client that sends but never reads is dropped once its backlog passes the limit', async () => {
    const { url } = await start({ maxBufferedBytes: 64 * 1024 })
    const c = await connect(url)
    // Stop reading: every request below is echoed back (ack, then an error carrying it).
    ;(c.ws as unknown as { _socket: Socket })._socket.pause()
    const big = JSON.stringify({ type: 'nonsense', pad: 'x'.repeat(60_000) })
    for (let i = 0; i < 400 && c.ws.readyState === WebSocket.OPEN; i++) {
      c.send(big)
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 10))
    }
    await waitFor(() => server!.stats().connections === 0 || undefined, 'the server to drop the client')
    await stillServes(url)
  })

  it('a taken port is ADDR_IN_USE', async () => {
    const { port } = await start({})
    const err = await startMailboxServer({ host: '127.0.0.1', port, logger: pino({ level: 'silent' }) }).catch((e: unknown) => e)
    expect(isHiveError(err, 'ADDR_IN_USE')).toBe(true)
  })
})
