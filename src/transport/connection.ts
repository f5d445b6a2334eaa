import type { Link } from '../link/types.js'
import type { NativeConnection } from './native.js'
import { releaseClosedConnections } from './release.js'
import { QuicStream, classifyStreamError } from './stream.js'

/**
 * One QUIC connection with an authenticated remote: quinn has checked the libp2p TLS
 * certificate, so `remotePeerId` is the key the other side proved it holds.
 */
export class QuicConnection implements Link {
  readonly remotePeerId: string
  readonly remoteAddress: string
  readonly path = 'direct' as const
  /** Resolves when the connection is gone, for whatever reason. Never rejects. */
  readonly closed: Promise<void>
  private aborted = false
  /** Gone by the other side's close, a timeout or a loss, as the UDX link's isClosed tells too. */
  private ended = false

  constructor(private readonly native: NativeConnection) {
    const multiaddr = native.remoteMultiaddr()
    this.remotePeerId = multiaddr.split('/p2p/')[1] ?? ''
    this.remoteAddress = multiaddrToHostPort(multiaddr)
    const end = (): void => {
      this.ended = true
    }
    this.closed = native.closed().then(end, end)
  }

  get isClosed(): boolean {
    return this.aborted || this.ended
  }

  async openStream(): Promise<QuicStream> {
    try {
      return new QuicStream(await this.native.outboundStream())
    } catch (err) {
      throw classifyStreamError(err)
    }
  }

  /** The next stream the other side opens; rejects with CONNECTION_LOST when the connection ends. */
  async acceptStream(): Promise<QuicStream> {
    try {
      return new QuicStream(await this.native.inboundStream())
    } catch (err) {
      throw classifyStreamError(err)
    }
  }

  /** Closes at once. quinn always sends application code 0, so reasons travel in a bye first. */
  close(): void {
    if (this.aborted) return
    this.aborted = true
    try {
      this.native.abort()
    } catch {
      // Already closed by the other side.
    }
    releaseClosedConnections()
  }
}

/** `/ip4/1.2.3.4/udp/5/quic-v1/p2p/…` → `1.2.3.4:5` (or `[::1]:5`), for logs. */
export function multiaddrToHostPort(multiaddr: string): string {
  const m = /^\/ip([46])\/([^/]+)\/udp\/(\d+)/.exec(multiaddr)
  if (!m) return multiaddr
  return m[1] === '6' ? `[${m[2]}]:${m[3]}` : `${m[2]}:${m[3]}`
}
