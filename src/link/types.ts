/**
 * What hub and peer need from a path to the other side, whatever carries it. The QUIC
 * adapter (src/transport) implements these; a second path, or an in-memory link for tests,
 * implements the same, and nothing above this line changes.
 */

/** One bidirectional byte stream: one forwarded TCP connection, or the control stream. */
export interface ByteStream {
  /**
   * The stream's number, which both ends agree on: streams are numbered in the order the peer
   * opens them, the control stream being 0. Control messages name a stream by it.
   */
  readonly id: number
  /** The next chunk, or null once the other side finished. Rejects with a HiveError on reset or loss. */
  read(): Promise<Buffer | null>
  /** Like read, taking at most `maxBytes`. */
  readUpTo(maxBytes: number): Promise<Buffer | null>
  /** Exactly `length` bytes, or fewer only if the stream finishes first. */
  readExactly(length: number): Promise<Buffer>
  /** Resolves once the path has taken the whole buffer: that is the backpressure. */
  write(data: Buffer): Promise<void>
  /** Ends our sending side cleanly, after any pending write; never rejects. */
  finish(): Promise<void>
  /** Abandons both directions. Never throws and never waits. */
  reset(): void
  /** Stops receiving; the sending side is left alone. */
  stopReading(): void
}

/** An authenticated connection to the other side, carrying streams. */
export interface Link {
  /** The key the other side proved it holds, as a peer id (12D3KooW…). */
  readonly remotePeerId: string
  /** Where the other side is, for people and logs. */
  readonly remoteAddress: string
  /** How the link reaches the other side: QUIC to an address, or the DHT path's two ways. */
  readonly path: 'direct' | 'holepunched' | 'relayed'
  /** Resolves when the link is gone, for whatever reason. Never rejects. */
  readonly closed: Promise<void>
  readonly isClosed: boolean
  openStream(): Promise<ByteStream>
  /** The next stream the other side opens; rejects with CONNECTION_LOST once the link ends. */
  acceptStream(): Promise<ByteStream>
  /** Closes at once; reasons travel in a bye before this. */
  close(): void
}

/** Accepts links from the other side, on one local address. */
export interface LinkListener {
  /** The next authenticated link; rejects once the listener is closed. */
  accept(): Promise<Link>
  readonly host: string
  readonly port: number
  close(): void
}
