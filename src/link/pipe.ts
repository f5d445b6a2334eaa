import type { Socket } from 'node:net'
import { endWasReset } from './socket-end.js'
import type { ByteStream } from './types.js'

/** How much the socket may read ahead of a pending stream write before it is paused. */
const SOCKET_READ_AHEAD = 256 * 1024
/**
 * How much may wait in the socket's write buffer before we stop reading the stream. Above
 * Node's 16 KiB watermark, so the next QUIC read overlaps the socket flush instead of
 * waiting for a full drain after every 64 KiB chunk.
 */
const SOCKET_WRITE_AHEAD = 256 * 1024

/**
 * How often a socket we stopped reading is checked for a reset. A paused socket reads
 * nothing, so it would never learn that its other end reset; an empty write does.
 */
const PAUSED_PROBE_MS = 500
const EMPTY = Buffer.alloc(0)

/**
 * What a pipe had read from its socket but not yet sent when its stream turned out never to
 * have reached the other side: the connection can start again, on another stream, from here.
 */
export interface Carry {
  chunks: Buffer[]
  /** The socket had already ended (its client half-closed): the next pipe must not wait for that. */
  ended: boolean
  /**
   * Some of `chunks` went out on the stream before the other side answered (`sendEarly`): if
   * the other side lived on, they may have reached its service, and sending them again could
   * repeat a request. Only the caller knows whether it did.
   */
  sentEarly: boolean
}

export interface PipeOptions {
  /**
   * Nothing is written to the stream, and nothing read from it, until this resolves. Until
   * then the socket is read into memory, up to the read-ahead, so the first bytes leave the
   * moment it resolves instead of one socket read later.
   */
  ready?: Promise<void>
  /** Abandons the pipe from outside, as a reset: the other side asked for it (an abort message). */
  signal?: AbortSignal
  /**
   * When `ready` rejects with an error this accepts, nothing was sent and nothing was
   * received: the pipe lets go of the socket, untouched, and returns what it had read.
   */
  unsentOn?: (err: unknown) => boolean
  /** Bytes an earlier pipe read from this socket: they go first. */
  carry?: Carry
  /**
   * Up to this many bytes go out to the stream before `ready` resolves (the first bytes of a
   * request ride right behind the header), but nothing is read from the stream until then.
   * A copy is kept until `ready`, for the carry should the stream turn out never answered.
   */
  sendEarly?: number
  /** Told of bytes as they go out on the stream (`out`) and come in from it (`in`): live traffic figures. */
  meter?: (direction: 'in' | 'out', bytes: number) => void
}

export interface PipeResult {
  /** Bytes from the socket into the stream, and from the stream into the socket. */
  sent: number
  received: number
  /**
   * 'clean' when both sides finished with FIN, 'reset' when either side was abandoned,
   * 'unsent' when the stream never reached the other side (see `unsentOn`; then `carry` is set).
   */
  outcome: 'clean' | 'reset' | 'unsent'
  carry?: Carry
  /**
   * The pipe was reset while a stream write was still pending: the other side was not taking
   * data. A reset queued behind such a write cannot leave until it does, so the caller must
   * tell the other side another way (an abort message on the control stream).
   */
  stuck: boolean
}

/**
 * Joins a TCP socket and a QUIC stream until both directions are done. The same function
 * runs on the hub and on the peer, so FIN, reset and backpressure behave alike on both.
 *
 * - Backpressure: the socket is paused while a stream write is pending with enough queued
 *   behind it; the stream is not read while the socket's buffer is above its watermark.
 * - Half-close: socket EOF becomes a stream FIN, and stream FIN becomes socket end().
 * - Reset: a socket error resets the stream both ways; a stream reset resets the socket.
 * - `ready`: the socket is read at once, but nothing moves until `ready` resolves; if it
 *   rejects, both sides are reset.
 */
export function pipe(socket: Socket, stream: ByteStream, options: PipeOptions = {}): Promise<PipeResult> {
  return new Promise<PipeResult>((resolve) => {
    let sent = 0
    let received = 0
    let queue: Buffer[] = [...(options.carry?.chunks ?? [])]
    let queued = queue.reduce((n, b) => n + b.length, 0)
    let writing = false
    let writePending = false
    let socketEnded = options.carry?.ended ?? false
    const earlyLimit = options.sendEarly ?? 0
    /** What went out before `ready`, kept until then. */
    let early: Buffer[] = []
    let toStreamDone = false
    let toSocketDone = false
    let finished = false
    let open = options.ready === undefined

    let probe: NodeJS.Timeout | null = null
    const pauseSocket = (): void => {
      socket.pause()
      probe ??= setInterval(() => {
        if (!socket.destroyed && !socket.writableEnded) socket.write(EMPTY)
      }, PAUSED_PROBE_MS)
    }
    const resumeSocket = (): void => {
      if (probe) clearInterval(probe)
      probe = null
      socket.resume()
    }

    const finishIfDone = (outcome: PipeResult['outcome']): void => {
      if (finished) return
      if (outcome === 'clean' && !(toStreamDone && toSocketDone && socket.destroyed)) return
      finished = true
      if (probe) clearInterval(probe)
      options.signal?.removeEventListener('abort', abandon)
      resolve({ sent, received, outcome, stuck: outcome === 'reset' && writePending })
    }

    const abandon = (): void => {
      // A pipe that is done, or has let go of its socket, has nothing left to abandon.
      if (finished) return
      toStreamDone = toSocketDone = true
      stream.reset()
      if (!socket.destroyed) socket.resetAndDestroy()
      finishIfDone('reset')
    }

    /** Whether bytes may go to the stream now: once ready, or early within the limit. */
    const maySend = (): boolean => open || sent < earlyLimit
    const pump = async (): Promise<void> => {
      writing = true
      while (queue.length > 0 && !finished && maySend()) {
        const batch = queue.length === 1 ? queue[0]! : Buffer.concat(queue, queued)
        queue = []
        queued = 0
        if (!open) early.push(batch)
        if (socket.isPaused() && !socketEnded) resumeSocket()
        writePending = true
        try {
          await stream.write(batch)
          sent += batch.length
          options.meter?.('out', batch.length)
        } catch {
          writePending = false
          writing = false
          return abandon()
        }
        writePending = false
      }
      writing = false
      // The FIN waits for `ready`: early bytes are a head start, not the whole exchange.
      if (open && socketEnded && !toStreamDone) {
        toStreamDone = true
        void stream.finish().then(() => finishIfDone('clean'))
      }
    }

    const onData = (chunk: Buffer): void => {
      queue.push(chunk)
      queued += chunk.length
      if (queued >= SOCKET_READ_AHEAD) pauseSocket()
      if (!writing && maySend()) void pump()
    }
    const onEnd = (): void => {
      if (endWasReset(socket)) return abandon()
      socketEnded = true
      if (!writing && open) void pump()
    }
    const onError = (): void => abandon()
    const onClose = (): void => {
      // A close with a direction still open means the socket went away under us.
      if (!toStreamDone && !socketEnded) return abandon()
      if (!toSocketDone) {
        toSocketDone = true
        stream.stopReading()
      }
      finishIfDone('clean')
    }
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('error', onError)
    socket.on('close', onClose)

    /** Lets go of the socket as it is, for another stream to take it from here. */
    const letGo = (): void => {
      finished = true
      if (probe) clearInterval(probe)
      options.signal?.removeEventListener('abort', abandon)
      socket.pause()
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('error', onError)
      socket.off('close', onClose)
      stream.reset()
      const carried = options.carry?.sentEarly ?? false
      resolve({ sent: 0, received: 0, outcome: 'unsent', stuck: false, carry: { chunks: [...early, ...queue], ended: socketEnded, sentEarly: carried || early.length > 0 } })
    }

    const drain = (): Promise<void> =>
      new Promise((done) => {
        const settle = (): void => {
          socket.off('drain', settle)
          socket.off('close', settle)
          done()
        }
        socket.on('drain', settle)
        socket.on('close', settle)
      })

    if (options.signal?.aborted) return abandon()
    options.signal?.addEventListener('abort', abandon, { once: true })

    // A socket that died before the pipe began (a service that reset right after accepting)
    // has already emitted its 'close': nothing more will come, so the stream is reset now.
    if (socket.destroyed) return abandon()

    // Local sockets arrive paused, so that no byte is read before a handler is attached.
    socket.resume()
    if (maySend() && (queue.length > 0 || socketEnded)) void pump()

    void (async () => {
      try {
        if (!open) {
          try {
            await options.ready
          } catch (err) {
            if (!finished && !socket.destroyed && options.unsentOn?.(err)) return letGo()
            return abandon()
          }
          if (finished) return
          open = true
          early = []
          if (!writing && (queue.length > 0 || socketEnded)) void pump()
        }
        for (;;) {
          const chunk = await stream.read()
          if (chunk === null) {
            toSocketDone = true
            if (!socket.destroyed) socket.end()
            return finishIfDone('clean')
          }
          if (socket.destroyed) return
          received += chunk.length
          options.meter?.('in', chunk.length)
          socket.write(chunk)
          if (socket.writableLength > SOCKET_WRITE_AHEAD) await drain()
        }
      } catch {
        if (!toSocketDone) abandon()
      }
    })()
  })
}
