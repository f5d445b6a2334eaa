import { describe, expect, it } from 'vitest'
import { LOSS_PROBE, estimateLoss, type ProbeSample } from '../../src/peer/loss-probe.js'

const samples = (rtts: (number | null)[]): ProbeSample[] => rtts.map((rttMs) => ({ rttMs, pausedMs: 0 }))

/** 200 round trips of `base` ms with jitter, and a late run of `runLength` at each index in `losses`. */
function train(base: number, losses: number[], runLength = 8, jitter = 0.2): (number | null)[] {
  const rtts: (number | null)[] = Array.from({ length: 200 }, (_, i) => base * (1 + jitter * ((i * 7919) % 10) / 10))
  // A lost packet costs about one more round trip plus the three packets loss detection waits for.
  for (const at of losses) for (let i = at; i < at + runLength && i < 200; i++) rtts[i] = base * 2 + 15
  return rtts
}

describe('estimateLoss', () => {
  it('sees no loss on a clean link, jitter or not', () => {
    for (const base of [0.3, 5, 40, 150]) {
      const e = estimateLoss(samples(train(base, [])))
      expect(e.episodes).toBe(0)
      expect(e.lossy).toBe(false)
      expect(e.rttMs).toBeCloseTo(base, 5)
    }
  })

  it('counts a run of late answers behind one loss as one episode', () => {
    const e = estimateLoss(samples(train(40, [50])))
    expect(e.episodes).toBe(1)
    expect(e.lossy).toBe(false)
  })

  it('calls a link lossy from the policy’s count of episodes on, at short and long round trips', () => {
    for (const base of [1, 40, 150]) {
      expect(estimateLoss(samples(train(base, [20, 90]))).lossy).toBe(true)
      expect(estimateLoss(samples(train(base, [10, 60, 110, 160]))).lossPercent).toBe(2)
    }
    expect(LOSS_PROBE.switchAtEpisodes).toBe(2)
  })

  it('takes unanswered pings as late, and an empty probe as no evidence', () => {
    const rtts = train(40, [])
    rtts[10] = null
    rtts[100] = null
    expect(estimateLoss(samples(rtts))).toMatchObject({ answered: 198, episodes: 2, lossy: true })
    expect(estimateLoss([])).toMatchObject({ pings: 0, episodes: 0, lossy: false })
  })

  it('does not count an answer late by no more than a pause of the peer or the hub around it', () => {
    const probe = samples(train(40, []))
    for (const at of [30, 31, 32, 120, 121]) probe[at] = { rttMs: 400, pausedMs: 370 }
    expect(estimateLoss(probe)).toMatchObject({ episodes: 0, stalled: 5, lossy: false })
    expect(estimateLoss(probe).rttMs).toBeCloseTo(40, 5)
  })

  it('still counts a loss that a short pause does not explain', () => {
    const probe = samples(train(40, [30, 120]))
    // A 5 ms pause, common on a busy machine, beside each loss's late run.
    probe[30] = { rttMs: probe[30]!.rttMs, pausedMs: 5 }
    probe[121] = { rttMs: probe[121]!.rttMs, pausedMs: 5 }
    expect(estimateLoss(probe)).toMatchObject({ episodes: 2, stalled: 0, lossy: true })
  })
})
