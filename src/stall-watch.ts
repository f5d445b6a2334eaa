/** A gap this long between 1 ms ticks means this process stood still meanwhile. */
export const STALL_MS = 4
/** Stalls older than this are forgotten: a probe looks back a few seconds at most. */
const KEEP_MS = 10_000

/**
 * Notices when this process stands still (a busy CPU, a GC pause) by running a 1 ms ticker
 * and keeping the gaps between ticks. A message read just after such a pause may have arrived
 * any time during it, so a round trip timed across one says nothing about the network. The
 * ticker costs a little CPU, so it runs only for as long as someone asked for it.
 */
export class StallWatch {
  private tick = 0
  private timer: NodeJS.Timeout | null = null
  private until = 0
  private stalls: { from: number; to: number }[] = []

  /** Keeps watching for at least `ms` from now (performance.now() time). */
  watchFor(ms: number): void {
    const now = performance.now()
    this.until = Math.max(this.until, now + ms)
    if (this.timer) return
    this.tick = now
    this.timer = setInterval(() => this.onTick(), 1)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.until = 0
  }

  /**
   * How long this process had been standing still when something happened at `at`
   * (performance.now() time): the pause `at` fell in or just after, or the one under way now.
   * 0 when there was none, or when the watch was not running then.
   */
  pausedAt(at: number): number {
    const now = performance.now()
    if (this.timer && now - this.tick > STALL_MS && at >= this.tick) return now - this.tick
    const stall = this.stalls.findLast((s) => at >= s.from && at <= s.to + STALL_MS)
    return stall ? stall.to - stall.from : 0
  }

  private onTick(): void {
    const now = performance.now()
    if (now - this.tick > STALL_MS) {
      // Back to back with the last one (no tick on time between): one longer pause.
      const last = this.stalls.at(-1)
      if (last && last.to === this.tick) last.to = now
      else this.stalls.push({ from: this.tick, to: now })
    }
    this.tick = now
    if (this.stalls.length > 0 && this.stalls[0]!.to < now - KEEP_MS) this.stalls = this.stalls.filter((s) => s.to >= now - KEEP_MS)
    if (now > this.until) this.stop()
  }
}
