import { describe, expect, it } from 'vitest'
import { RECONNECT, jittered } from '../../src/peer/reconnect-policy.js'
import { nextDelay } from '../../src/retry.js'

describe('reconnect policy', () => {
  it('waits 0.5 s, doubling up to 15 s, and stays there', () => {
    const waits: number[] = []
    for (let delay = RECONNECT.initialMs, i = 0; i < 10; i++, delay = nextDelay(RECONNECT, delay)) waits.push(delay)
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000, 15000])
  })

  it('jitters each wait by at most a fifth either way, so the peers of a restarted hub spread out', () => {
    expect(jittered(10_000, 0)).toBe(8_000)
    expect(jittered(10_000, 0.5)).toBe(10_000)
    expect(jittered(10_000, 0.999999)).toBe(12_000)
    const spread = new Set(Array.from({ length: 50 }, () => jittered(15_000)))
    expect(spread.size).toBeGreaterThan(10)
    for (const wait of spread) expect(wait).toBeGreaterThanOrEqual(12_000)
  })
})
