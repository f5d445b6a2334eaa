import { sleep } from '../deadline.js'
import type { Link, LinkListener } from '../link/types.js'
import { nextDelay, type RetryPolicy } from '../retry.js'

export interface AcceptorOptions {
  /** Accepts kept pending at once. */
  concurrency: number
  /** How long to wait after a failed accept before the next. */
  retry: RetryPolicy
  signal: AbortSignal
  onLink(link: Link): void
  onError(err: unknown, retryInMs: number): void
}

/**
 * Keeps several accepts pending on a listener. The QUIC layer completes the handshake inside
 * accept, so a handshake that never finishes (one junk packet is enough) holds its accept
 * until the idle timeout: with one accept at a time that would stall every other join. With
 * several, a stuck handshake costs one slot. A failed accept is reported and retried after a
 * growing pause, so a listener that keeps failing cannot spin a core.
 */
export async function runAcceptors(listener: LinkListener, options: AcceptorOptions): Promise<void> {
  const slot = async (): Promise<void> => {
    let delay = options.retry.initialMs
    while (!options.signal.aborted) {
      let link: Link
      try {
        link = await listener.accept()
      } catch (err) {
        if (options.signal.aborted) return
        options.onError(err, delay)
        await sleep(delay, options.signal)
        delay = nextDelay(options.retry, delay)
        continue
      }
      delay = options.retry.initialMs
      if (options.signal.aborted) return link.close()
      options.onLink(link)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, slot))
}
