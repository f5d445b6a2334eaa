import { EventEmitter } from 'node:events'
import { networkInterfaces } from 'node:os'
import { pino, type Logger } from 'pino'
import { HiveError, errorMessage, isHiveError } from '../errors.js'
import { formatHostPort, reachableAddresses, type HostPort } from '../protocol/address.js'
import { ALPNS, type AlpnString, type ServiceName } from '../protocol/services.js'
import { encodeTicket } from '../protocol/ticket.js'
import { QuicListener, type TransportOptions } from '../transport/index.js'
import type { HubIdentity } from '../identity/identity.js'
import { PeerSession, type SessionContext } from './peer-session.js'

export interface HubOptions {
  name: string
  /** The services to share; a missing entry is not shared. */
  services: Partial<Record<ServiceName, HostPort>>
  identity: HubIdentity
  alpn?: AlpnString
  /** UDP addresses to bind. Empty means both families on every interface. */
  binds?: HostPort[]
  /** Extra HOST:PORT entries for the ticket, such as a public address behind a port forward. */
  announce?: string[]
  logger?: Logger
  transport?: Partial<TransportOptions>
  helloTimeoutMs?: number
  headerTimeoutMs?: number
  dialTimeoutMs?: number
}

export interface HubEvents {
  peer_connected: [{ peer: string; peerId: string; address: string }]
  peer_left: [{ peer: string; peerId: string; reason: string; lost: boolean }]
  peer_refused: [{ peer: string; peerId: string; address: string; reason: string }]
  warning: [{ message: string; service?: ServiceName }]
}

const DEFAULT_BINDS: HostPort[] = [
  { host: '0.0.0.0', port: 0, family: 4 },
  { host: '::', port: 0, family: 6 },
]

/** A hub shares local TCP services with the peers that hold its ticket. */
export class Hub extends EventEmitter<HubEvents> {
  readonly ticket: string
  readonly addresses: string[]
  readonly peerId: string
  private readonly sessions = new Set<PeerSession>()
  private readonly openSockets = new Set<() => void>()
  private stopping: Promise<void> | null = null

  private constructor(
    readonly name: string,
    private readonly quicListeners: QuicListener[],
    private readonly ctx: SessionContext,
    private readonly log: Logger,
    ticket: string,
    addresses: string[],
    peerId: string,
  ) {
    super()
    this.ticket = ticket
    this.addresses = addresses
    this.peerId = peerId
  }

  static async start(options: HubOptions): Promise<Hub> {
    const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'hub' })
    const explicit = options.binds !== undefined && options.binds.length > 0
    const listeners: QuicListener[] = []
    try {
      for (const bind of explicit ? options.binds! : DEFAULT_BINDS) {
        try {
          listeners.push(await QuicListener.bind(options.identity, bind.host, bind.port, options.transport))
        } catch (err) {
          // With no explicit bind, a machine without IPv6 still gets a working IPv4 hub.
          if (explicit || bind.family === 4) throw err
          log.warn({ err: errorMessage(err) }, 'IPv6 is not available; sharing over IPv4 only')
        }
      }
    } catch (err) {
      for (const l of listeners) l.close()
      throw err
    }

    const interfaces = networkInterfaces()
    const bound = listeners.flatMap((l) => reachableAddresses({ host: l.host, port: l.port }, interfaces))
    const addresses = [...new Set([...bound, ...(options.announce ?? [])])]
    if (addresses.length === 0) {
      for (const l of listeners) l.close()
      throw new HiveError('ADDR_IN_USE', 'the hub is bound to no reachable address; pass --ipv4-addr or --announce')
    }
    const alpn = options.alpn ?? ALPNS.hivemind
    const ticket = encodeTicket({
      version: 1,
      name: options.name,
      alpn,
      publicKey: options.identity.publicKey,
      token: options.identity.token,
      addresses,
    })

    let hub: Hub | undefined
    const ctx: SessionContext = {
      hubName: options.name,
      alpn,
      token: options.identity.token,
      services: options.services,
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
      headerTimeoutMs: options.headerTimeoutMs ?? 10_000,
      dialTimeoutMs: options.dialTimeoutMs ?? 5_000,
      log: log.child({ component: 'forward' }),
      warn: (message, service) => hub!.emit('warning', { message, service }),
      track: (release) => {
        hub!.openSockets.add(release)
        return () => hub!.openSockets.delete(release)
      },
    }
    hub = new Hub(options.name, listeners, ctx, log, ticket, addresses, options.identity.peerId)
    for (const listener of listeners) void hub.acceptLoop(listener)
    log.info({ addresses: listeners.map((l) => formatHostPort(l)) }, 'hub listening')
    return hub
  }

  private async acceptLoop(listener: QuicListener): Promise<void> {
    while (!this.stopping) {
      let connection
      try {
        connection = await listener.accept()
      } catch {
        if (this.stopping) return
        continue
      }
      if (this.stopping) {
        connection.close()
        return
      }
      void this.runSession(new PeerSession(connection, this.ctx, this.log))
    }
  }

  private async runSession(session: PeerSession): Promise<void> {
    const { connection } = session
    this.sessions.add(session)
    try {
      let peer
      try {
        peer = await session.handshake()
      } catch (err) {
        const reason = errorMessage(err)
        if (isHiveError(err, 'CONNECTION_LOST') || isHiveError(err, 'TIMEOUT')) {
          // Gone before saying hello (a peer that rejected our key, a scanner): not a peer yet.
          this.log.debug({ peerId: connection.remotePeerId, address: connection.remoteAddress, reason }, 'connection closed before hello')
          return
        }
        const name = isHiveError(err) ? (err.details.peer ?? 'unknown') : 'unknown'
        this.log.warn({ peer: name, peerId: connection.remotePeerId, address: connection.remoteAddress, reason }, 'peer refused')
        this.emit('peer_refused', { peer: name, peerId: connection.remotePeerId, address: connection.remoteAddress, reason })
        await session.close('refused', 500)
        return
      }
      this.log.info(peer, 'peer connected')
      this.emit('peer_connected', peer)
      const ended = await session.serve()
      if (this.stopping) return
      this.log.info({ ...peer, ...ended }, 'peer left')
      this.emit('peer_left', { peer: peer.peer, peerId: peer.peerId, ...ended })
    } finally {
      connection.close()
      this.sessions.delete(session)
    }
  }

  /** Stops accepting, says `reason` to every peer, and closes. Safe to call twice. */
  stop(reason = 'hub stopped'): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ reason }, 'hub stopping')
      await Promise.all([...this.sessions].map((s) => s.close(reason, 700)))
      for (const release of this.openSockets) release()
      for (const listener of this.quicListeners) listener.close()
    })()
    return this.stopping
  }
}
