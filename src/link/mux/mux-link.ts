import type { Duplex } from 'node:stream'
import { HiveError } from '../../errors.js'
import type { Link } from '../types.js'
import { FRAME_HEADER_BYTES, FrameType, LINK_WINDOW_STREAM, MAX_DATA_BYTES, decodeFrame, encodeFrame, type Frame, type FrameTypeCode } from './frames.js'
import { MuxStream, type MuxLinkSide } from './mux-stream.js'

export interface MuxOptions {
  /** The client opens streams (numbered from 0, the control stream first); the server accepts them. */
  role: 'client' | 'server'
  remotePeerId: string
  remoteAddress: string
  path?: 'direct' | 'holepunched' | 'relayed'
  /** Bytes one stream may have in flight unread; the QUIC path's 2 MiB by default. */
  streamWindow?: number
  /** Bytes the whole link may have in flight unread; 32 MiB by default. */
  linkWindow?: number
  /** Streams the other side may have open at once; beyond it the link is closed. */
  maxRemoteStreams?: number
}

/**
 * Many byte streams over one ordered, encrypted byte stream, each with its own window, and a
 * window for the link as a whole. The underlying stream is always read, so no stream's
 * reader can stop another's: what is read is bounded by the windows, not by the reader.
 */
export class MuxLink implements Link, MuxLinkSide {
  readonly remotePeerId: string
  readonly remoteAddress: string
  readonly path: 'direct' | 'holepunched' | 'relayed'
  readonly closed: Promise<void>
  failure: HiveError | null = null

  private readonly streams = new Map<number, MuxStream>()
  private readonly streamWindow: number
  private readonly linkWindow: number
  private readonly maxRemoteStreams: number
  private nextLocalId = 0
  /** Remote stream numbers below this were all seen; `seen` holds those seen above it. */
  private watermark = 0
  private readonly seen = new Set<number>()
  private remoteOpen = 0
  private readonly acceptQueue: MuxStream[] = []
  private acceptWaiters: Array<{ resolve: (s: MuxStream) => void; reject: (e: HiveError) => void }> = []
  private sendLinkWindow: number
  private linkWaiters: Array<() => void> = []
  private received = 0
  private granted = 0
  private ungranted = 0
  private readonly inbox: Buffer[] = []
  private inboxBytes = 0
  private drained: Promise<void> | null = null
  private resolveClosed!: () => void

  constructor(
    private readonly socket: Duplex,
    private readonly options: MuxOptions,
  ) {
    this.remotePeerId = options.remotePeerId
    this.remoteAddress = options.remoteAddress
    this.path = options.path ?? 'direct'
    this.streamWindow = options.streamWindow ?? 2 * 1024 * 1024
    this.linkWindow = options.linkWindow ?? 32 * 1024 * 1024
    this.maxRemoteStreams = options.maxRemoteStreams ?? 1024
    this.sendLinkWindow = this.linkWindow
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
    socket.on('error', (err: Error) => this.fail(`connection lost (${err.message})`))
    socket.on('close', () => this.fail('connection lost (closed)'))
    socket.on('end', () => this.fail('connection lost (the other side ended it)'))
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk))
  }

  get isClosed(): boolean {
    return this.failure !== null
  }

  async openStream(): Promise<MuxStream> {
    if (this.failure) throw this.failure
    if (this.options.role !== 'client') throw new HiveError('INTERNAL', 'only the peer opens streams on this path')
    const stream = new MuxStream(this.nextLocalId++, this, this.streamWindow)
    this.streams.set(stream.id, stream)
    return stream
  }

  acceptStream(): Promise<MuxStream> {
    const next = this.acceptQueue.shift()
    if (next) return Promise.resolve(next)
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => this.acceptWaiters.push({ resolve, reject }))
  }

  close(): void {
    this.fail('connection closed')
    this.socket.destroy()
  }

  // ---- MuxLinkSide ----

  send(type: FrameTypeCode, stream: number, value: number, data?: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    if (type === FrameType.WINDOW && stream === LINK_WINDOW_STREAM) this.granted += value
    if (!this.socket.write(encodeFrame(type, stream, value, data)) && !this.drained) {
      this.drained = new Promise((resolve) => {
        const done = (): void => {
          this.socket.off('drain', done)
          this.drained = null
          resolve()
        }
        this.socket.on('drain', done)
        void this.closed.then(done)
      })
    }
    return this.drained ?? Promise.resolve()
  }

  async takeLinkWindow(wanted: number): Promise<number> {
    while (this.sendLinkWindow === 0) {
      if (this.failure) throw this.failure
      await new Promise<void>((resolve) => this.linkWaiters.push(resolve))
    }
    if (this.failure) throw this.failure
    const n = Math.min(wanted, this.sendLinkWindow)
    this.sendLinkWindow -= n
    return n
  }

  giveBackLinkWindow(bytes: number): void {
    this.sendLinkWindow += bytes
  }

  consumed(bytes: number): void {
    this.ungranted += bytes
    if (this.ungranted >= this.linkWindow / 8) {
      const n = this.ungranted
      this.ungranted = 0
      this.send(FrameType.WINDOW, LINK_WINDOW_STREAM, n).catch(() => undefined)
    }
  }

  forget(stream: MuxStream): void {
    if (this.streams.get(stream.id) !== stream) return
    this.streams.delete(stream.id)
    if (this.options.role === 'server') this.remoteOpen--
  }

  // ---- receiving ----

  private onBytes(chunk: Buffer): void {
    this.inbox.push(chunk)
    this.inboxBytes += chunk.length
    while (!this.failure && this.inboxBytes >= FRAME_HEADER_BYTES) {
      const header = this.peek(FRAME_HEADER_BYTES)
      const isData = header[0] === FrameType.DATA
      const length = isData ? header.readUInt32BE(5) : 0
      // A bad length is refused by decodeFrame before anything waits for that many bytes.
      const need = FRAME_HEADER_BYTES + (isData && length > 0 && length <= MAX_DATA_BYTES ? length : 0)
      if (this.inboxBytes < need) return
      const decoded = decodeFrame(this.takeBytes(need))
      if (!decoded.ok) return this.violation(decoded.reason === 'bad' ? decoded.detail : 'a cut frame')
      this.onFrame(decoded.frame)
    }
  }

  /** The first `n` buffered bytes, without consuming them. */
  private peek(n: number): Buffer {
    const first = this.inbox[0]!
    return first.length >= n ? first : Buffer.concat(this.inbox, this.inboxBytes).subarray(0, n)
  }

  /** Removes and returns the first `n` buffered bytes, copying only across chunk boundaries. */
  private takeBytes(n: number): Buffer {
    this.inboxBytes -= n
    const first = this.inbox[0]!
    if (first.length >= n) {
      if (first.length === n) this.inbox.shift()
      else this.inbox[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let at = 0
    while (at < n) {
      const chunk = this.inbox[0]!
      const used = Math.min(chunk.length, n - at)
      chunk.copy(out, at, 0, used)
      at += used
      if (used === chunk.length) this.inbox.shift()
      else this.inbox[0] = chunk.subarray(used)
    }
    return out
  }

  private onFrame(frame: Frame): void {
    if (frame.type === FrameType.WINDOW && frame.stream === LINK_WINDOW_STREAM) {
      this.sendLinkWindow += frame.value
      const waiters = this.linkWaiters
      this.linkWaiters = []
      for (const wake of waiters) wake()
      return
    }
    if (frame.type === FrameType.PING) return void this.send(FrameType.PONG, 0, frame.value).catch(() => undefined)
    if (frame.type === FrameType.PONG) return
    if (frame.type === FrameType.DATA) {
      this.received += frame.value
      // The other side may send one link window beyond what we gave back: never more.
      if (this.received > this.linkWindow + this.granted) return this.violation('more data than the link window allows')
    }
    let stream = this.streams.get(frame.stream)
    if (!stream) {
      stream = this.openedByRemote(frame) ?? undefined
      if (!stream) {
        // A frame for a stream already gone (it crossed our reset): its data is given back.
        if (frame.type === FrameType.DATA) this.consumed(frame.value)
        return
      }
    }
    switch (frame.type) {
      case FrameType.DATA:
        if (!stream.onData(frame.data!)) this.violation(`more data than stream ${frame.stream}'s window allows`)
        return
      case FrameType.FIN:
        return stream.onFin()
      case FrameType.RESET:
        return stream.onReset()
      case FrameType.STOP:
        return stream.onStop()
      case FrameType.WINDOW:
        return stream.onWindow(frame.value)
    }
  }

  /** A first frame from the other side for a stream number it has not used before opens it. */
  private openedByRemote(frame: Frame): MuxStream | null {
    const id = frame.stream
    if (this.options.role !== 'server' || id < this.watermark || this.seen.has(id)) return null
    if (frame.type !== FrameType.DATA && frame.type !== FrameType.FIN && frame.type !== FrameType.RESET) return null
    if (id - this.watermark > 2 * this.maxRemoteStreams + 64) return this.violation(`stream ${id} skips too far ahead`), null
    this.seen.add(id)
    while (this.seen.delete(this.watermark)) this.watermark++
    if (++this.remoteOpen > this.maxRemoteStreams) return this.violation(`more than ${this.maxRemoteStreams} streams open at once`), null
    const stream = new MuxStream(id, this, this.streamWindow)
    this.streams.set(id, stream)
    if (frame.type !== FrameType.RESET) {
      const waiter = this.acceptWaiters.shift()
      if (waiter) waiter.resolve(stream)
      else this.acceptQueue.push(stream)
    }
    return stream
  }

  private violation(detail: string): void {
    this.fail(`the other side broke the stream protocol: ${detail}`, 'PROTOCOL_VIOLATION')
    this.socket.destroy()
  }

  private fail(message: string, code: 'CONNECTION_LOST' | 'PROTOCOL_VIOLATION' = 'CONNECTION_LOST'): void {
    if (this.failure) return
    this.failure = new HiveError(code, message)
    for (const stream of this.streams.values()) stream.onLinkLost(this.failure)
    for (const waiter of this.acceptWaiters) waiter.reject(this.failure)
    this.acceptWaiters = []
    for (const wake of this.linkWaiters) wake()
    this.linkWaiters = []
    this.resolveClosed()
  }
}
