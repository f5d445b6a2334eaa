import type { Socket } from 'node:net'
import { pino, type Logger } from 'pino'
import { detach } from '../background.js'
import { errorMessage } from '../errors.js'
import { ephemeralIdentity } from '../identity/identity.js'
import type { HostPort } from '../protocol/address.js'
import { SERVICES, type ServiceName } from '../protocol/services.js'
import type { Ticket } from '../protocol/ticket.js'
import { SafeEmitter } from '../safe-emitter.js'
import { QuicDialer, type TransportOptions } from '../transport/index.js'
import { connectHub } from './connect.js'
import type { DhtBootstrap } from '../dht/bootstrap.js'
import { DhtDialer } from '../dht/dialer.js'
import { HubSession, type SessionEnd } from './hub-session.js'
import { listenLocal, type LocalListener } from './listeners.js'
import { PendingSockets } from './pending-sockets.js'

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
  /** The DHT to look for the hub on when the ticket allows it; `none` for direct QUIC only. */
  dht?: DhtBootstrap
  /** Blind relays (public keys) to try when hole punching fails, beside the ticket's. */
  relays?: Buffer[]
  signal?: AbortSignal
}

/** Why a peer stopped: the hub said goodbye, the hub vanished, or we left. */
export type PeerEnd = SessionEnd | { code: 'LEFT'; reason: string }

export interface PeerEvents {
  warning: [{ message: string; service?: ServiceName }]
}

/** Connections that may wait for the link while the peer joins, and for how long. */
const MAX_PENDING = 256
const MAX_PENDING_WAIT_MS = 30_000

/**
 * A peer exposes a hub's services on local ports. The listeners live as long as the peer;
 * the session with the hub beneath them is a part of its own. Connections that arrive
 * before the session is up wait for it instead of being reset.
 */
export class Peer extends SafeEmitter<PeerEvents> {
  readonly ended: Promise<PeerEnd>
  private resolveEnded!: (end: PeerEnd) => void
  private readonly sockets = new Set<Socket>()
  private readonly pending = new PendingSockets(MAX_PENDING, MAX_PENDING_WAIT_MS)
  private readonly localListeners: LocalListener[] = []
  private session: HubSession | null = null
  private dialer: QuicDialer | null = null
  private dhtDialer: Promise<DhtDialer> | null = null
  private leaving: Promise<void> | null = null

  private constructor(
    readonly ticket: Ticket,
    private readonly log: Logger,
  ) {
    super(log)
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve))
  }

  /** Where each service is exposed, once joined. */
  get services(): Partial<Record<ServiceName, HostPort>> {
    return Object.fromEntries(this.localListeners.map((l) => [l.service, l.address]))
  }

  get hubAddress(): string {
    return this.session?.link.remoteAddress ?? ''
  }

  /** How the link reaches the hub: direct QUIC, or a hole-punched or relayed DHT connection. */
  get path(): 'direct' | 'holepunched' | 'relayed' {
    return this.session?.link.path ?? 'direct'
  }

  static async join(options: PeerOptions): Promise<Peer> {
    const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'peer' })
    const peer = new Peer(options.ticket, log)
    try {
      // Bind first: a busy local port is the user's to fix, and should not cost a hub round trip.
      for (const service of SERVICES) {
        const at = options.listen[service]
        if (!at) continue
        const option = options.listenOptionNames?.[service] ?? service
        peer.localListeners.push(
          await listenLocal(service, at, option, (socket) => peer.accept(service, socket), (err) => {
            peer.notify('warning', { message: `the local ${service} listener could not accept a connection: ${errorMessage(err)}`, service })
          }),
        )
      }
      peer.dialer = await QuicDialer.create(await ephemeralIdentity(), options.transport)
      if (options.ticket.dht && options.dht && options.dht.kind !== 'none') {
        peer.dhtDialer = DhtDialer.create(options.dht, options.relays ?? [], options.signal)
        peer.dhtDialer.catch(() => undefined)
      }
      const { link, control } = await connectHub({ quic: peer.dialer, dht: peer.dhtDialer }, options.ticket, options.name, options.connectTimeoutMs ?? 10_000, log, options.signal)
      peer.begin(new HubSession(link, control, log))
      log.info({ hub: options.ticket.name, peerId: link.remotePeerId, address: link.remoteAddress, version: control.version }, 'joined')
      return peer
    } catch (err) {
      peer.release()
      throw err
    }
  }

  private begin(session: HubSession): void {
    this.session = session
    session.on('refused', ({ service, message }) => this.notify('warning', { message, service }))
    detach(
      session.ended.then((end) => {
        if (this.leaving) return
        this.release()
        this.resolveEnded(end)
      }),
      this.log,
      'watching the hub session',
    )
    this.pending.release((service, socket) => this.accept(service, socket))
  }

  /** A local connection: forwarded now if the session is up, held until it is otherwise. */
  private accept(service: ServiceName, socket: Socket): void {
    if (this.leaving) return void socket.resetAndDestroy()
    if (!this.session) return this.pending.hold(service, socket)
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    detach(this.session.forward(service, socket), this.log, 'forwarding a connection')
  }

  private release(): void {
    for (const l of this.localListeners) l.server.close()
    this.pending.clear()
    for (const socket of this.sockets) socket.resetAndDestroy()
    this.session?.close()
    this.dialer?.close()
    void this.dhtDialer?.then((d) => d.close(), () => undefined)
  }

  /** Says goodbye to the hub and closes everything; resolves within about a second. */
  leave(reason = 'peer left'): Promise<void> {
    this.leaving ??= (async () => {
      for (const l of this.localListeners) l.server.close()
      await this.session?.leave(reason)
      this.release()
      this.resolveEnded({ code: 'LEFT', reason })
    })()
    return this.leaving
  }
}
