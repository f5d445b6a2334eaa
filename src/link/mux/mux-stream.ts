import { HiveError } from '../../errors.js'
import type { ByteStream } from '../types.js'
import { FrameType, MAX_DATA_BYTES, type FrameTypeCode } from './frames.js'
import { readExactly } from '../read-exactly.js'

/** What a stream needs from its link: sending frames, and the link-wide send window. */
export interface MuxLinkSide {
  /** Queues a frame; resolves once the underlying stream took it (its backpressure). */
  send(type: FrameTypeCode, stream: number, value: number, data?: Buffer): Promise<void>
  /** Waits for `wanted` bytes of link-wide window at most; resolves with how many were granted. */
  takeLinkWindow(wanted: number, stream: MuxStream): Promise<number>
  /** Returns window taken for a write that then failed. */
  giveBackLinkWindow(bytes: number): void
  /** Our reader consumed (or dropped) bytes: the sender may send that many more on the link. */
  consumed(bytes: number): void
  /** Both directions are done: the link forgets the stream. */
  forget(stream: MuxStream): void
  /** Why the link ended, once it has. */
  readonly failure: HiveError | null
}

type Waiter = { resolve: () => void; reject: (err: HiveError) => void }

/**
 * One multiplexed stream with its own flow control: the other side sends only as much as this
 * side has granted, so a reader that stops holds at most one window and never stalls others.
 */
export class MuxStream implements ByteStream {
  private readonly chunks: Buffer[] = []
  private buffered = 0
  private finReceived = false
  private readError: HiveError | null = null
  private readClosed = false
  private ungranted = 0
  private reader: Waiter | null = null

  private sendWindow: number
  private writeClosed = false
  private writeError: HiveError | null = null
  private windowWaiter: Waiter | null = null
  private pendingWrite: Promise<unknown> = Promise.resolve()

  constructor(
    readonly id: number,
    private readonly link: MuxLinkSide,
    private readonly window: number,
  ) {
    this.sendWindow = window
  }

  // ---- receiving (called by the link) ----

  /** DATA from the other side; false if it sent more than it was granted (a protocol violation). */
  onData(data: Buffer): boolean {
    if (this.readClosed || this.readError || this.finReceived) {
      this.link.consumed(data.length)
      return !this.finReceived
    }
    // What the other side may have sent beyond what we granted back: one window, no more.
    if (this.buffered + this.ungranted + data.length > this.window) return false
    this.chunks.push(data)
    this.buffered += data.length
    this.wakeReader()
    return true
  }

  onFin(): void {
    this.finReceived = true
    this.wakeReader()
    this.maybeForget()
  }

  onReset(): void {
    this.failRead(new HiveError('STREAM_RESET', 'stream reset by the other side'))
    this.failWrite(new HiveError('STREAM_STOPPED', 'the other side stopped reading'))
    this.maybeForget()
  }

  onStop(): void {
    this.failWrite(new HiveError('STREAM_STOPPED', 'the other side stopped reading'))
    this.maybeForget()
  }

  onWindow(bytes: number): void {
    this.sendWindow += bytes
    this.wakeWriter()
  }

  /** The link ended: everything pending fails. */
  onLinkLost(err: HiveError): void {
    this.failRead(err)
    this.failWrite(err)
  }

  // ---- ByteStream ----

  async read(): Promise<Buffer | null> {
    return this.readUpTo(MAX_DATA_BYTES * 4)
  }

  async readUpTo(maxBytes: number): Promise<Buffer | null> {
    for (;;) {
      if (this.buffered > 0) return this.take(maxBytes)
      if (this.readError) throw this.readError
      if (this.finReceived) return null
      if (this.readClosed) throw new HiveError('STREAM_STOPPED', 'this side stopped reading')
      await new Promise<void>((resolve, reject) => (this.reader = { resolve, reject }))
    }
  }

  readExactly(length: number): Promise<Buffer> {
    return readExactly(this, length)
  }

  write(data: Buffer): Promise<void> {
    const done = this.pendingWrite.then(() => this.writeAll(data))
    this.pendingWrite = done.catch(() => undefined)
    return done
  }

  finish(): Promise<void> {
    if (this.writeClosed) return Promise.resolve()
    this.writeClosed = true
    return this.pendingWrite
      .then(async () => {
        if (this.writeError) return
        await this.link.send(FrameType.FIN, this.id, 0)
      })
      .catch(() => undefined)
      .finally(() => this.maybeForget())
  }

  reset(): void {
    const wasOpen = !this.readClosed || !this.writeClosed
    this.dropReceived()
    this.readClosed = true
    this.writeClosed = true
    this.failWrite(new HiveError('STREAM_RESET', 'this side reset the stream'))
    if (wasOpen && !this.link.failure) {
      this.link.send(FrameType.RESET, this.id, 0).catch(() => undefined)
    }
    this.maybeForget()
  }

  stopReading(): void {
    if (this.readClosed) return
    this.readClosed = true
    this.dropReceived()
    if (!this.finReceived && !this.readError && !this.link.failure) {
      this.link.send(FrameType.STOP, this.id, 0).catch(() => undefined)
    }
    this.maybeForget()
  }

  // ---- internals ----

  private take(maxBytes: number): Buffer {
    let out: Buffer
    const first = this.chunks[0]!
    if (first.length <= maxBytes) {
      out = this.chunks.shift()!
    } else {
      out = first.subarray(0, maxBytes)
      this.chunks[0] = first.subarray(maxBytes)
    }
    this.buffered -= out.length
    this.grant(out.length)
    return out
  }

  /** Gives the window back in batches of a quarter, so small reads do not each cost a frame. */
  private grant(bytes: number): void {
    this.link.consumed(bytes)
    if (this.finReceived) return
    this.ungranted += bytes
    if (this.ungranted >= this.window / 4) {
      const n = this.ungranted
      this.ungranted = 0
      this.link.send(FrameType.WINDOW, this.id, n).catch(() => undefined)
    }
  }

  private dropReceived(): void {
    if (this.buffered > 0) this.link.consumed(this.buffered)
    this.chunks.length = 0
    this.buffered = 0
  }

  private async writeAll(data: Buffer): Promise<void> {
    let offset = 0
    while (offset < data.length) {
      if (this.writeError) throw this.writeError
      if (this.writeClosed) throw new HiveError('STREAM_RESET', 'write after finish or reset')
      if (this.sendWindow === 0) {
        await new Promise<void>((resolve, reject) => (this.windowWaiter = { resolve, reject }))
        continue
      }
      const wanted = Math.min(data.length - offset, MAX_DATA_BYTES, this.sendWindow)
      const n = await this.link.takeLinkWindow(wanted, this)
      if (this.writeError) {
        this.link.giveBackLinkWindow(n)
        throw this.writeError
      }
      this.sendWindow -= n
      await this.link.send(FrameType.DATA, this.id, n, data.subarray(offset, offset + n))
      offset += n
    }
  }

  private wakeReader(): void {
    const r = this.reader
    this.reader = null
    r?.resolve()
  }

  private wakeWriter(): void {
    const w = this.windowWaiter
    this.windowWaiter = null
    w?.resolve()
  }

  private failRead(err: HiveError): void {
    if (!this.readError && !this.finReceived) this.readError = err
    this.dropReceived()
    const r = this.reader
    this.reader = null
    r?.reject(err)
  }

  private failWrite(err: HiveError): void {
    this.writeError ??= err
    const w = this.windowWaiter
    this.windowWaiter = null
    w?.reject(err)
  }

  private maybeForget(): void {
    const recvDone = this.finReceived || this.readError !== null || this.readClosed
    const sendDone = this.writeClosed || this.writeError !== null
    if (recvDone && sendDone) this.link.forget(this)
  }
}
