import type { ByteStream, Link } from '../link/types.js'

/**
 * Keeps one stream opened ahead of need, so a new local connection starts its header
 * write at once instead of waiting a round trip to quinn's thread for a stream.
 *
 * Opening a stream sends nothing; the hub learns of it with its first byte. But QUIC opens
 * streams in id order: if a later stream carried data while an earlier one sat unused,
 * the hub would accept the unused one first and wait for a header that never comes. So
 * each open starts only after the previous one resolved, and streams are handed out in
 * that order: the spare is always the highest id, and every lower id is in use.
 */
export class SpareStream {
  private next: Promise<ByteStream> | undefined

  constructor(private readonly connection: Link) {}

  /** Opens the first spare; call once the control stream is open, so it keeps the lowest id. */
  prime(): void {
    this.next ??= this.open(Promise.resolve())
  }

  /** The spare, or a stream opening behind it; another spare starts opening behind this one. */
  take(): Promise<ByteStream> {
    const stream = this.next ?? this.open(Promise.resolve())
    this.next = this.open(stream)
    return stream
  }

  private open(after: Promise<unknown>): Promise<ByteStream> {
    const opened = after.then(
      () => this.connection.openStream(),
      () => this.connection.openStream(),
    )
    // Nobody may ever take the last spare (the peer leaves first): that is not an error.
    opened.catch(() => undefined)
    return opened
  }
}
