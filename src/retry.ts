/** How a loop that retries waits between tries: plain data, shared by every loop that retries. */
export interface RetryPolicy {
  initialMs: number
  maxMs: number
  factor: number
}

/** The wait after `delayMs`: multiplied by the factor, capped at the maximum. */
export function nextDelay(policy: RetryPolicy, delayMs: number): number {
  return Math.min(delayMs * policy.factor, policy.maxMs)
}
