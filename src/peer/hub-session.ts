import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { detach } from '../background.js'
import { withDeadline } from '../deadline.js'
import { HiveError, errorMessage } from '../errors.js'
import { ControlChannel } from '../link/control-channel.js'
import { pipe } from '../link/pipe.js'
import type { ByteStream, Link } from '../link/types.js'
import { printable } from '../printable.js'
import { decodeAck, encodeDataHeader } from '../protocol/header.js'
import type { ServiceName } from '../protocol/services.js'
import { SafeEmitter } from '../safe-emitter.js'
import { SpareStream } from './spare-stream.js'
import { StreamSlots } from './stream-slots.js'

/** How a session with the hub ended: the hub said goodbye, or it vanished. */
export type SessionEnd = { code: 'HUB_STOPPED'; reason: string } | { code: 'HUB_LOST'; reason: string }

/** The hub answers within its own 5 s dial deadline; this allows for the round trip. */
const ANSWER_TIMEOUT_MS = 15_000

/**
 * One link to the hub and what rides on it: the control stream, the spare stream, and a
 * stream per forwarded connection. The peer replaces it when it is lost; the local listeners
 * outlive it.
 */
export class HubSession extends SafeEmitter<{ refused: [{ service: ServiceName; message: string }] }> {
  readonly ended: Promise<SessionEnd>
  private readonly spare: SpareStream
  private readonly slots: StreamSlots
  /** Aborted when the link is gone: connections waiting for a slot give up then. */
  private readonly gone = new AbortController()
  private readonly streams = new Map<number, AbortController>()
  private leaving = false

  constructor(
    readonly link: Link,
    private readonly control: ControlChannel,
    private readonly log: Logger,
  ) {
    super(log)
    this.spare = new SpareStream(link)
    this.spare.prime()
    this.slots = new StreamSlots(control.streamLimit)
    this.ended = this.watch()
    void link.closed.then(() => this.gone.abort())
  }

  /**
   * One local TCP connection: take a stream at once and write the header. The client is
   * read while the hub dials its service, but nothing goes out until the hub's ACK.
   */
  async forward(service: ServiceName, socket: Socket): Promise<void> {
    socket.on('error', () => undefined)
    const clientGone = new AbortController()
    const onClose = (): void => clientGone.abort()
    socket.once('close', onClose)
    let release: () => void
    try {
      release = await this.slots.acquire(AbortSignal.any([clientGone.signal, this.gone.signal]))
    } catch {
      // The client left, or the link did, while waiting for one of the hub's streams.
      socket.resetAndDestroy()
      return
    } finally {
      socket.off('close', onClose)
    }
    try {
      await this.forwardInSlot(service, socket)
    } finally {
      release()
    }
  }

  private async forwardInSlot(service: ServiceName, socket: Socket): Promise<void> {
    if (socket.destroyed) return
    let stream: ByteStream | undefined
    let answer: Promise<Buffer>
    try {
      stream = await this.spare.take()
      // The read is posted before the header goes out, so the ACK is not waiting on a thread hop.
      answer = withDeadline(stream.readExactly(1), ANSWER_TIMEOUT_MS, `the hub's answer for ${service}`)
      answer.catch(() => undefined)
      await stream.write(encodeDataHeader(service))
    } catch (err) {
      stream?.reset()
      socket.resetAndDestroy()
      this.log.debug({ service, err: errorMessage(err) }, 'stream failed before piping')
      return
    }
    if (socket.destroyed) return stream.reset()
    const accepted = answer.then(
      (byte) => {
        const ack = decodeAck(byte)
        if (ack.ok && ack.accepted) return
        const message = ack.ok ? `the hub could not reach its ${service} service` : `the hub sent a bad answer for ${service} (${ack.reason})`
        this.log.warn({ service }, message)
        this.notify('refused', { service, message })
        throw new HiveError('STREAM_RESET', message)
      },
      (err: unknown) => {
        this.log.debug({ service, err: errorMessage(err) }, 'stream failed before piping')
        throw err
      },
    )
    const aborted = new AbortController()
    const id = stream.id
    this.streams.set(id, aborted)
    // A refusal or a failed answer resets both the stream and the client connection.
    const result = await pipe(socket, stream, { ready: accepted, signal: aborted.signal })
    this.streams.delete(id)
    if (result.stuck && !aborted.signal.aborted && this.control.version >= 2) {
      // Our reset waits behind a write the hub is not taking: ask the hub to drop the stream.
      detach(this.control.send({ type: 'abort', stream: id }), this.log, 'sending an abort')
    }
    this.log.debug({ service, stream: id, ...result }, 'stream closed')
  }

  /** Follows the control stream: the hub's bye, its aborts, or the link vanishing. */
  private async watch(): Promise<SessionEnd> {
    try {
      for (;;) {
        const message = await this.control.next()
        if (message === null) break
        if (message.type === 'bye') return { code: 'HUB_STOPPED', reason: printable(message.reason) }
        if (message.type === 'abort') this.streams.get(message.stream)?.abort()
      }
    } catch (err) {
      this.log.debug({ err: errorMessage(err) }, 'control stream ended')
    }
    await this.link.closed
    return { code: 'HUB_LOST', reason: 'hub lost: no goodbye, and the connection timed out' }
  }

  /** Says goodbye; resolves within about a second whatever the hub does. */
  async leave(reason: string): Promise<void> {
    if (this.leaving) return
    this.leaving = true
    await withDeadline(this.control.bye(reason, 'left'), 700, 'bye').catch(() => undefined)
    await withDeadline(this.link.closed, 700, 'hub close').catch(() => undefined)
    this.link.close()
  }

  close(): void {
    this.link.close()
  }
}
