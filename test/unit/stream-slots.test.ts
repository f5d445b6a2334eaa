import { describe, expect, it } from 'vitest'
import { quicStreamLimit } from '../../src/protocol/stream-limit.js'
import { StreamSlots } from '../../src/peer/stream-slots.js'

describe('quicStreamLimit', () => {
  it('leaves N data streams, the control stream and the spare usable while quinn holds back up to an eighth of its limit', () => {
    const short: number[] = []
    for (let n = 1; n <= 100_000; n++) {
      const limit = quicStreamLimit(n)
      if (limit - Math.floor(limit / 8) < n + 2) short.push(n)
    }
    expect(short).toEqual([])
    expect(quicStreamLimit(1024)).toBeLessThan(1024 * 1.2)
  })
})

describe('StreamSlots', () => {
  it('grants up to the limit at once, then in arrival order as slots are released', async () => {
    const slots = new StreamSlots(2)
    const a = await slots.acquire()
    const b = await slots.acquire()
    const order: string[] = []
    const c = slots.acquire().then((r) => (order.push('c'), r))
    const d = slots.acquire().then((r) => (order.push('d'), r))
    await new Promise((r) => setTimeout(r, 10))
    expect(order).toEqual([])
    expect(slots.queued).toBe(2)
    b()
    b() // a second release of the same slot is ignored
    const releaseC = await c
    expect(order).toEqual(['c'])
    expect(slots.inUse).toBe(2)
    a()
    await d
    expect(order).toEqual(['c', 'd'])
    releaseC()
    expect(slots.inUse).toBe(1)
  })

  it('drops a waiter whose signal aborts, without using its slot', async () => {
    const slots = new StreamSlots(1)
    const first = await slots.acquire()
    const gone = new AbortController()
    const waiting = slots.acquire(gone.signal)
    const next = slots.acquire()
    gone.abort(new Error('client left'))
    await expect(waiting).rejects.toThrow('client left')
    expect(slots.queued).toBe(1)
    first()
    await next
    expect(slots.inUse).toBe(1)
  })

  it('has no limit when the hub set none', async () => {
    const slots = new StreamSlots(undefined)
    await Promise.all(Array.from({ length: 5000 }, () => slots.acquire()))
    expect(slots.inUse).toBe(5000)
  })
})
