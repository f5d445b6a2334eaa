import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import { httpGet } from '../helpers/clients.js'
import { HIVE_BIN, exitedWithin, killAll, runHive, startHub, startPeer, type HiveProcess } from '../helpers/hive.js'
import { freeUdpPort } from '../helpers/mailbox.js'
import { startPageServer } from '../helpers/services.js'
import { resign } from '../helpers/tickets.js'

let page: Awaited<ReturnType<typeof startPageServer>>

beforeAll(async () => {
  page = await startPageServer()
})
afterEach(async () => {
  await killAll()
})
afterAll(async () => {
  await page?.close()
})

/** A join expected to fail: its exit status and its stderr, which must be one line with no stack. */
async function failingJoin(ticket: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stderr: string; peer: HiveProcess }> {
  const peer = runHive(['join', 'bad-peer', '--ticket', ticket, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', ...extra], { env })
  const status = await peer.exited
  const lines = peer.stderr.trim().split('\n')
  expect(peer.stderr).not.toMatch(/\n\s+at /)
  return { status, stderr: lines[lines.length - 1]!, peer }
}

describe('bad tickets', () => {
  it('a tampered checksum gets a clear ticket error', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    const chars = ticket.split('')
    chars[ticket.length - 3] = chars[ticket.length - 3] === 'A' ? 'B' : 'A'
    const { status, stderr } = await failingJoin(chars.join(''))
    expect(status).toBe(3)
    expect(stderr).toMatch(/^hive: the ticket checksum does not match/)
  })

  it('a wrong hub key gives "hub identity mismatch" and sends nothing', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'])
    const other = await ephemeralIdentity()
    const before = page.connections()
    const { status, stderr } = await failingJoin(resign(ticket, { publicKey: other.publicKey }))
    expect(status).toBe(5)
    expect(stderr).toMatch(/hub identity mismatch/)
    // The hub never saw a hello: no peer joined and none was refused.
    expect(hub.events.filter((e) => e.event === 'peer_connected' || e.event === 'peer_refused')).toEqual([])
    expect(page.connections()).toBe(before)
  })

  it('a wrong token is refused and nothing is forwarded', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'])
    const before = page.connections()
    const { status, stderr } = await failingJoin(resign(ticket, { token: new Uint8Array(32).fill(7) }))
    expect(status).toBe(6)
    expect(stderr).toMatch(/refused the access token/)
    await expect.poll(() => hub.events.find((e) => e.event === 'peer_refused')).toMatchObject({ peer: 'bad-peer' })
    expect(hub.events.find((e) => e.event === 'peer_connected')).toBeUndefined()
    expect(page.connections()).toBe(before)
  })

  it('an --alpn that contradicts the ticket is refused', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    const { status, stderr } = await failingJoin(ticket, ['--alpn', 'federated-hivemind'])
    expect(status).toBe(7)
    expect(stderr).toMatch(/--alpn federated-hivemind contradicts the ticket/)
  })

  it('an unreachable hub names the hub, the addresses and the deadline', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    const port = await freeUdpPort()
    const dead = resign(ticket, { addresses: [`127.0.0.1:${port}`] })
    const { status, stderr } = await failingJoin(dead, ['--connect-timeout', '1'])
    expect(status).toBe(4)
    expect(stderr).toContain(`could not reach hub \`test-hub\` at \`127.0.0.1:${port}\` within 1s`)
    expect(stderr).toMatch(/UDP/)
  })
})

describe('ticket sources', () => {
  it('reads the ticket from stdin with --ticket - and from HIVE_TICKET, the flag winning', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    const viaStdin = runHive(['join', 'stdin-peer', '--ticket', '-', '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json'], { stdin: ticket + '\n' })
    await viaStdin.waitEvent('join_ready')
    const viaEnv = runHive(['join', 'env-peer', '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json'], { env: { HIVE_TICKET: ticket } })
    await viaEnv.waitEvent('join_ready')
    // A flag beats the environment: a bad flag fails even with a good HIVE_TICKET.
    const { status } = await failingJoin('hive1garbage', [], { HIVE_TICKET: ticket })
    expect(status).toBe(3)
  })

  it('--ticket - on a terminal asks for the ticket, which then never appears in the process list', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    const command = `${HIVE_BIN} join tty-peer --ticket - --frontend-addr 127.0.0.1:0 --backend-addr - --ws-addr - --json`
    // script(1) gives the peer a terminal for stdin, as a person pasting would have.
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, HIVE_DHT_BOOTSTRAP: 'none', XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'hive-cfg-')) } })
    let output = ''
    let errors = ''
    let status: number | null | undefined
    child.stdout.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr.on('data', (c: Buffer) => (errors += c.toString()))
    child.on('error', (err) => (errors += `spawn failed: ${err.message}`))
    child.on('exit', (code) => (status = code))
    // What script(1) and hive said, should the prompt or the join not come.
    const evidence = (): string => `script ${status === undefined ? 'still running' : `exited ${status}`}; output: ${JSON.stringify(output)}; stderr: ${JSON.stringify(errors)}`
    const waitFor = async (text: string): Promise<void> => {
      const deadline = Date.now() + 30_000
      while (!output.includes(text)) {
        if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)} within 30 s: ${evidence()}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    try {
      await waitFor('paste the ticket, then press Enter: ')
      child.stdin.write(ticket + '\n')
      await waitFor('"event":"join_ready"')
      const peerPid = execFileSync('pgrep', ['-f', 'join tty-peer'], { encoding: 'utf8' }).trim().split('\n')
      for (const pid of peerPid) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(ticket.slice(10))
    } finally {
      child.kill('SIGKILL')
      spawnSync('pkill', ['-f', 'join tty-peer'])
    }
  })

  it('a missing ticket is a usage error', async () => {
    const peer = runHive(['join', 'x'], { env: { HIVE_TICKET: '' } })
    expect(await peer.exited).toBe(2)
    expect(peer.stderr).toMatch(/no ticket: pass --ticket/)
  })
})

describe('bad usage', () => {
  it.each([
    [['share', '3000', '-', '-', 'h'], /frontend address "3000": expected HOST:PORT/],
    [['share', 'localhost:abc', '-', '-', 'h'], /"abc" is not a port number/],
    [['share', ':70000', '-', '-', 'h'], /host is missing/],
    [['share', '-', '-', '-', 'h'], /share at least one/],
    [['share', '127.0.0.1:1', '-', '-', 'bad name'], /not a valid name/],
    [['share', '127.0.0.1:1', '-', '-', 'h', '--ipv4-addr', '[::1]:0'], /expected an IPv4 address/],
    [['join', 'p', '--ticket', 'x', '--frontend-addr', '1.2.3.4'], /--frontend-addr "1.2.3.4"/],
    [['join', 'p', '--ticket', 'x', '--connect-timeout', 'soon'], /--connect-timeout "soon"/],
    [['share', '127.0.0.1:1', '-', '-', 'h', '--ephemeral', '--identity', '/tmp/x'], /cannot be used together/],
    [['frobnicate'], /unknown command/],
    [['share', '127.0.0.1:1', '-', '-', 'h', ...Array.from({ length: 33 }, (_, i) => ['--announce', `198.18.0.${i + 1}:7000`]).flat()], /--announce was given 33 times; a ticket lists at most 32 addresses/],
    [['share', '127.0.0.1:1', '-', '-', 'h', '--announce', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}:7000`], /longer than the 255 bytes a ticket holds/],
    [['share', '127.0.0.1:1', '-', '-', 'h', '--max-peers', '0'], /--max-peers "0": expected a whole number from 1 to 10000/],
    [['share', '127.0.0.1:1', '-', '-', 'h', '--max-streams', 'lots'], /--max-streams "lots": expected a whole number/],
  ])('hive %j exits 2 with one line', async (args, message) => {
    const proc = runHive(args)
    expect(await proc.exited).toBe(2)
    expect(proc.stderr).toMatch(message)
    expect(proc.stderr).not.toMatch(/\n\s+at /)
  })

  it('--help shows examples', async () => {
    const proc = runHive(['share', '--help'])
    expect(await proc.exited).toBe(0)
    expect(proc.stdout).toContain('Examples:')
  })
})

describe('local port in use', () => {
  it('names the option to change and exits with its own code', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const port = (blocker.address() as { port: number }).port
    try {
      const { status, stderr } = await failingJoin(ticket, ['--frontend-addr', `127.0.0.1:${port}`])
      expect(status).toBe(8)
      expect(stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is already in use \\(frontend\\); pick another with --frontend-addr`))
    } finally {
      blocker.close()
    }
  })
})

/**
 * README promises an exit within 2 s of Ctrl+C. A process ends by its clean path (the hub's
 * `hub_stopped` event, the hub seeing the peer's bye) or, after 1.8 s, by the grace timer; so
 * these tests check that the clean path ran, and bound the time with a margin that a loaded
 * 2-core machine meets.
 */
const SHUTDOWN_BOUND_MS = 5000

describe('shutdown and loss', () => {
  it('Ctrl+C on the hub: the peer reports "hub stopped" at once, with its exit code', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'])
    const { peer } = await startPeer(ticket)
    const started = Date.now()
    hub.signal('SIGINT')
    const peerStatus = await peer.exited
    const peerMs = Date.now() - started
    expect(peerStatus).toBe(9)
    expect(peer.stderr).toMatch(/hive: hub stopped \(hub stopped\)/)
    expect(peerMs).toBeLessThan(SHUTDOWN_BOUND_MS)
    expect(await hub.exited).toBe(0)
    expect(hub.events.find((e) => e.event === 'hub_stopped')).toBeDefined()
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_BOUND_MS)
  })

  it('Ctrl+C on the peer: it leaves cleanly and the hub logs why', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'])
    const { peer } = await startPeer(ticket)
    const started = Date.now()
    peer.signal('SIGTERM')
    expect(await peer.exited).toBe(0)
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_BOUND_MS)
    await expect.poll(() => hub.events.find((e) => e.event === 'peer_left')).toMatchObject({ peer: 'test-peer', reason: 'peer left', lost: false })
  })

  it('a signal sent the instant readiness is announced still stops cleanly (hub and peer, 8 times each)', async () => {
    // The signal goes out the moment the ready line is parsed. Each process has 30 s to
    // exit (it needs well under 2 s): one that hangs fails with what it printed.
    for (let i = 0; i < 8; i++) {
      const hub = runHive(['share', page.address, '-', '-', 'racy-hub', '--ipv4-addr', '127.0.0.1:0', '--ephemeral', '--json'])
      void hub.waitEvent('hub_ready', 30_000).then(() => hub.signal('SIGINT'), () => undefined)
      expect(await exitedWithin(hub, 30_000, `hub ${i}`)).toBe(0)
    }
    const { ticket } = await startHub([page.address, '-', '-'])
    for (let i = 0; i < 8; i++) {
      const peer = runHive(['join', `racy-${i}`, '--ticket', ticket, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json'])
      void peer.waitEvent('join_ready', 30_000).then(() => peer.signal('SIGTERM'), () => undefined)
      expect(await exitedWithin(peer, 30_000, `peer ${i}`)).toBe(0)
    }
  }, 300_000)

  it('a hub killed with -9 is reported as lost within 10 s, and the peer waits for it to come back', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'])
    const { peer } = await startPeer(ticket)
    const started = Date.now()
    hub.signal('SIGKILL')
    await peer.waitEvent('hub_lost', 15_000)
    // 3 s of silence, then a dial that finds nobody (4 s): the bound leaves room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(10_000)
    await peer.waitEvent('reconnecting', 15_000)
    expect(peer.child.exitCode).toBeNull()
    expect(peer.stderr).toMatch(/hub lost: .*; new connections wait for it/)
  }, 30_000)
})

describe('unusable identity files', () => {
  it.each([
    ['a token of more than 64 bytes', (key: string) => writeFileSync(`${key}.token`, Buffer.alloc(100, 3).toString('base64url') + '\n', { mode: 0o600 }), /holds a token of 100 bytes/],
    ['a key file others can read', (key: string) => chmodSync(key, 0o644), /is open to other users \(mode 0644\); run `chmod 600 /],
  ])('%s: exit 12 with one line that says what to do', async (_name, spoil, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'hive-id-'))
    const identity = join(dir, 'hub.key')
    const first = runHive(['share', page.address, '-', '-', 'id-hub', '--ipv4-addr', '127.0.0.1:0', '--identity', identity, '--json'])
    await first.waitEvent('hub_ready')
    first.signal('SIGINT')
    await first.exited
    spoil(identity)
    const hub = runHive(['share', page.address, '-', '-', 'id-hub', '--ipv4-addr', '127.0.0.1:0', '--identity', identity])
    expect(await hub.exited).toBe(12)
    expect(hub.stderr.trim().split('\n')).toHaveLength(1)
    expect(hub.stderr).toMatch(message)
  })
})

describe('identity across restarts', () => {
  it('a ticket stays valid across restarts on a fixed port, and --rotate-token revokes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hive-id-'))
    const identity = join(dir, 'hub.key')
    const port = await freeUdpPort()
    const share = (extra: string[] = []): HiveProcess =>
      runHive(['share', page.address, '-', '-', 'fixed-hub', '--ipv4-addr', `127.0.0.1:${port}`, '--identity', identity, '--json', ...extra])

    let hub = share()
    const ticket = (await hub.waitEvent('hub_ready')).ticket as string
    hub.signal('SIGINT')
    expect(await hub.exited).toBe(0)

    hub = share()
    expect((await hub.waitEvent('hub_ready')).ticket).toBe(ticket)
    const { peer, ports } = await startPeer(ticket)
    expect((await httpGet(ports.frontend!, '/')).status).toBe(200)
    peer.signal('SIGINT')
    await peer.exited
    hub.signal('SIGINT')
    await hub.exited

    hub = share(['--rotate-token'])
    const fresh = (await hub.waitEvent('hub_ready')).ticket as string
    expect(fresh).not.toBe(ticket)
    const { status, stderr } = await failingJoin(ticket)
    expect(status).toBe(6)
    expect(stderr).toMatch(/refused the access token/)
  })
  it('SIGHUP after the token file changed: the hub comes back with the new ticket, prints it, and a peer on the old one stops with exit 6', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hive-id-'))
    const identity = join(dir, 'hub.key')
    const hub = runHive(['share', page.address, '-', '-', 'rotating-hub', '--ipv4-addr', '127.0.0.1:0', '--identity', identity, '--json'])
    const ticket = (await hub.waitEvent('hub_ready')).ticket as string
    const { peer } = await startPeer(ticket)
    // The operator rotates the token file by hand, then asks the hub to restart.
    writeFileSync(`${identity}.token`, Buffer.alloc(32, 7).toString('base64url') + '\n', { mode: 0o600 })
    hub.signal('SIGHUP')
    const restarted = await hub.waitEvent('hub_restarted')
    expect(restarted.ticket).not.toBe(ticket)
    expect(hub.stderr).toMatch(/restarted with a new ticket/)
    // The peer comes back, is refused the old token, and says so with its exit code.
    expect(await peer.exited).toBe(6)
    expect(peer.stderr).toMatch(/refused the access token/)
  })
})
