/**
 * How `--transport auto` tells a lossy link from a clean one. quinn's loss statistics do not
 * reach JS, so the peer measures from outside: right after joining over QUIC it sends a train
 * of small pings on the control stream, one every few ms so that each rides in a packet of its
 * own, and reads their round trips. A lost packet (either way) costs its ping at least one
 * more round trip, and, the control stream being ordered, the pings behind it wait too: one
 * loss shows as one episode of late answers. Plain data, shared by the peer and its tests.
 */
export interface LossProbePolicy {
  /** Wait this long after joining, so that the probe does not compete with the first requests. */
  delayMs: number
  pings: number
  spacingMs: number
  /** After the last ping, how long unanswered ones are waited for. */
  answerWaitMs: number
  /** A ping is late when it takes longer than the fastest one times this, plus `lateSlackMs`. */
  lateFactor: number
  lateSlackMs: number
  /** This many episodes or more: the link loses packets, and QUIC's Cubic will crawl on it. */
  switchAtEpisodes: number
}

/**
 * 200 pings: at 1% loss each way about 2% of them meet a loss, so about 4 episodes are
 * expected and 2 or more are seen 9 times in 10; a clean link shows none. 0.1% loss is below
 * what such a short probe can tell. A loss costs its ping about two round trips and a few ms
 * (one to notice, through later packets' ACKs, one to resend), so "late" sits below that, at
 * 1.6 round trips and 8 ms: links under about 10 ms RTT lose too little time per loss to be
 * told apart, and there Cubic recovers quickly anyway.
 */
export const LOSS_PROBE: Readonly<LossProbePolicy> = {
  delayMs: 2_000,
  pings: 200,
  spacingMs: 5,
  answerWaitMs: 3_000,
  lateFactor: 1.6,
  lateSlackMs: 8,
  switchAtEpisodes: 2,
}

/**
 * One ping's round trip in ms (null: never answered), and how long the peer's or the hub's
 * process stood still just before reading it (a busy CPU, a GC pause): at most that much of
 * the round trip may be theirs rather than the network's.
 */
export interface ProbeSample {
  rttMs: number | null
  pausedMs: number
}

export interface LossEstimate {
  pings: number
  answered: number
  /** Answers that came late, but no later than a pause of the peer's or the hub's own explains: not counted. */
  stalled: number
  /** The fastest round trip seen, in ms. */
  rttMs: number
  /** Runs of late or missing answers: each is at least one lost packet. */
  episodes: number
  /** Episodes per ping, in percent: a lower bound on the share of exchanges that met a loss. */
  lossPercent: number
  lossy: boolean
}

/**
 * Reads a probe's samples, in the order the pings were sent. An answer is late when its round
 * trip, less any pause of the processes' own around its reading, is still above the line.
 */
export function estimateLoss(samples: readonly ProbeSample[], policy: Readonly<LossProbePolicy> = LOSS_PROBE): LossEstimate {
  // A pause only ever adds to a round trip, so the fastest one is the network's.
  const timed = samples.filter((s) => s.rttMs !== null).map((s) => s.rttMs!)
  const rttMs = timed.length > 0 ? Math.min(...timed) : Infinity
  const lateAbove = rttMs * policy.lateFactor + policy.lateSlackMs
  let episodes = 0
  let stalled = 0
  let inEpisode = false
  for (const s of samples) {
    const late = s.rttMs === null || s.rttMs - s.pausedMs > lateAbove
    if (!late && s.rttMs! > lateAbove) stalled++
    if (late && !inEpisode) episodes++
    inEpisode = late
  }
  const pings = samples.length
  const lossPercent = pings === 0 ? 0 : (100 * episodes) / pings
  return { pings, answered: timed.length, stalled, rttMs, episodes, lossPercent, lossy: pings > 0 && episodes >= policy.switchAtEpisodes }
}
