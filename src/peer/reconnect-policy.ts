import type { RetryPolicy } from '../retry.js'

/**
 * How a peer that lost its hub tries again: 0.5 s, doubling to 15 s, each wait jittered. The
 * cap is what a peer may take to notice that a long outage is over, beyond the attempt itself.
 */
export const RECONNECT: RetryPolicy = { initialMs: 500, maxMs: 15_000, factor: 2 }

/** A hub that answers pings and says nothing for this long is suspected lost. */
export const SILENT_MS = 3_000

/** One reconnect attempt (dial and hello) gives up after this long, or the join's own timeout if shorter. */
export const ATTEMPT_TIMEOUT_MS = 4_000

/**
 * A wait of `delayMs` give or take a fifth, so that the peers of a restarted hub do not all
 * come back in the same instant. `random` is in [0, 1).
 */
export function jittered(delayMs: number, random: number = Math.random()): number {
  return Math.round(delayMs * (0.8 + 0.4 * random))
}

/** Errors after which trying again cannot help: the hub says this ticket is no good. */
export const FATAL_ON_RECONNECT = new Set(['TOKEN_REFUSED', 'IDENTITY_MISMATCH', 'PROTOCOL_MISMATCH', 'PROTOCOL_VIOLATION', 'PEER_REVOKED', 'NOT_TRUSTED'])
