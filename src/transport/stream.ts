import { HiveError, errorMessage } from '../errors.js'
import type { ByteStream } from '../link/types.js'
import type { NativeStream } from './native.js'
import { MAX_READ_BYTES, MIN_READ_BYTES } from './options.js'
import { readExactly } from '../link/read-exactly.js'

/**
 * Native errors all carry `code: 'Unknown'`; the message is the only thing that tells a
 * reset from a lost connection, so it is classified here and nowhere else.
 */
export function classifyStreamError(err: unknown): HiveError {
  if (err instanceof HiveError) return err
  const message = errorMessage(err)
  if (/reset by peer/i.test(message)) return new HiveError('STREAM_RESET', 'stream reset by the other side', {}, { cause: err })
  if (/stopped by peer/i.test(message)) return new HiveError('STREAM_STOPPED', 'the other side stopped reading', {}, { cause: err })
  return new HiveError('CONNECTION_LOST', `connection lost (${message})`, {}, { cause: err })
}

/**
 * One bidirectional QUIC stream, reading and writing Buffers.
 *
 * The native layer serialises operations on a stream: a write blocked by flow control also
 * blocks finish and reset. So finish and reset are chained after the pending write and
 * never awaited by callers that must not hang; the stuck write resolves or rejects once the
 * other side stops reading or the connection goes away.
 */
export class QuicStream implements ByteStream {
  private readSize = MIN_READ_BYTES
  private pendingWrite: Promise<unknown> = Promise.resolve()
  private writeClosed = false
  private readClosed = false

  readonly id: number

  /** Built right after the stream is opened or accepted, before any write could hold its lock. */
  constructor(private readonly native: NativeStream) {
    let id = -1
    try {
      id = Number(native.id())
    } catch {
      // Only a pending write makes id() fail, and a new stream has none.
    }
    this.id = id
  }

  /** The next chunk, or null at FIN. Read size grows under bulk load and shrinks when idle. */
  async read(): Promise<Buffer | null> {
    const size = this.readSize
    const chunk = await this.readUpTo(size)
    if (chunk === null) return null
    if (chunk.length === size) this.readSize = Math.min(size * 2, MAX_READ_BYTES)
    else if (chunk.length < size / 4) this.readSize = Math.max(size / 2, MIN_READ_BYTES)
    return chunk
  }

  async readUpTo(maxBytes: number): Promise<Buffer | null> {
    try {
      const chunk = await this.native.read(maxBytes)
      if (chunk === null) {
        this.readClosed = true
        return null
      }
      return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    } catch (err) {
      this.readClosed = true
      throw classifyStreamError(err)
    }
  }

  /** Reads exactly `length` bytes; returns fewer only if the stream ends first. */
  readExactly(length: number): Promise<Buffer> {
    return readExactly(this, length)
  }

  /**
   * Resolves once quinn has taken the whole buffer, which is what gives backpressure. Each
   * write waits for the one before: the native calls run on a thread pool, and two in flight
   * at once (a pong racing a pong on the control stream) can reach quinn in either order.
   */
  write(data: Buffer): Promise<void> {
    const done = this.pendingWrite.then(() => this.native.write(data)).catch((err: unknown) => {
      throw classifyStreamError(err)
    })
    this.pendingWrite = done.catch(() => undefined)
    return done
  }

  /** Sends FIN after any pending write. */
  finish(): Promise<void> {
    if (this.writeClosed) return Promise.resolve()
    this.writeClosed = true
    return this.pendingWrite.then(() => this.native.finishWrite()).catch(() => undefined)
  }

  /** Abandons both directions: RESET_STREAM for our sending side, STOP_SENDING for theirs. */
  reset(): void {
    if (!this.readClosed) {
      this.readClosed = true
      this.native.stopRead().catch(() => undefined)
    }
    if (!this.writeClosed) {
      this.writeClosed = true
      void this.pendingWrite.then(() => this.native.resetWrite()).catch(() => undefined)
    }
  }

  /** Stops receiving without touching the sending side (used once we no longer want data). */
  stopReading(): void {
    if (this.readClosed) return
    this.readClosed = true
    this.native.stopRead().catch(() => undefined)
  }
}
