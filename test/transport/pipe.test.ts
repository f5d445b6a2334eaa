import type { Server, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { pipe } from '../../src/link/pipe.js'
import type { QuicStream } from '../../src/transport/index.js'
import { readToEnd, socketOutcome, socketPair as loopbackPair } from '../helpers/clients.js'
import { quicPair, type QuicPair } from '../helpers/quic-pair.js'

let pair: QuicPair | undefined
let server: Server | undefined
afterEach(() => {
  pair?.close()
  server?.close()
  pair = server = undefined
})

/** A client and the peer-side socket it connected to; the listener is closed after the test. */
async function socketPair(): Promise<{ client: Socket; accepted: Socket }> {
  const pair = await loopbackPair()
  server = pair.server
  return pair
}

async function readAll(stream: QuicStream): Promise<Buffer> {
  const parts: Buffer[] = []
  for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) parts.push(chunk)
  return Buffer.concat(parts)
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10))
  if (!condition()) throw new Error(`timed out waiting for ${what}`)
}

describe('pipe with a ready gate (real quinn, real sockets)', () => {
  it('reads the client early but leaves the stream alone until ready, then carries data and FIN', async () => {
    pair = await quicPair()
    const { client, accepted } = await socketPair()
    const stream = await pair.client.openStream()
    // The caller's own read of the answer byte: the pipe must not take it.
    const answer = stream.readExactly(1)
    await stream.write(Buffer.from('H'))
    const ready = answer.then((byte) => expect(byte).toEqual(Buffer.from([0xff])))
    const piped = pipe(accepted, stream, { ready })
    const reply = readToEnd(client)
    client.end('sent before the answer')

    const remote = await pair.server.acceptStream()
    expect((await remote.readExactly(1)).toString()).toBe('H')
    let answered = false
    const early: Buffer[] = []
    const rest = (async () => {
      const parts: Buffer[] = []
      for (let chunk = await remote.read(); chunk !== null; chunk = await remote.read()) {
        if (!answered) early.push(chunk)
        parts.push(chunk)
      }
      return Buffer.concat(parts)
    })()
    await until(() => accepted.bytesRead === 22, 'the pipe to read the client before the answer')
    // Time for an eager pipe to send what it read; nothing may arrive before the answer.
    await new Promise((r) => setTimeout(r, 50))
    answered = true
    await remote.write(Buffer.from([0xff]))
    expect((await rest).toString()).toBe('sent before the answer')
    expect(early).toEqual([])
    await remote.write(Buffer.from('reply'))
    await remote.finish()

    expect((await reply).toString()).toBe('reply')
    expect(await piped).toMatchObject({ sent: 22, received: 5, outcome: 'clean' })
  })

  it('resets both sides when ready rejects', async () => {
    pair = await quicPair()
    const { client, accepted } = await socketPair()
    const stream = await pair.client.openStream()
    await stream.write(Buffer.from('H'))
    let refuse!: (err: Error) => void
    const ready = new Promise<void>((_resolve, reject) => (refuse = reject))
    const piped = pipe(accepted, stream, { ready })
    const outcome = socketOutcome(client)
    client.write('never forwarded')

    const remote = await pair.server.acceptStream()
    expect((await remote.readExactly(1)).toString()).toBe('H')
    refuse(new Error('the hub refused'))
    expect((await outcome).outcome).toBe('reset')
    expect(await piped).toMatchObject({ sent: 0, outcome: 'reset' })
    await expect(readAll(remote)).rejects.toMatchObject({ code: 'STREAM_RESET' })
  })

  it('lets go of the socket when the stream never reached the other side, and a second pipe carries on from there', async () => {
    pair = await quicPair()
    const { client, accepted } = await socketPair()
    const first = await pair.client.openStream()
    await first.write(Buffer.from('H'))
    let lose!: (err: Error) => void
    const lost = new Error('the link went')
    const ready = new Promise<void>((_resolve, reject) => (lose = reject))
    const piped = pipe(accepted, first, { ready, unsentOn: (err) => err === lost })
    const reply = readToEnd(client)
    client.end('read before the link went, ')
    // The bytes and the FIN both, so that the carry has both to show.
    await until(() => accepted.bytesRead === 27 && accepted.readableEnded, 'the pipe to read the client to its end')
    lose(lost)
    const result = await piped
    expect(result).toMatchObject({ sent: 0, received: 0, outcome: 'unsent' })
    // The client's bytes and its FIN are held, not lost, and the client was neither reset nor ended.
    expect(Buffer.concat(result.carry!.chunks).toString()).toBe('read before the link went, ')
    expect(result.carry!.ended).toBe(true)
    expect(accepted.destroyed).toBe(false)

    // The abandoned stream is reset (a hub that half-saw it drops it), and carried no client byte.
    const firstRemote = await pair.server.acceptStream()
    await expect(readAll(firstRemote)).rejects.toMatchObject({ code: 'STREAM_RESET' })

    const second = await pair.client.openStream()
    const again = pipe(accepted, second, { carry: result.carry })
    const secondRemote = await pair.server.acceptStream()
    expect((await readAll(secondRemote)).toString()).toBe('read before the link went, ')
    await secondRemote.write(Buffer.from('ok'))
    await secondRemote.finish()
    expect((await reply).toString()).toBe('ok')
    expect(await again).toMatchObject({ sent: 27, received: 2, outcome: 'clean' })
  })

  it('sends the first bytes before ready when asked (one round trip), but reads nothing before it, and says so if the link goes', async () => {
    pair = await quicPair()
    const { client, accepted } = await socketPair()
    const stream = await pair.client.openStream()
    await stream.write(Buffer.from('H'))
    let lose!: (err: Error) => void
    const lost = new Error('the link went')
    const ready = new Promise<void>((_resolve, reject) => (lose = reject))
    const piped = pipe(accepted, stream, { ready, sendEarly: 1024, unsentOn: (err) => err === lost })
    client.write('GET / HTTP/1.1\r\n\r\n')
    const remote = await pair.server.acceptStream()
    // The request arrives behind the header while the answer is still pending.
    expect((await remote.readExactly(1 + 18)).toString()).toBe('HGET / HTTP/1.1\r\n\r\n')
    lose(lost)
    const result = await piped
    expect(result).toMatchObject({ outcome: 'unsent', carry: { sentEarly: true, ended: false } })
    expect(Buffer.concat(result.carry!.chunks).toString()).toBe('GET / HTTP/1.1\r\n\r\n')
    client.destroy()
  })
})
