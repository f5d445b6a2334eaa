import { networkInterfaces } from 'node:os'
import { pino, type Logger } from 'pino'
import { detach } from '../background.js'
import { HiveError, errorMessage, isHiveError } from '../errors.js'
import type { Link, LinkListener } from '../link/types.js'
import { formatHostPort, reachableAddresses, type HostPort } from '../protocol/address.js'
import { ALPNS, assignPortIds, type AlpnString, type ServiceEntry, type ServiceName } from '../protocol/services.js'
import { MAX_RELAYS, TICKET_VERSION, TICKET_VERSION_DHT, chooseTicketAddresses, encodeTicket } from '../protocol/ticket.js'
import type { DhtBootstrap } from '../dht/bootstrap.js'
import type { DhtListener } from '../dht/listener.js'
import type { RetryPolicy } from '../retry.js'
import { SafeEmitter } from '../safe-emitter.js'
import { QuicListener, type TransportOptions } from '../transport/index.js'
import type { HubIdentity } from '../identity/identity.js'
import { runAcceptors } from './acceptors.js'
import { PeerSession, type SessionContext, type SessionPeer } from './peer-session.js'
import { HubMemory } from './memory.js'
import { RefusalDigest, type Refusal, type RefusalKind, type RefusalSummary } from './refusal-digest.js'
import { quicStreamLimit } from '../protocol/stream-limit.js'
import { DEFAULT_HUB_LIMITS, type HubLimits } from './limits.js'
import { rawPrivateKey } from '../identity/ed25519.js'
import { StallWatch } from '../stall-watch.js'
import { Traffic } from '../link/traffic.js'
import type { TrustStore } from '../trust/store.js'

export { DEFAULT_HUB_LIMITS, type HubLimits }



const ACCEPT_RETRY: RetryPolicy = { initialMs: 10, maxMs: 1_000, factor: 2 }
const REFUSAL_WINDOW_MS = 10_000

export interface HubOptions {
  name: string
  /**
   * The services to share, by name (NAME_PATTERN; at most 255), in the order port ids are
   * given out (assignPortIds: frontend, backend and websocket keep 1, 2 and 3).
   */
  services: Readonly<Record<ServiceName, HostPort>>
  identity: HubIdentity
  alpn?: AlpnString
  /** UDP addresses to bind. Empty means both families on every interface. */
  binds?: HostPort[]
  /** Extra HOST:PORT entries for the ticket, such as a public address behind a port forward. */
  announce?: string[]
  /** What an earlier run of this hub remembered: pass it to a restarted hub, so returning peers read as rejoins. */
  memory?: HubMemory
  logger?: Logger
  limits?: Partial<HubLimits>
  transport?: Partial<TransportOptions>
  /** Listeners to use instead of binding QUIC ones (tests inject faults this way). */
  listeners?: LinkListener[]
  /** The DHT to announce the hub on, so peers behind NATs find it; `none` for direct QUIC only. */
  dht?: DhtBootstrap
  /** Blind relays (their public keys) for peers whose NATs cannot be punched. */
  relays?: Buffer[]
  /**
   * The peers this hub knows by key: new ones are enrolled on their first join (trust on first
   * use), revoked ones refused even with a valid token; with `trustedOnly`, only enrolled keys
   * get in. Without it, the token alone admits a peer.
   */
  trust?: { store: TrustStore; trustedOnly: boolean }
  helloTimeoutMs?: number
  headerTimeoutMs?: number
  dialTimeoutMs?: number
}

export interface HubEvents {
  peer_connected: [SessionPeer]
  peer_left: [{ peer: string; peerId: string; reason: string; lost: boolean }]
  peer_refused: [Refusal]
  /** Refusals of one kind from one host that were counted, not reported one by one. */
  refusals: [RefusalSummary]
  warning: [{ message: string; service?: ServiceName }]
  /** The hub is on the DHT: peers behind NAT can reach it. */
  dht_ready: [{ relays: number }]
}

const DEFAULT_BINDS: HostPort[] = [
  { host: '0.0.0.0', port: 0, family: 4 },
  { host: '::', port: 0, family: 6 },
]

/** A hub shares local TCP services with the peers that hold its ticket. */
export class Hub extends SafeEmitter<HubEvents> {
  readonly ticket: string
  readonly addresses: string[]
  /** Addresses the ticket had no room for. */
  readonly omittedAddresses: string[]
  readonly peerId: string
  readonly limits: HubLimits
  /** The shared services with their port ids, as peers get them in the welcome. */
  readonly services: readonly ServiceEntry[]
  private readonly unwelcomed = new Set<PeerSession>()
  private readonly peers = new Set<PeerSession>()
  private readonly openSockets = new Set<() => void>()
  private readonly controller = new AbortController()
  private readonly digest: RefusalDigest
  private readonly ctx: SessionContext
  private stopping: Promise<void> | null = null
  private readonly memory: HubMemory
  private readonly trust: HubOptions['trust']

  private constructor(
    readonly name: string,
    private readonly linkListeners: LinkListener[],
    options: HubOptions,
    private readonly log: Logger,
    ticket: { text: string; addresses: string[]; omitted: string[] },
    table: ServiceEntry[],
  ) {
    super(log)
    this.services = table
    this.ticket = ticket.text
    this.memory = options.memory ?? new HubMemory()
    this.trust = options.trust
    // Taken before the DHT listener joins the list: only the QUIC sockets are bound again.
    this.boundAddresses = linkListeners.map((l) => ({ host: l.host, port: l.port, family: l.host.includes(':') ? 6 : 4 }))
    this.addresses = ticket.addresses
    this.omittedAddresses = ticket.omitted
    this.peerId = options.identity.peerId
    this.limits = { ...DEFAULT_HUB_LIMITS, ...options.limits }
    this.digest = new RefusalDigest(
      REFUSAL_WINDOW_MS,
      (refusal) => this.notify('peer_refused', refusal),
      (summary) => this.notify('refusals', summary),
    )
    this.ctx = {
      hubName: options.name,
      maxStreams: this.limits.maxStreamsPerPeer,
      alpn: options.alpn ?? ALPNS.hivemind,
      token: options.identity.token,
      services: new Map(table.map((e) => [e.id, { name: e.name, target: options.services[e.name]! }])),
      table,
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
      stalls: new StallWatch(),
      traffic: new Traffic(),
      headerTimeoutMs: options.headerTimeoutMs ?? 10_000,
      dialTimeoutMs: options.dialTimeoutMs ?? 5_000,
      log: log.child({ component: 'forward' }),
      warn: (message, service) => this.notify('warning', { message, service }),
      track: (release) => {
        this.openSockets.add(release)
        return () => this.openSockets.delete(release)
      },
      admit: (session, peer, resume) => this.admit(session, peer, resume),
    }
  }

  static async start(options: HubOptions): Promise<Hub> {
    const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'hub' })
    const limits = { ...DEFAULT_HUB_LIMITS, ...options.limits }
    const named = Object.entries(options.services)
    if (named.length === 0) throw new HiveError('USAGE', 'a hub shares at least one service')
    const table = assignPortIds(named.map(([name, target]) => ({ name, port: target.port })))
    const listeners = options.listeners ?? (await bindQuic(options, limits, log))
    const interfaces = networkInterfaces()
    const bound = listeners.flatMap((l) => reachableAddresses({ host: l.host, port: l.port }, interfaces))
    const { addresses, omitted } = chooseTicketAddresses(options.announce ?? [], bound)
    if (addresses.length === 0) {
      for (const l of listeners) l.close()
      throw new HiveError('ADDR_IN_USE', 'the hub is bound to no reachable address; pass --ipv4-addr or --announce')
    }
    // The ticket says "on the DHT" at once; joining happens beside the direct path, so a hub
    // whose DHT is slow or unreachable still starts at once and serves direct peers.
    const onDht = options.dht !== undefined && options.dht.kind !== 'none'
    const relays = options.relays ?? []
    const text = encodeTicket({
      version: onDht ? TICKET_VERSION_DHT : TICKET_VERSION,
      name: options.name,
      alpn: options.alpn ?? ALPNS.hivemind,
      publicKey: options.identity.publicKey,
      token: options.identity.token,
      addresses,
      ...(onDht ? { dht: true, relays: relays.slice(0, MAX_RELAYS).map((r) => new Uint8Array(r)) } : {}),
    })
    const hub = new Hub(options.name, listeners, options, log, { text, addresses, omitted }, table)
    for (const listener of listeners) hub.serve(listener)
    if (onDht) {
      const joining = listenOnDht(options, limits, log).then(
        (listener) => {
          if (hub.stopping) return void listener.close()
          hub.linkListeners.push(listener)
          hub.serve(listener)
          hub.notify('dht_ready', { relays: relays.length })
        },
        (err: unknown) => {
          log.warn({ err: errorMessage(err) }, 'not on the DHT')
          hub.notify('warning', { message: `${errorMessage(err)}; peers behind NAT cannot reach this hub, direct peers can` })
        },
      )
      detach(joining, log, 'joining the DHT')
    }
    log.info({ addresses: listeners.map((l) => formatHostPort(l)), limits }, 'hub listening')
    return hub
  }

  /** The UDP addresses the hub is bound to (ports as bound, not as asked): a restart binds them again. */
  readonly boundAddresses: HostPort[]

  /** Takes links from a listener until the hub stops. */
  private serve(listener: LinkListener): void {
    detach(
      runAcceptors(listener, {
        concurrency: this.limits.acceptConcurrency,
        retry: ACCEPT_RETRY,
        signal: this.controller.signal,
        onLink: (link) => this.onLink(link),
        onError: (err, retryInMs) => {
          this.log.warn({ err: errorMessage(err), retryInMs }, 'accepting a connection failed')
          this.notify('warning', { message: `accepting a connection on ${formatHostPort(listener)} failed (${errorMessage(err)}); retrying in ${retryInMs} ms` })
        },
      }),
      this.log,
      'the accept loop',
    )
  }

  /** A new link: it waits among the unwelcomed, whose number is capped. */
  private onLink(link: Link): void {
    if (this.stopping) return link.close()
    if (this.unwelcomed.size >= this.limits.maxUnwelcomed) {
      const oldest = this.unwelcomed.values().next().value!
      // A peer says hello right after its handshake: one that has had its chance gives way.
      const victim = Date.now() - oldest.since >= this.limits.unwelcomedGraceMs ? oldest : null
      const dropped = victim?.link ?? link
      this.digest.refused({ kind: 'crowded', peer: 'unknown', peerId: dropped.remotePeerId, address: dropped.remoteAddress, reason: `more than ${this.limits.maxUnwelcomed} connections were waiting to say hello` })
      if (!victim) return link.close()
      this.unwelcomed.delete(victim)
      victim.link.close()
    }
    const session = new PeerSession(link, this.ctx, this.log)
    this.unwelcomed.add(session)
    detach(this.runSession(session), this.log, 'a peer session')
  }

  private admit(session: PeerSession, peer: SessionPeer, resume: string | undefined): { code: string; message: string } | null {
    const distrust = this.distrust(peer)
    if (distrust) return distrust
    if (resume !== undefined) {
      // Only the holder of the session's key can name it: a peer that lost touch asks whether
      // its session is still alive. An open link from the same address may only be stalled
      // (after an outage, QUIC's backoff and a sender blocked by its congestion window keep a
      // working link silent for a while): the peer keeps it, and the streams on it live on.
      // From another address (a NAT rebinding, a new network) the old link cannot carry on.
      const earlier = [...this.peers].find((o) => o.sessionId === resume && o.peer?.peerId === peer.peerId)
      if (earlier && !earlier.link.isClosed && earlier.link.remoteAddress === session.link.remoteAddress) {
        return { code: 'in_session', message: 'your earlier session is still open: keep using it' }
      }
      // A session this hub never gave out was a hub before a restart: nothing sent on it reached a service.
      peer.previous = this.memory.knowsSession(resume) ? 'ended' : 'unknown'
    }
    if (this.stopping) return { code: 'full', message: 'the hub is stopping' }
    peer.rejoin = resume !== undefined || this.memory.knowsPeer(peer.peerId)
    for (const other of this.peers) {
      // Only the holder of that key can present it: a new session of the same peer replaces the
      // old one. One key may serve several peers of one user under different names.
      if (other.peer?.peerId === peer.peerId && other.peer.peer === peer.peer) {
        peer.rejoin = true
        const last = other.replace()
        if (resume === other.sessionId) peer.seen = last
        this.peers.delete(other)
        detach(other.close('replaced by a newer session of the same peer', 300, 'replaced'), this.log, 'closing a replaced session')
      }
    }
    if (this.peers.size >= this.limits.maxPeers) return { code: 'full', message: `the hub already has ${this.limits.maxPeers} peers, as many as it takes` }
    this.peers.add(session)
    this.memory.sessionGiven(session.sessionId)
    if (this.trust) {
      peer.enrolled = this.trust.store.admitted(peer.peerId, peer.peer)
      this.saveTrust()
    }
    return null
  }

  /** Why the trust store turns this key away, if it does: revoked, or unknown under `trustedOnly`. */
  private distrust(peer: SessionPeer): { code: string; message: string } | null {
    if (!this.trust) return null
    const standing = this.trust.store.standing(peer.peerId)
    if (standing === 'revoked') return { code: 'revoked', message: `this hub revoked the key of peer ${peer.peerId}` }
    if (standing === 'unknown' && this.trust.trustedOnly) {
      return { code: 'untrusted', message: `this hub admits only the peers it has enrolled, and ${peer.peerId} is not one` }
    }
    if (standing === 'unknown' && this.trust.store.full) return { code: 'full', message: 'the hub\'s trust store is full: its operator can make room with `hive peers remove`' }
    return null
  }

  private saveTrust(): void {
    // The change holds in memory either way; the operator learns the file is behind.
    this.trust?.store.save().catch((err: unknown) => this.notify('warning', { message: `the trust store was not written: ${errorMessage(err)}` }))
  }

  /**
   * Ends every session of the key `peerId` (already revoked in the trust store): the peer is
   * told `revoked` and does not come back. Resolves with how many sessions ended.
   */
  async revoke(peerId: string): Promise<number> {
    const sessions = [...this.peers].filter((s) => s.peer?.peerId === peerId)
    for (const session of sessions) this.peers.delete(session)
    await Promise.all(sessions.map((s) => s.close('the hub revoked this peer\'s key', 500, 'revoked')))
    return sessions.length
  }

  /** Peers in session now, by key and name. */
  connectedPeers(): Array<{ peer: string; peerId: string; address: string }> {
    return [...this.peers].flatMap((s) => (s.peer ? [{ peer: s.peer.peer, peerId: s.peer.peerId, address: s.peer.address }] : []))
  }

  private async runSession(session: PeerSession): Promise<void> {
    const { link } = session
    try {
      let peer
      try {
        peer = await session.handshake()
      } catch (err) {
        this.refused(session, err)
        return
      } finally {
        this.unwelcomed.delete(session)
      }
      this.log.info(peer, peer.rejoin ? 'peer rejoined' : 'peer connected')
      this.notify('peer_connected', peer)
      const ended = await session.serve()
      this.memory.peerLeft(peer.peerId)
      if (this.trust) {
        // Last seen: when it left, not when it came, for a peer joined for days.
        this.trust.store.seen(peer.peerId)
        this.saveTrust()
      }
      if (this.stopping) return
      this.log.info({ ...peer, ...ended }, 'peer left')
      this.notify('peer_left', { peer: peer.peer, peerId: peer.peerId, ...ended })
    } finally {
      this.peers.delete(session)
      link.close()
    }
  }

  private refused(session: PeerSession, err: unknown): void {
    const { link } = session
    const reason = errorMessage(err)
    if (isHiveError(err, 'SESSION_ALIVE')) {
      // A peer checking on a stalled link of its own: nothing to warn about.
      this.log.debug({ peerId: link.remotePeerId, address: link.remoteAddress }, 'a resume found the earlier session alive')
      detach(session.close('refused', 500), this.log, 'closing a resume probe')
      return
    }
    if (isHiveError(err, 'CONNECTION_LOST') || isHiveError(err, 'TIMEOUT')) {
      // Gone before saying hello (a peer that rejected our key, a scanner, one evicted): not a peer yet.
      this.log.debug({ peerId: link.remotePeerId, address: link.remoteAddress, reason }, 'connection closed before hello')
      return
    }
    const kind: RefusalKind = isHiveError(err, 'TOKEN_REFUSED')
      ? 'token'
      : isHiveError(err, 'PROTOCOL_MISMATCH')
        ? 'protocol'
        : isHiveError(err, 'HUB_FULL')
          ? 'full'
          : isHiveError(err, 'PEER_REVOKED') || isHiveError(err, 'NOT_TRUSTED')
            ? 'trust'
            : 'violation'
    const peer = isHiveError(err) ? (err.details.peer ?? 'unknown') : 'unknown'
    this.log.warn({ peer, peerId: link.remotePeerId, address: link.remoteAddress, reason }, 'peer refused')
    this.digest.refused({ kind, peer, peerId: link.remotePeerId, address: link.remoteAddress, reason })
    detach(session.close('refused', 500), this.log, 'closing a refused session')
  }

  /** Peers in session, and the traffic so far per service (in: from peers, out: to peers). */
  stats(): ReturnType<Traffic['snapshot']> & { peers: number } {
    return { peers: this.peers.size, ...this.ctx.traffic.snapshot() }
  }

  /** Stops accepting, says `reason` to every peer, and closes. Safe to call twice. */
  stop(reason = 'hub stopped', code = 'stopped'): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ reason }, 'hub stopping')
      this.controller.abort()
      for (const session of this.unwelcomed) session.link.close()
      await Promise.all([...this.peers].map((s) => s.close(reason, 700, code)))
      for (const release of this.openSockets) release()
      for (const listener of this.linkListeners) listener.close()
      this.digest.flush()
      this.ctx.stalls.stop()
    })()
    return this.stopping
  }
}

async function listenOnDht(options: HubOptions, limits: HubLimits, log: Logger): Promise<DhtListener> {
  // Loaded only by a hub on the DHT, after it is already serving: it is the largest import.
  const [{ DhtListener }, { dhtKeyPair, joinDht }] = await Promise.all([import('../dht/listener.js'), import('../dht/node.js')])
  const keyPair = dhtKeyPair(options.identity.publicKey, rawPrivateKey(options.identity.privateKeyProto))
  const dht = await joinDht(options.dht!)
  try {
    const listener = await DhtListener.listen(dht, keyPair, { relays: options.relays ?? [], maxRemoteStreams: limits.maxStreamsPerPeer + 2 })
    log.info({ dht: dht.address(), relays: options.relays?.length ?? 0 }, 'announced on the DHT')
    return listener
  } catch (err) {
    await dht.destroy({ force: true }).catch(() => undefined)
    throw err
  }
}

async function bindQuic(options: HubOptions, limits: HubLimits, log: Logger): Promise<LinkListener[]> {
  const explicit = options.binds !== undefined && options.binds.length > 0
  const transport = { maxConcurrentStreams: quicStreamLimit(limits.maxStreamsPerPeer), ...options.transport }
  const listeners: LinkListener[] = []
  try {
    for (const bind of explicit ? options.binds! : DEFAULT_BINDS) {
      try {
        listeners.push(await QuicListener.bind(options.identity, bind.host, bind.port, transport))
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
  return listeners
}
