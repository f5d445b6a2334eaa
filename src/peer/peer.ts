import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { pino, type Logger } from 'pino'
import { HiveError, errorMessage } from '../errors.js'
import type { HostPort } from '../protocol/address.js'
import { decodeAck, encodeDataHeader } from '../protocol/header.js'
import { SERVICES, type ServiceName } from '../protocol/services.js'
import type { Ticket } from '../protocol/ticket.js'
import { ControlChannel } from '../link/control-channel.js'
import { withDeadline } from '../deadline.js'
import { ephemeralIdentity } from '../identity/identity.js'
import type { Link } from '../link/types.js'
import { QuicDialer, type TransportOptions } from '../transport/index.js'
import { pipe } from '../link/pipe.js'
import { dialHub, sayHello } from './connect.js'
import { listenLocal, type LocalListener } from './listeners.js'
import { SpareStream } from './spare-stream.js'
import { printable } from '../printable.js'

export interface PeerOptions {
  name: string
  ticket: Ticket
  /** Where to expose each service locally; a missing entry is not exposed. */
  listen: Partial<Record<ServiceName, HostPort>>
  /** The CLI option that sets each listen address, named in "address in use" errors. */
  listenOptionNames?: Partial<Record<ServiceName, string>>
  connectTimeoutMs?: number
  logger?: Logger
  transport?: Partial<TransportOptions>
  signal?: AbortSignal
}

/** Why a peer's session ended: the hub said goodbye, the hub vanished, or we left. */
export type PeerEnd = { code: 'HUB_STOPPED'; reason: string } | { code: 'HUB_LOST'; reason: string } | { code: 'LEFT'; reason: string }

export interface PeerEvents {
  warning: [{ message: string; service?: ServiceName }]
}

/** A peer exposes a hub's services on local ports. */
export class Peer extends EventEmitter<PeerEvents> {
  readonly ended: Promise<PeerEnd>
  private readonly sockets = new Set<Socket>()
  private leaving: Promise<void> | null = null
  private resolveEnded!: (end: PeerEnd) => void
  private readonly spare: SpareStream

  private constructor(
    readonly ticket: Ticket,
    readonly services: Partial<Record<ServiceName, HostPort>>,
    readonly hubAddress: string,
    private readonly connection: Link,
    private readonly control: ControlChannel,
    private readonly localListeners: LocalListener[],
    private readonly dialer: QuicDialer,
    private readonly log: Logger,
  ) {
    super()
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve))
    this.spare = new SpareStream(connection)
    this.spare.prime()
  }

  static async join(options: PeerOptions): Promise<Peer> {
    const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'peer' })
    const timeoutMs = options.connectTimeoutMs ?? 10_000
    const handlers = new Map<ServiceName, (socket: Socket) => void>()
    const listeners: LocalListener[] = []
    let dialer: QuicDialer | undefined
    let connection: Link | undefined
    try {
      // Bind first: a busy local port is the user's to fix, and should not cost a hub round trip.
      for (const service of SERVICES) {
        const at = options.listen[service]
        if (!at) continue
        const option = options.listenOptionNames?.[service] ?? service
        listeners.push(
          await listenLocal(service, at, option, (socket) => {
            const handle = handlers.get(service)
            if (handle) handle(socket)
            else socket.destroy()
          }),
        )
      }
      dialer = await QuicDialer.create(await ephemeralIdentity(), options.transport)
      const started = Date.now()
      connection = await dialHub(dialer, options.ticket, timeoutMs, log, options.signal)
      const control = await sayHello(connection, options.ticket, options.name, Math.max(1000, timeoutMs - (Date.now() - started)))
      const services = Object.fromEntries(listeners.map((l) => [l.service, l.address]))
      const peer = new Peer(options.ticket, services, connection.remoteAddress, connection, control, listeners, dialer, log)
      for (const l of listeners) handlers.set(l.service, (socket) => void peer.forward(l.service, socket))
      void peer.watch()
      log.info({ hub: options.ticket.name, peerId: connection.remotePeerId, address: connection.remoteAddress }, 'joined')
      return peer
    } catch (err) {
      connection?.close()
      dialer?.close()
      for (const l of listeners) l.server.close()
      throw err
    }
  }

  /**
   * One local TCP connection: take a stream at once and write the header. The client is
   * read while the hub dials its service, but nothing goes out until the hub's ACK.
   */
  private async forward(service: ServiceName, socket: Socket): Promise<void> {
    if (this.leaving) return void socket.resetAndDestroy()
    this.sockets.add(socket)
    socket.on('error', () => undefined)
    socket.once('close', () => this.sockets.delete(socket))
    let stream
    let answer: Promise<Buffer>
    try {
      stream = await this.spare.take()
      // The read is posted before the header goes out, so the ACK is not waiting on a thread hop.
      // The hub answers within its own 5 s dial deadline; allow for the round trip.
      answer = withDeadline(stream.readExactly(1), 15_000, `the hub's answer for ${service}`)
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
        this.emit('warning', { message, service })
        throw new HiveError('STREAM_RESET', message)
      },
      (err: unknown) => {
        this.log.debug({ service, err: errorMessage(err) }, 'stream failed before piping')
        throw err
      },
    )
    // A refusal or a failed answer resets both the stream and the client connection.
    const result = await pipe(socket, stream, { ready: accepted })
    this.log.debug({ service, ...result }, 'stream closed')
  }

  /** Waits for the hub's bye or for the connection to vanish. */
  private async watch(): Promise<void> {
    let end: PeerEnd | null = null
    try {
      for (;;) {
        const message = await this.control.next()
        if (message === null) break
        if (message.type === 'bye') {
          end = { code: 'HUB_STOPPED', reason: printable(message.reason) }
          break
        }
      }
    } catch {
      // Connection gone: reported below as lost, unless we were leaving.
    }
    if (!end) {
      await this.connection.closed
      end = { code: 'HUB_LOST', reason: 'hub lost: no goodbye, and the connection timed out' }
    }
    if (this.leaving) return
    this.release()
    this.resolveEnded(end)
  }

  private release(): void {
    for (const l of this.localListeners) l.server.close()
    for (const socket of this.sockets) socket.resetAndDestroy()
    this.connection.close()
    this.dialer.close()
  }

  /** Says goodbye to the hub and closes everything; resolves within about a second. */
  leave(reason = 'peer left'): Promise<void> {
    this.leaving ??= (async () => {
      for (const l of this.localListeners) l.server.close()
      await withDeadline(this.control.bye(reason), 700, 'bye').catch(() => undefined)
      await withDeadline(this.connection.closed, 700, 'hub close').catch(() => undefined)
      this.release()
      this.resolveEnded({ code: 'LEFT', reason })
    })()
    return this.leaving
  }
}
