/**
 * Keeps the peer's open data streams within the hub's limit, first come first served.
 *
 * Without it a connection past the limit would wait inside QUIC for stream credit, and quinn
 * hands credit back in batches (src/protocol/stream-limit.ts): the last few waiters could
 * wait forever. Here a waiter goes as soon as one of our own streams has closed.
 */
export class StreamSlots {
  private used = 0
  private readonly waiting: Array<() => void> = []

  /** `limit` undefined: the hub set none (version 1), so QUIC alone decides. */
  constructor(private readonly limit: number | undefined) {}

  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.limit === undefined || this.used < this.limit) {
      this.used++
      return Promise.resolve(this.releaser())
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', abort)
        this.used++
        resolve(this.releaser())
      }
      const abort = (): void => {
        const at = this.waiting.indexOf(grant)
        if (at >= 0) this.waiting.splice(at, 1)
        reject(signal!.reason)
      }
      if (signal?.aborted) return abort()
      signal?.addEventListener('abort', abort, { once: true })
      this.waiting.push(grant)
    })
  }

  get inUse(): number {
    return this.used
  }

  get queued(): number {
    return this.waiting.length
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      this.used--
      this.waiting.shift()?.()
    }
  }
}
