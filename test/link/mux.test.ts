import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FrameType, encodeFrame } from '../../src/link/mux/frames.js'
import { MuxLink, type MuxOptions } from '../../src/link/mux/mux-link.js'
import type { MuxStream } from '../../src/link/mux/mux-stream.js'

/** A real TCP connection on loopback, split into the two ends a mux runs over. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r))
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await new Promise((r) => client.once('connect', r))
  const other = await accepted
  server.close()
  return [client, other]
}

const links: MuxLink[] = []
afterEach(() => {
  for (const link of links.splice(0)) link.close()
})

async function linkPair(options: Partial<MuxOptions> = {}): Promise<{ client: MuxLink; server: MuxLink; raw: net.Socket }> {
  const [a, b] = await socketPair()
  const client = new MuxLink(a, { role: 'client', remotePeerId: 'hub', remoteAddress: 'x', ...options })
  const server = new MuxLink(b, { role: 'server', remotePeerId: 'peer', remoteAddress: 'y', ...options })
  links.push(client, server)
  return { client, server, raw: a }
}

async function readAll(stream: MuxStream): Promise<Buffer> {
  const parts: Buffer[] = []
  for (;;) {
    const chunk = await stream.read()
    if (chunk === null) return Buffer.concat(parts)
    parts.push(chunk)
  }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('MuxLink', () => {
  it('carries streams both ways, numbered in the order the client opens them, each with its own FIN', async () => {
    const { client, server } = await linkPair()
    const a = await client.openStream()
    const b = await client.openStream()
    expect([a.id, b.id]).toEqual([0, 1])
    await a.write(Buffer.from('to a'))
    await b.write(Buffer.from('to b'))
    const first = await server.acceptStream()
    const second = await server.acceptStream()
    expect([first.id, second.id]).toEqual([0, 1])
    expect((await first.readExactly(4)).toString()).toBe('to a')
    await first.write(Buffer.from('from a'))
    await first.finish()
    await a.finish()
    expect((await readAll(a)).toString()).toBe('from a')
    expect(await first.read()).toBeNull()
    expect((await second.readExactly(4)).toString()).toBe('to b')
  })

  it('moves 32 MiB intact in each direction at once', async () => {
    const { client, server } = await linkPair()
    const up = randomBytes(32 * 1024 * 1024)
    const down = randomBytes(32 * 1024 * 1024)
    const stream = await client.openStream()
    const sending = stream.write(up).then(() => stream.finish())
    const remote = await server.acceptStream()
    const [got, , gotDown] = await Promise.all([readAll(remote), sending, readAll(stream), remote.write(down).then(() => remote.finish())])
    expect(sha(got)).toBe(sha(up))
    expect(sha(gotDown)).toBe(sha(down))
  }, 60_000)

  it('a stream nobody reads holds one window and stalls no other stream', async () => {
    const window = 256 * 1024
    const { client, server } = await linkPair({ streamWindow: window })
    const stuck = await client.openStream()
    let written = 0
    const big = Buffer.alloc(16 * 1024)
    const writer = (async () => {
      for (;;) {
        await stuck.write(big)
        written += big.length
      }
    })()
    writer.catch(() => undefined)
    await server.acceptStream() // accepted, never read
    await new Promise((r) => setTimeout(r, 300))
    expect(written).toBeLessThanOrEqual(window)
    expect(written).toBeGreaterThan(window / 2)
    const other = await client.openStream()
    const payload = randomBytes(4 * 1024 * 1024)
    const sending = other.write(payload).then(() => other.finish())
    const remote = await server.acceptStream()
    expect(sha(await readAll(remote))).toBe(sha(payload))
    await sending
    expect(written).toBeLessThanOrEqual(window)
  })

  it('a reset reaches the other side as a failed read and a failed write, and other streams go on', async () => {
    const { client, server } = await linkPair()
    const s = await client.openStream()
    const keep = await client.openStream()
    await s.write(Buffer.from('x'))
    await keep.write(Buffer.from('k'))
    const remote = await server.acceptStream()
    const kept = await server.acceptStream()
    await remote.readExactly(1)
    const reading = remote.read()
    s.reset()
    await expect(reading).rejects.toMatchObject({ code: 'STREAM_RESET' })
    await expect(remote.write(Buffer.from('late'))).rejects.toMatchObject({ code: 'STREAM_STOPPED' })
    await kept.write(Buffer.from('still here'))
    expect((await keep.readExactly(10)).toString()).toBe('still here')
  })

  it('stopReading makes the writer fail instead of filling a window nobody reads', async () => {
    const { client, server } = await linkPair({ streamWindow: 64 * 1024 })
    const s = await client.openStream()
    await s.write(Buffer.from('hello'))
    const remote = await server.acceptStream()
    remote.stopReading()
    const writing = (async () => {
      for (;;) await s.write(Buffer.alloc(16 * 1024))
    })()
    await expect(writing).rejects.toMatchObject({ code: 'STREAM_STOPPED' })
  })

  it('a lost link fails pending reads, writes and accepts with CONNECTION_LOST', async () => {
    const { client, server, raw } = await linkPair()
    const s = await client.openStream()
    await s.write(Buffer.from('x'))
    const remote = await server.acceptStream()
    const reading = remote.read()
    await remote.readExactly(0)
    const accepting = server.acceptStream()
    raw.destroy()
    await expect(accepting).rejects.toMatchObject({ code: 'CONNECTION_LOST' })
    await server.closed
    expect(server.isClosed).toBe(true)
    await expect(reading.then(() => remote.read())).rejects.toMatchObject({ code: 'CONNECTION_LOST' })
  })
})

describe('MuxLink against a hostile client', () => {
  let raw: net.Socket
  async function hostile(frames: Buffer[], options: Partial<MuxOptions> = {}): Promise<MuxLink> {
    const [a, b] = await socketPair()
    raw = a
    a.on('error', () => undefined)
    const server = new MuxLink(b, { role: 'server', remotePeerId: 'peer', remoteAddress: 'y', ...options })
    links.push(server)
    for (const f of frames) a.write(f)
    return server
  }

  it.each([
    ['an unknown frame type', [Buffer.from([9, 0, 0, 0, 0, 0, 0, 0, 0])], 'unknown frame type'],
    ['a data frame longer than 64 KiB', [Buffer.from([0, 0, 0, 0, 0, 0, 0x10, 0, 1])], 'data frame'],
    ['more data than a stream window', [encodeFrame(FrameType.DATA, 0, 0, Buffer.alloc(40_000)), encodeFrame(FrameType.DATA, 0, 0, Buffer.alloc(40_000))], "window allows"],
    ['a stream number far ahead', [encodeFrame(FrameType.DATA, 1_000_000, 0, Buffer.alloc(1))], 'skips too far'],
    ['more streams than allowed', [0, 1, 2, 3].map((i) => encodeFrame(FrameType.DATA, i, 0, Buffer.alloc(1))), 'streams open at once'],
  ])('closes the link on %s, with PROTOCOL_VIOLATION', async (_label, frames, message) => {
    const server = await hostile(frames, { streamWindow: 64 * 1024, maxRemoteStreams: 3 })
    await server.closed
    expect(server.failure).toMatchObject({ code: 'PROTOCOL_VIOLATION' })
    expect(server.failure!.message).toContain(message)
  })

  it('ignores late frames for a stream it already closed, without reopening it', async () => {
    const server = await hostile([encodeFrame(FrameType.DATA, 0, 0, Buffer.from('hi')), encodeFrame(FrameType.FIN, 0, 0)])
    const s = await server.acceptStream()
    expect((await readAll(s)).toString()).toBe('hi')
    await s.finish()
    raw.write(Buffer.concat([encodeFrame(FrameType.DATA, 0, 0, Buffer.from('late')), encodeFrame(FrameType.FIN, 0, 0), encodeFrame(FrameType.DATA, 1, 0, Buffer.from('next'))]))
    const next = await server.acceptStream()
    expect(next.id).toBe(1)
    expect((await next.readExactly(4)).toString()).toBe('next')
    const accepting = server.acceptStream()
    let accepted = false
    accepting.then(() => (accepted = true), () => undefined)
    await new Promise((r) => setTimeout(r, 100))
    expect(accepted).toBe(false)
  })
})
