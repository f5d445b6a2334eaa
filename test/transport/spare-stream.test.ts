import { afterEach, describe, expect, it } from 'vitest'
import { SpareStream } from '../../src/peer/spare-stream.js'
import { quicPair, type QuicPair } from '../helpers/quic-pair.js'

let pair: QuicPair | undefined
afterEach(() => {
  pair?.close()
  pair = undefined
})

/**
 * The other side accepts streams in id order. A stream handed out of order, or a spare
 * skipped, would show up here as an accepted stream whose first byte is not the next one.
 */
async function acceptFirstBytes(p: QuicPair, count: number): Promise<number[]> {
  const bytes: number[] = []
  for (let i = 0; i < count; i++) {
    const stream = await p.server.acceptStream()
    bytes.push((await stream.readExactly(1))[0]!)
  }
  return bytes
}

describe('SpareStream (real quinn)', () => {
  it('hands out streams in id order even when taken at once and written in reverse', async () => {
    pair = await quicPair()
    const spare = new SpareStream(pair.client)
    spare.prime()
    const streams = await Promise.all(Array.from({ length: 8 }, () => spare.take()))
    for (let i = streams.length - 1; i >= 0; i--) await streams[i]!.write(Buffer.from([i]))
    expect(await acceptFirstBytes(pair, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('keeps the unused spare invisible: the next stream used is the next one accepted', async () => {
    pair = await quicPair()
    const spare = new SpareStream(pair.client)
    spare.prime()
    const first = await spare.take()
    await first.write(Buffer.from([1]))
    expect(await acceptFirstBytes(pair, 1)).toEqual([1])
    // A spare is opened behind each stream taken; it must stay unseen until it is taken.
    const second = await spare.take()
    await second.write(Buffer.from([2]))
    expect(await acceptFirstBytes(pair, 1)).toEqual([2])
  })

  it('passes a lost connection on to whoever takes the next stream', async () => {
    pair = await quicPair()
    const spare = new SpareStream(pair.client)
    pair.client.close()
    await expect(spare.take()).rejects.toMatchObject({ code: 'CONNECTION_LOST' })
  })
})
