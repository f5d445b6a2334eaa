import { createConnection } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { httpGet, socketOutcome, tcpConnect } from '../helpers/clients.js'
import { killAll, runHive, startHub, startPeer } from '../helpers/hive.js'
import { canUseNetns, ip, makeNetns, removeNetns } from '../helpers/netns.js'
import { decodeTicket } from '../../src/protocol/ticket.js'
import { startPageServer, startTcp, type Service } from '../helpers/services.js'

/** Events from the network or a service that once ended the hub, and with it every peer's session. */
let page: Awaited<ReturnType<typeof startPageServer>>
let resetter: Service

beforeAll(async () => {
  page = await startPageServer()
  // Accepts, then resets at once: the hub meets the reset before or while it answers the peer.
  resetter = await startTcp((socket) => socket.resetAndDestroy())
})
afterEach(async () => {
  await killAll()
})
afterAll(async () => {
  await Promise.all([page?.close(), resetter?.close()])
})

describe('a host with many addresses', () => {
  it.skipIf(!canUseNetns())('lists the 32 that fit in the ticket, announced ones first, and says which it left out', async () => {
    const ns = makeNetns('addrs')
    try {
      for (let i = 1; i <= 40; i++) ip('-n', ns, 'addr', 'add', `198.18.1.${i}/32`, 'dev', 'lo')
      const hub = runHive(['share', page.address, '-', '-', 'many-hub', '--ipv4-addr', '0.0.0.0:0', '--announce', '198.18.9.9:7000', '--ephemeral', '--json'], { netns: ns })
      const ready = await hub.waitEvent('hub_ready')
      const addresses = ready.addresses as string[]
      expect(addresses).toHaveLength(32)
      expect(addresses[0]).toBe('198.18.9.9:7000')
      expect(decodeTicket(ready.ticket as string).addresses).toEqual(addresses)
      const warning = await hub.waitEvent('warning')
      expect(warning.message).toMatch(/the ticket has room for 32 addresses, announced ones first; left out: (198\.18\.1\.\d+:\d+, ){8}/)
      expect(hub.stderr).toMatch(/^warning: the ticket has room for 32 addresses/m)
      hub.signal('SIGINT')
      expect(await hub.exited).toBe(0)
    } finally {
      removeNetns(ns)
    }
  })
})

describe('a reader that goes away', () => {
  it('a hub whose stdout reader closed (as in `hive share | head -1`) keeps serving', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'])
    hub.child.stdout!.destroy()
    // Joining makes the hub write events to the closed pipe.
    const { ports } = await startPeer(ticket)
    expect((await httpGet(ports.frontend!, '/')).status).toBe(200)
    const second = await startPeer(ticket, 'second')
    expect((await httpGet(second.ports.frontend!, '/')).status).toBe(200)
    expect(hub.child.exitCode).toBeNull()
  })
})

describe('out of file descriptors', () => {
  it('a peer out of descriptors turns connections away and keeps serving', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    // A peer that may hold only 160 descriptors: Node cannot raise a limit the hard limit caps.
    const peer = runHive(['join', 'tight', '--ticket', ticket, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json'], { prefix: ['prlimit', '--nofile=160:160', '--'] })
    const ready = await peer.waitEvent('join_ready')
    const port = Number(String((ready.services as Record<string, string>).frontend).split(':').pop())
    let turnedAway = 0
    const sockets = Array.from({ length: 200 }, () =>
      createConnection({ host: '127.0.0.1', port })
        .on('error', () => undefined)
        .once('close', () => turnedAway++),
    )
    // libuv turns away what it cannot accept (the peer has about 130 descriptors to spare).
    await expect.poll(() => turnedAway, { timeout: 5000 }).toBeGreaterThan(0)
    for (const s of sockets) s.destroy()
    await expect.poll(async () => (await httpGet(port, '/').catch(() => null))?.status, { timeout: 10_000 }).toBe(200)
    expect(peer.child.exitCode).toBeNull()
  })
})

describe('a hostile service', () => {
  it('a service that resets every connection at once: clients get resets, the hub keeps serving', async () => {
    const { hub, ticket } = await startHub([page.address, resetter.address, '-'])
    const { ports } = await startPeer(ticket)
    for (let round = 0; round < 10; round++) {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, async () => {
          // The reset can beat the client's own 'connect' event: that is a reset too.
          const socket = await tcpConnect(ports.backend!).catch((err: NodeJS.ErrnoException) => {
            if (err.code === 'ECONNRESET') return null
            throw err
          })
          if (!socket) return 'reset'
          socket.write('hello?')
          return (await socketOutcome(socket)).outcome
        }),
      )
      // Whatever the timing, no client may see a clean end from a service that reset.
      expect(outcomes.filter((o) => o === 'end')).toEqual([])
    }
    expect(hub.child.exitCode).toBeNull()
    expect((await httpGet(ports.frontend!, '/')).status).toBe(200)
  })
})
