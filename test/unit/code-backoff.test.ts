import { describe, expect, it } from 'vitest'
import { codeBackoffMs } from '../../src/hub/code-backoff.js'

/** Tries a guesser gets: one per code shown, a code shown after each wait. */
function triesWithin(ms: number): number[] {
  const times: number[] = []
  let t = 0
  for (let failures = 1; t <= ms; failures++) {
    times.push(t)
    t += codeBackoffMs(failures)
  }
  return times
}

describe('the wait between join codes after failed exchanges', () => {
  it('doubles from 1 s, then jumps to 10 minutes', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map((n) => codeBackoffMs(n))).toEqual([0, 1000, 2000, 4000, 8000, 16000, 600_000, 600_000, 600_000])
  })

  it('gives a guesser at most 6 tries in the first 30 s, and one per 10 minutes after that', () => {
    const tries = triesWithin(24 * 3600_000)
    expect(tries.filter((t) => t < 30_000).length).toBeLessThanOrEqual(6)
    const later = tries.filter((t) => t >= 30_000)
    for (let i = 1; i < later.length; i++) expect(later[i]! - later[i - 1]!).toBeGreaterThanOrEqual(600_000)
    // About 150 tries a day at the cap: 2 words (65,536 codes) hold out about 227 days on average.
    const perDay = later.length
    expect(Math.round(65_536 / 2 / perDay)).toBeGreaterThan(200)
  })
})
