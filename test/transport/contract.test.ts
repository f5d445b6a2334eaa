import { afterEach, describe, expect, it } from 'vitest'
import { HiveError } from '../../src/errors.js'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import { dialHub } from '../../src/peer/connect.js'
import { encodeTicket, decodeTicket } from '../../src/protocol/ticket.js'
import { QuicDialer, QuicListener, type QuicStream } from '../../src/transport/index.js'
import { pino } from 'pino'
import { quicPair, type QuicPair } from '../helpers/quic-pair.js'

let pair: QuicPair | undefined
afterEach(() => {
  pair?.close()
  pair = undefined
})

async function readAll(stream: QuicStream): Promise<Buffer> {
  const parts: Buffer[] = []
  for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) parts.push(chunk)
  return Buffer.concat(parts)
}

/** Echoes every inbound stream until FIN, then finishes. */
function serveEcho(p: QuicPair): void {
  void (async () => {
    for (;;) {
      const stream = await p.server.acceptStream().catch(() => null)
      if (!stream) return
      void (async () => {
        try {
          for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) await stream.write(chunk)
          await stream.finish()
        } catch {
          stream.reset()
        }
      })()
    }
  })()
}

describe('QUIC adapter contract (real quinn)', () => {
  it('opens a stream, echoes, and carries FIN both ways', async () => {
    pair = await quicPair()
    serveEcho(pair)
    const stream = await pair.client.openStream()
    const payload = Buffer.from('hello through quinn')
    await stream.write(payload)
    await stream.finish()
    expect(await readAll(stream)).toEqual(payload)
  })

  it('keeps the order of writes made without waiting for each other (a pong racing a pong)', async () => {
    pair = await quicPair()
    serveEcho(pair)
    const stream = await pair.client.openStream()
    const parts = Array.from({ length: 500 }, (_, i) => Buffer.from(`${String(i).padStart(4, '0')},`))
    await Promise.all(parts.map((p) => stream.write(p)))
    await stream.finish()
    expect((await readAll(stream)).toString()).toBe(Buffer.concat(parts).toString())
  })

  it('carries a half-close: the reader still gets data after its own FIN', async () => {
    pair = await quicPair()
    const client = await pair.client.openStream()
    await client.write(Buffer.from('question'))
    await client.finish()
    const server = await pair.server.acceptStream()
    expect(await readAll(server)).toEqual(Buffer.from('question'))
    await server.write(Buffer.from('answer after EOF'))
    await server.finish()
    expect(await readAll(client)).toEqual(Buffer.from('answer after EOF'))
  })

  it('carries a reset as a reset', async () => {
    pair = await quicPair()
    const client = await pair.client.openStream()
    await client.write(Buffer.from('partial'))
    const server = await pair.server.acceptStream()
    expect(await server.readExactly(7)).toEqual(Buffer.from('partial'))
    client.reset()
    await expect(server.read()).rejects.toMatchObject({ code: 'STREAM_RESET' })
  })

  it('moves a large payload intact with reads sized to the load', async () => {
    pair = await quicPair()
    serveEcho(pair)
    const stream = await pair.client.openStream()
    const payload = Buffer.alloc(8 * 1024 * 1024, 7)
    const [echoed] = await Promise.all([readAll(stream), stream.write(payload).then(() => stream.finish())])
    expect(echoed.equals(payload)).toBe(true)
  })

  it('runs 1000 concurrent streams on one connection', async () => {
    pair = await quicPair()
    serveEcho(pair)
    const streams = await Promise.all(Array.from({ length: 1000 }, () => pair!.client.openStream()))
    const echoes = await Promise.all(
      streams.map(async (stream, i) => {
        const payload = Buffer.from(`stream ${i}`)
        await stream.write(payload)
        await stream.finish()
        return (await readAll(stream)).toString()
      }),
    )
    expect(echoes).toEqual(streams.map((_, i) => `stream ${i}`))
  })

  it('queues a burst past the stream limit instead of failing, and opens more after', async () => {
    pair = await quicPair({ maxConcurrentStreams: 10 })
    serveEcho(pair)
    const run = async (i: number): Promise<string> => {
      const stream = await pair!.client.openStream()
      await stream.write(Buffer.from(`burst ${i}`))
      await stream.finish()
      return (await readAll(stream)).toString()
    }
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => run(i)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(30)
    expect(await Promise.all([0, 1, 2, 3, 4].map((i) => run(100 + i)))).toEqual([100, 101, 102, 103, 104].map((i) => `burst ${i}`))
  })

  it('returns a stream\'s credit after a reset during a flow-controlled write', async () => {
    // One stream allowed, and a window far smaller than the write: the write blocks on flow control.
    pair = await quicPair({ maxConcurrentStreams: 1, maxStreamData: 64 * 1024, maxConnectionData: 256 * 1024 })
    const blocked = await pair.client.openStream()
    const stuckWrite = blocked.write(Buffer.alloc(4 * 1024 * 1024))
    stuckWrite.catch(() => undefined)
    const server = await pair.server.acceptStream()
    expect((await server.readUpTo(1024))?.length).toBeGreaterThan(0)
    // The receiver abandons the stream; that unblocks the writer, whose reset then goes out.
    server.reset()
    await expect(stuckWrite).rejects.toBeInstanceOf(HiveError)
    blocked.reset()
    // With the only stream slot given back, a new stream opens and works end to end.
    serveEcho(pair)
    const fresh = await pair.client.openStream()
    await fresh.write(Buffer.from('after reset'))
    await fresh.finish()
    expect((await readAll(fresh)).toString()).toBe('after reset')
  })

  it('tells that a connection the other side closed is closed, as the UDX link does', async () => {
    pair = await quicPair()
    expect(pair.client.isClosed).toBe(false)
    pair.server.close()
    await pair.client.closed
    expect(pair.client.isClosed).toBe(true)
    await expect(pair.client.acceptStream()).rejects.toMatchObject({ code: 'CONNECTION_LOST' })
  })

  it('refuses a hub whose key differs from the pin before any stream opens', async () => {
    const impostor = await ephemeralIdentity()
    const pinned = await ephemeralIdentity()
    const listener = await QuicListener.bind(impostor, '127.0.0.1', 0)
    const dialer = await QuicDialer.create(await ephemeralIdentity())
    try {
      const ticket = decodeTicket(
        encodeTicket({ version: 1, name: 'hub', alpn: 'HIVEMIND/1.0.0', publicKey: pinned.publicKey, token: pinned.token, addresses: [`127.0.0.1:${listener.port}`] }),
      )
      const accepted = listener.accept()
      await expect(dialHub({ quic: dialer }, ticket, 5000, pino({ level: 'silent' }))).rejects.toMatchObject({ code: 'IDENTITY_MISMATCH', message: expect.stringContaining('hub identity mismatch') })
      // The impostor saw a connection but never a stream: it was closed first.
      const connection = await accepted
      await expect(connection.acceptStream()).rejects.toMatchObject({ code: 'CONNECTION_LOST' })
    } finally {
      dialer.close()
      listener.close()
    }
  })

  it('enforces the dial deadline in JavaScript', async () => {
    const dialer = await QuicDialer.create(await ephemeralIdentity())
    try {
      const started = Date.now()
      await expect(dialer.dial('127.0.0.1', 4, 9, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' })
      expect(Date.now() - started).toBeLessThan(3000)
    } finally {
      dialer.close()
    }
  })
})
