/**
 * How long the hub waits before it shows a new join code after exchanges that failed in a
 * row (a wrong code, junk in the mailbox, a crowded nameplate): plain data.
 *
 * The wait doubles for a few steps, then jumps to the maximum. So a guesser gets at most six
 * tries in the first 30 s and one per 10 minutes after that: with 2 words (65,536 codes) it
 * needs about 227 days on average, with 3 words about 300 years. A join by code resets it.
 */
export interface CodeBackoff {
  initialMs: number
  factor: number
  /** Doublings before the wait jumps to the maximum. */
  steps: number
  maxMs: number
}

export const CODE_BACKOFF: Readonly<CodeBackoff> = { initialMs: 1_000, factor: 2, steps: 5, maxMs: 600_000 }

/** The wait after `failures` failed exchanges in a row (1 or more). */
export function codeBackoffMs(failures: number, policy: CodeBackoff = CODE_BACKOFF): number {
  if (failures <= 0) return 0
  if (failures > policy.steps) return policy.maxMs
  return Math.min(policy.initialMs * policy.factor ** (failures - 1), policy.maxMs)
}
