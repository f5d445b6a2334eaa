import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Hub } from '../../src/hub/hub.js'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import { dialQuic, sayHello } from '../../src/peer/connect.js'
import { encodeControlHeader, encodeDataHeader, encodeHeader, MAGIC } from '../../src/protocol/header.js'
import { decodeTicket } from '../../src/protocol/ticket.js'
import type { ByteStream, Link } from '../../src/link/types.js'
import { QuicDialer } from '../../src/transport/index.js'
import { startPageServer } from '../helpers/services.js'

/** The hub's side of the wire protocol, driven by a hand-written peer over real QUIC. */
let page: Awaited<ReturnType<typeof startPageServer>>
let hub: Hub
let dialer: QuicDialer
const log = pino({ level: 'silent' })

beforeAll(async () => {
  page = await startPageServer()
  hub = await Hub.start({
    name: 'proto-hub',
    services: { frontend: { host: '127.0.0.1', port: page.port, family: 4 } },
    identity: await ephemeralIdentity(),
    binds: [{ host: '127.0.0.1', port: 0, family: 4 }],
    headerTimeoutMs: 300,
    helloTimeoutMs: 500,
  })
  dialer = await QuicDialer.create(await ephemeralIdentity())
})

afterAll(async () => {
  await hub?.stop()
  dialer?.close()
  await page?.close()
})

async function joined(): Promise<Link> {
  const ticket = decodeTicket(hub.ticket)
  const connection = await dialQuic(dialer, ticket, 5000, log)
  await sayHello(connection, ticket, 'raw-peer', 5000)
  return connection
}

async function ackFor(stream: ByteStream, header: Buffer): Promise<{ ack: Buffer; fin: boolean }> {
  await stream.write(header)
  const ack = await stream.readExactly(1)
  const fin = (await stream.read()) === null
  return { ack, fin }
}

describe('hub data-stream handling', () => {
  it('answers 0xFF only once the service is connected, then pipes', async () => {
    const connection = await joined()
    const stream = await connection.openStream()
    const before = page.connections()
    await stream.write(encodeDataHeader(1))
    expect(await stream.readExactly(1)).toEqual(Buffer.of(0xff))
    expect(page.connections()).toBe(before + 1)
    await stream.write(Buffer.from('GET / HTTP/1.0\r\n\r\n'))
    await stream.finish()
    const parts: Buffer[] = []
    for (let c = await stream.read(); c !== null; c = await stream.read()) parts.push(c)
    expect(Buffer.concat(parts).toString()).toContain('hello from the frontend')
    connection.close()
  })

  it.each([
    ['a wrong magic', Buffer.concat([Buffer.of(0x01), Buffer.from('hivemindp2X')])],
    ['an unknown port id', Buffer.concat([Buffer.of(0x09), MAGIC])],
    ['a second control header', encodeControlHeader()],
    ['a service the hub does not share', encodeDataHeader(2)],
    ['port id 0xff', encodeDataHeader(0xff)],
  ])('answers 0x00 and closes the stream for %s', async (_name, header) => {
    const connection = await joined()
    const before = page.connections()
    expect(await ackFor(await connection.openStream(), header)).toEqual({ ack: Buffer.of(0x00), fin: true })
    expect(page.connections()).toBe(before)
    // The connection itself stays usable.
    const good = await connection.openStream()
    await good.write(encodeHeader(0x01))
    expect(await good.readExactly(1)).toEqual(Buffer.of(0xff))
    good.reset()
    connection.close()
  })

  it('closes a stream whose header does not arrive in time', async () => {
    const connection = await joined()
    const stream = await connection.openStream()
    await stream.write(Buffer.of(0x01, 0x68))
    await expect(stream.read()).rejects.toMatchObject({ code: 'STREAM_RESET' })
    connection.close()
  })
})

describe('hub handshake', () => {
  it('closes a connection whose first stream is not the control stream, forwarding nothing', async () => {
    const ticket = decodeTicket(hub.ticket)
    const connection = await dialQuic(dialer, ticket, 5000, log)
    const before = page.connections()
    const stream = await connection.openStream()
    await stream.write(encodeDataHeader(1))
    await expect(stream.readExactly(1)).rejects.toBeDefined()
    await connection.closed
    expect(page.connections()).toBe(before)
  })

  it('closes a connection that never says hello', async () => {
    const connection = await dialQuic(dialer, decodeTicket(hub.ticket), 5000, log)
    const started = Date.now()
    await connection.closed
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
