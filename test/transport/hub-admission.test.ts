import { afterEach, describe, expect, it } from 'vitest'
import { Hub, type HubOptions } from '../../src/hub/hub.js'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import type { Link, LinkListener } from '../../src/link/types.js'
import { encodeControlHeader, encodeDataHeader } from '../../src/protocol/header.js'
import { QuicDialer, QuicListener } from '../../src/transport/index.js'
import { dialQuic } from '../../src/peer/connect.js'
import { decodeTicket } from '../../src/protocol/ticket.js'
import { pino } from 'pino'
import { getThroughStream, helloFor, rawFrame, rawPeer, readFrame, type RawPeer } from '../helpers/raw-peer.js'
import { startPageServer } from '../helpers/services.js'

/** Who gets in, and in which words they are turned away: the hub's handshake, over real QUIC. */
const hubs: Hub[] = []
const peers: RawPeer[] = []
let page: Awaited<ReturnType<typeof startPageServer>> | undefined

afterEach(async () => {
  for (const p of peers.splice(0)) p.close()
  await Promise.all(hubs.splice(0).map((h) => h.stop()))
  await page?.close()
  page = undefined
})

async function hub(options: Partial<HubOptions> = {}): Promise<Hub> {
  page ??= await startPageServer()
  const h = await Hub.start({
    name: 'adm-hub',
    services: { frontend: { host: '127.0.0.1', port: page.port, family: 4 } },
    identity: await ephemeralIdentity(),
    binds: [{ host: '127.0.0.1', port: 0, family: 4 }],
    helloTimeoutMs: 2000,
    ...options,
  })
  hubs.push(h)
  return h
}

/** A link that completes the QUIC handshake and then says nothing at all. */
async function dialOnly(h: Hub): Promise<Link> {
  const dialer = await QuicDialer.create(await ephemeralIdentity())
  const link = await dialQuic(dialer, decodeTicket(h.ticket), 5000, pino({ level: 'silent' }))
  peers.push({ link, control: null as never, send: () => Promise.resolve(), close: () => (link.close(), dialer.close()) })
  return link
}

async function peer(h: Hub): Promise<RawPeer> {
  const p = await rawPeer(h.ticket)
  peers.push(p)
  return p
}

describe('protocol versions', () => {
  it('welcomes a version 1 peer with exactly the fields version 1 defines, since it reads strictly', async () => {
    const h = await hub()
    const p = await peer(h)
    await p.send(rawFrame(helloFor(h.ticket, 'old-peer', 1)))
    expect(await readFrame(p.control)).toEqual({ type: 'welcome', hub: 'adm-hub' })
  })

  it('welcomes a version 2 peer and confirms the version', async () => {
    const h = await hub()
    const p = await peer(h)
    await p.send(rawFrame(helloFor(h.ticket, 'new-peer', 2)))
    expect(await readFrame(p.control)).toEqual({ type: 'welcome', hub: 'adm-hub', version: 2, streams: 1024, session: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/) })
  })

  it('answers a hello in a version it does not speak with refused{code: "version"}, as PROTOCOL.md promises', async () => {
    const h = await hub()
    const p = await peer(h)
    await p.send(rawFrame({ ...helloFor(h.ticket), version: 3, shiny: 'new field' }))
    expect(await readFrame(p.control)).toMatchObject({ type: 'refused', code: 'version', message: expect.stringMatching(/versions 1 to 2/) })
    await p.link.closed
  })
})

describe('admission', () => {
  it('refuses a peer beyond --max-peers with refused{code: "full"}, and lets one in once a place is free', async () => {
    const h = await hub({ limits: { maxPeers: 2 } })
    const welcomed = async (name: string): Promise<RawPeer> => {
      const p = await peer(h)
      await p.send(rawFrame(helloFor(h.ticket, name)))
      expect(await readFrame(p.control)).toMatchObject({ type: 'welcome' })
      return p
    }
    const first = await welcomed('one')
    await welcomed('two')
    const third = await peer(h)
    await third.send(rawFrame(helloFor(h.ticket, 'three')))
    expect(await readFrame(third.control)).toMatchObject({ type: 'refused', code: 'full', message: expect.stringMatching(/already has 2 peers/) })
    first.close()
    await expect.poll(async () => {
      const p = await peer(h)
      await p.send(rawFrame(helloFor(h.ticket, 'four')))
      return (await readFrame(p.control))?.type
    }).toBe('welcome')
  })

  it('a new session of the same peer key replaces the old one, which is told why', async () => {
    const h = await hub()
    const identity = await ephemeralIdentity()
    const first = await rawPeer(h.ticket, identity)
    const second = await rawPeer(h.ticket, identity)
    peers.push(first, second)
    await first.send(rawFrame(helloFor(h.ticket, 'laptop')))
    expect(await readFrame(first.control)).toMatchObject({ type: 'welcome' })
    await second.send(rawFrame(helloFor(h.ticket, 'laptop')))
    expect(await readFrame(second.control)).toMatchObject({ type: 'welcome' })
    expect(await readFrame(first.control)).toMatchObject({ type: 'bye', code: 'replaced' })
  })

  it('answers each ping with a pong of the same number', async () => {
    const h = await hub()
    const p = await peer(h)
    await p.send(rawFrame(helloFor(h.ticket, 'laptop', 2)))
    expect(await readFrame(p.control)).toMatchObject({ type: 'welcome' })
    await p.send(Buffer.concat([rawFrame({ type: 'ping', seq: 7 }), rawFrame({ type: 'ping', seq: 8 })]))
    expect(await readFrame(p.control)).toEqual({ type: 'pong', seq: 7 })
    expect(await readFrame(p.control)).toEqual({ type: 'pong', seq: 8 })
  })

  it('sends its service table, with port ids, only to a peer that asks for it', async () => {
    page ??= await startPageServer()
    const h = await hub({ services: { ollama: { host: '127.0.0.1', port: page!.port, family: 4 }, frontend: { host: '127.0.0.1', port: 5173, family: 4 } } })
    const asks = await peer(h)
    await asks.send(rawFrame({ ...helloFor(h.ticket, 'laptop', 2), table: true }))
    expect(await readFrame(asks.control)).toMatchObject({
      type: 'welcome',
      services: [
        { name: 'ollama', id: 4, port: page!.port },
        { name: 'frontend', id: 1, port: 5173 },
      ],
    })
    const old = await peer(h)
    await old.send(rawFrame(helloFor(h.ticket, 'old-laptop', 2)))
    expect(await readFrame(old.control)).not.toHaveProperty('services')
    // A named service is reached by the port id the table gave it.
    const { ack, response } = await getThroughStream(asks.link, 4)
    expect(ack).toEqual(Buffer.of(0xff))
    expect(response).toMatch(/^HTTP\/1\.1 200/)
  })

  it('sends a table too large for a version 2 frame to a peer that asked, in one welcome', async () => {
    const services = Object.fromEntries(Array.from({ length: 255 }, (_, i) => [`service-${String(i).padStart(3, '0')}-${'n'.repeat(50)}`, { host: '127.0.0.1', port: 1 + i, family: 4 as const }]))
    const h = await hub({ services })
    const p = await peer(h)
    await p.send(rawFrame({ ...helloFor(h.ticket, 'laptop', 2), table: true }))
    const welcome = await readFrame(p.control)
    expect((welcome!.services as unknown[]).length).toBe(255)
    expect(JSON.stringify(welcome).length).toBeGreaterThan(4096)
  })

  it("tells in the pong of a probe's ping how long the hub had stood still before reading it", async () => {
    const h = await hub()
    const p = await peer(h)
    await p.send(rawFrame(helloFor(h.ticket, 'laptop', 2)))
    expect(await readFrame(p.control)).toMatchObject({ type: 'welcome' })
    // The first probe ping starts the hub's watch; a plain ping never carries the mark.
    await p.send(rawFrame({ type: 'ping', seq: 1, probe: true }))
    expect(await readFrame(p.control)).toEqual({ type: 'pong', seq: 1 })
    // The hub runs in this process: holding the event loop makes it stand still before it reads
    // the next ping. Whether the ping reaches it during the hold is up to QUIC's thread, so try a few times.
    const paused: number[] = []
    for (let seq = 2; seq < 12 && !paused.some((ms) => ms >= 20); seq += 2) {
      await new Promise((r) => setTimeout(r, 20))
      const sending = p.send(Buffer.concat([rawFrame({ type: 'ping', seq, probe: true }), rawFrame({ type: 'ping', seq: seq + 1 })]))
      const until = performance.now() + 60
      while (performance.now() < until);
      await sending
      const pong = await readFrame(p.control)
      expect(pong).toMatchObject({ type: 'pong', seq })
      paused.push((pong!.paused as number | undefined) ?? 0)
      // A plain ping's pong never tells a pause.
      expect(await readFrame(p.control)).toEqual({ type: 'pong', seq: seq + 1 })
    }
    expect(Math.max(...paused)).toBeGreaterThanOrEqual(20)
  })

  it('a hello resuming an open session from the same address is refused (in_session), and that session lives on', async () => {
    const h = await hub()
    const joins: boolean[] = []
    h.on('peer_connected', (p) => joins.push(p.rejoin))
    // One endpoint, two connections: the second comes from the same address, as a redial after a stall does.
    const dialer = await QuicDialer.create(await ephemeralIdentity())
    const open = async (): Promise<RawPeer> => {
      const link = await dialQuic(dialer, decodeTicket(h.ticket), 5000, pino({ level: 'silent' }))
      const control = await link.openStream()
      await control.write(encodeControlHeader())
      const p = { link, control, send: (b: Buffer) => control.write(b), close: () => link.close() }
      peers.push(p)
      return p
    }
    peers.push({ link: null as never, control: null as never, send: () => Promise.resolve(), close: () => dialer.close() })
    const first = await open()
    await first.send(rawFrame(helloFor(h.ticket, 'laptop', 2)))
    const welcome = await readFrame(first.control)
    const probe = await open()
    await probe.send(rawFrame({ ...helloFor(h.ticket, 'laptop', 2), resume: welcome!.session }))
    expect(await readFrame(probe.control)).toMatchObject({ type: 'refused', code: 'in_session' })
    await first.send(rawFrame({ type: 'ping', seq: 1 }))
    expect(await readFrame(first.control)).toEqual({ type: 'pong', seq: 1 })
    expect(joins).toEqual([false])
  })

  it('a hello resuming a session from another address (a NAT rebinding) replaces it, and the hub sees a rejoin', async () => {
    const h = await hub()
    const joins: boolean[] = []
    h.on('peer_connected', (p) => joins.push(p.rejoin))
    const identity = await ephemeralIdentity()
    const first = await rawPeer(h.ticket, identity)
    const second = await rawPeer(h.ticket, identity)
    peers.push(first, second)
    await first.send(rawFrame(helloFor(h.ticket, 'laptop', 2)))
    const welcome = await readFrame(first.control)
    await second.send(rawFrame({ ...helloFor(h.ticket, 'laptop', 2), resume: welcome!.session }))
    // It had that session: bytes sent early on it may have reached a service.
    expect(await readFrame(second.control)).toMatchObject({ type: 'welcome', previous: 'ended', seen: 0, session: expect.not.stringMatching(String(welcome!.session)) })
    expect(await readFrame(first.control)).toMatchObject({ type: 'bye', code: 'replaced' })
    expect(joins).toEqual([false, true])
  })

  it('a hello resuming a session this hub never gave out (it restarted since) is welcomed with previous: unknown', async () => {
    const h = await hub()
    const p = await peer(h)
    await p.send(rawFrame({ ...helloFor(h.ticket, 'laptop', 2), resume: 'c2Vzc2lvbi1vZi1hbm90aGVy' }))
    expect(await readFrame(p.control)).toMatchObject({ type: 'welcome', previous: 'unknown' })
  })

  it('a data stream before the welcome ends the link: an unwelcomed link cannot make the hub hold data', async () => {
    const h = await hub()
    const p = await peer(h)
    const before = page!.connections()
    const data = await p.link.openStream()
    await data.write(encodeDataHeader(1))
    await data.write(Buffer.alloc(256 * 1024)).catch(() => undefined)
    await p.link.closed
    expect(page!.connections()).toBe(before)
  })

  it('caps links that have not said hello: beyond the cap a new one is closed, or the oldest gives way after its grace', async () => {
    const h = await hub({ limits: { maxUnwelcomed: 3, unwelcomedGraceMs: 500 } })
    const silent = [await dialOnly(h), await dialOnly(h), await dialOnly(h)]
    // The cap is full of fresh links: the next is closed at once.
    const fourth = await dialOnly(h)
    await fourth.closed
    for (const s of silent) expect(s.isClosed).toBe(false)
    // Once the oldest has had its grace, a newcomer takes its place and can join.
    await new Promise((r) => setTimeout(r, 600))
    const late = await peer(h)
    await late.send(rawFrame(helloFor(h.ticket, 'late')))
    expect(await readFrame(late.control)).toMatchObject({ type: 'welcome' })
    await silent[0]!.closed
  })
})

describe('failures inside the hub do not end it', () => {
  it('a listener of hub events that throws is logged, and the peer is served', async () => {
    const h = await hub()
    h.on('peer_connected', () => {
      throw new Error('a listener bug')
    })
    const p = await peer(h)
    await p.send(rawFrame(helloFor(h.ticket)))
    expect(await readFrame(p.control)).toMatchObject({ type: 'welcome' })
    const stream = await p.link.openStream()
    await stream.write(encodeDataHeader(1))
    expect(await stream.readExactly(1)).toEqual(Buffer.of(0xff))
  })

  it('failed accepts are reported and retried with a pause, and the hub keeps accepting', async () => {
    const identity = await ephemeralIdentity()
    const real = await QuicListener.bind(identity, '127.0.0.1', 0)
    let failures = 0
    // A listener whose accept fails a few times, as a transport error would, then works.
    const flaky: LinkListener = {
      host: real.host,
      port: real.port,
      close: () => real.close(),
      accept(): Promise<Link> {
        if (failures === 5) return real.accept()
        failures++
        return Promise.reject(new Error('accept failed'))
      },
    }
    const warnings: string[] = []
    const h = await hub({ listeners: [flaky], identity, limits: { acceptConcurrency: 1 } })
    h.on('warning', (w) => warnings.push(w.message))
    const p = await peer(h)
    await p.send(rawFrame(helloFor(h.ticket)))
    expect(await readFrame(p.control)).toMatchObject({ type: 'welcome' })
    expect(failures).toBe(5)
    expect(warnings.some((w) => /accepting a connection on 127\.0\.0\.1:\d+ failed \(accept failed\); retrying in \d+ ms/.test(w))).toBe(true)
  })
})
