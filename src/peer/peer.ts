import type { Socket } from 'node:net'
import { pino, type Logger } from 'pino'
import { detach } from '../background.js'
import { HiveError, errorMessage, type HiveErrorCode } from '../errors.js'
import { ephemeralKey, type KeyIdentity } from '../identity/identity.js'
import type { HostPort } from '../protocol/address.js'
import { LEGACY_TABLE, type ServiceName } from '../protocol/services.js'
import type { Ticket } from '../protocol/ticket.js'
import { SafeEmitter } from '../safe-emitter.js'
import { PEER_TRANSPORT_OPTIONS, QuicDialer, type TransportOptions } from '../transport/index.js'
import { connectHub, sayHello, type HubPaths, type TransportChoice } from './connect.js'
import { sleep } from '../deadline.js'
import { nextDelay } from '../retry.js'
import type { Carry } from '../link/pipe.js'
import type { Link } from '../link/types.js'
import { ATTEMPT_TIMEOUT_MS, FATAL_ON_RECONNECT, RECONNECT, SILENT_MS, jittered } from './reconnect-policy.js'
import type { DhtBootstrap } from '../dht/bootstrap.js'
import type { DhtDialer } from '../dht/dialer.js'
import { HubSession, type SessionEnd } from './hub-session.js'
import { LocalServices } from './local-services.js'
import { Traffic } from '../link/traffic.js'
import { LOSS_PROBE, estimateLoss, type LossEstimate } from './loss-probe.js'
import { PendingSockets } from './pending-sockets.js'

export interface PeerOptions {
  name: string
  ticket: Ticket
  /** The peer's own key, on every path: hubs know it by this across runs. Default: a fresh one. */
  identity?: KeyIdentity
  /**
   * Services placed at an address of the user's (`--expose`): bound before the hub is dialled.
   * The others the hub shares go on `defaultHost` at their own port numbers, or a free port.
   */
  expose?: Readonly<Record<ServiceName, HostPort>>
  /** Services not to expose (`--skip`). */
  skip?: readonly ServiceName[]
  /** Default 127.0.0.1. */
  defaultHost?: string
  /** The CLI option that places each service, named in "address in use" errors. */
  exposeOptionNames?: Readonly<Record<ServiceName, string>>
  connectTimeoutMs?: number
  /** Come back by itself when the hub is lost or restarts (default); false ends the peer instead. */
  reconnect?: boolean
  /** Give up when the hub has been gone this long; undefined tries for ever. */
  reconnectTimeoutMs?: number
  logger?: Logger
  transport?: Partial<TransportOptions>
  /** The DHT to look for the hub on when the ticket allows it; `none` for direct QUIC only. */
  dht?: DhtBootstrap
  /** Which path carries the link (`--transport`); default `auto`. */
  transportChoice?: TransportChoice
  /** Blind relays (public keys) to try when hole punching fails, beside the ticket's. */
  relays?: Buffer[]
  signal?: AbortSignal
  /** Takes `warning` events from the start, including those of joining (a service moved to a free port). */
  onWarning?: (warning: PeerEvents['warning'][0]) => void
}

/** Why a peer stopped: the hub said goodbye, the hub vanished, a reconnect was refused, or we left. */
export type PeerEnd = { code: HiveErrorCode | 'LEFT'; reason: string }

export interface PeerEvents {
  warning: [{ message: string; service?: ServiceName }]
  /** The link to the hub is gone (no word for a while, or the hub restarts); connections wait. */
  hub_lost: [{ reason: string }]
  /** An attempt to reach the hub again failed; the next one follows in `nextInMs`. */
  reconnecting: [{ attempt: number; nextInMs: number; error: string }]
  /** A link is back: a new one, or (`resumed`) the old one after a stall. */
  reconnected: [{ afterMs: number; attempts: number; resumed: boolean }]
  /** `--transport auto` measured the QUIC link (see LOSS_PROBE); `lossy` means it moves to UDX. */
  link_measured: [LossEstimate]
  /** `--transport auto` moved the session from QUIC to the DHT path's UDX, or failed to. */
  transport_changed: [{ transport: 'udx'; path: 'direct' | 'holepunched' | 'relayed' } | { transport: 'quic'; error: string }]
}

/** Connections that may wait for the link while the peer joins or reconnects, and for how long. */
const MAX_PENDING = 256
const MAX_PENDING_WAIT_MS = 30_000
/** How many UDX links a move from a lossy QUIC link dials before it gives up: each met new connections. */
const UDX_MOVE_TRIES = 3
/** How often a silent link is looked at again while the peer waits on it. */
const WATCH_MS = 250

/**
 * A peer exposes a hub's services on local ports. The listeners live as long as the peer;
 * the session with the hub beneath them is a replaceable part. Connections that arrive while
 * there is no session wait for one instead of being reset; when the link is lost the peer
 * finds the hub again by itself (see `reconnect`).
 */
export class Peer extends SafeEmitter<PeerEvents> {
  readonly ended: Promise<PeerEnd>
  private resolveEnded!: (end: PeerEnd) => void
  private readonly sockets = new Set<Socket>()
  /** When each local connection arrived: its wait for a link is bounded from then, across links. */
  private readonly arrived = new WeakMap<Socket, number>()
  private readonly pending = new PendingSockets(MAX_PENDING, MAX_PENDING_WAIT_MS)
  private readonly local: LocalServices
  /** What this peer carried, per service, across all its links to the hub. */
  private readonly traffic = new Traffic()
  private session: HubSession | null = null
  private paths: HubPaths | null = null
  private dialer: QuicDialer | null = null
  private dhtDialer: Promise<DhtDialer> | null = null
  private leaving: Promise<void> | null = null
  private finished = false
  /** A move to the UDX path under way: the session it leaves ends, and that is no loss. */
  private switching: Promise<void> | null = null

  private constructor(
    readonly ticket: Ticket,
    private readonly options: PeerOptions,
    private readonly log: Logger,
  ) {
    super(log)
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve))
    if (options.onWarning) this.on('warning', options.onWarning)
    this.local = new LocalServices({
      expose: options.expose ?? {},
      skip: new Set(options.skip ?? []),
      defaultHost: options.defaultHost ?? '127.0.0.1',
      optionNames: options.exposeOptionNames ?? {},
      onSocket: (service, socket) => this.accept(service, socket),
      warn: (message, service) => this.notify('warning', { message, service }),
    })
  }

  /** Where each service is exposed, once joined. */
  get services(): Record<ServiceName, HostPort> {
    return this.local.addresses
  }

  /** Whether a link to the hub is up, and the traffic so far per service (in: from the hub, out: to it). */
  stats(): ReturnType<Traffic['snapshot']> & { linked: boolean } {
    return { linked: this.session !== null && !this.session.retired, ...this.traffic.snapshot() }
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
    const peer = new Peer(options.ticket, options, log)
    try {
      // Bind what the user placed first: a busy local port is theirs to fix, and should not cost a hub round trip.
      await peer.local.bindGiven()
      // One key for the whole process at least: the hub knows a reconnecting peer by it.
      const identity = options.identity ?? ephemeralKey()
      peer.dialer = await QuicDialer.create(identity, { ...PEER_TRANSPORT_OPTIONS, ...options.transport })
      if (options.ticket.dht && options.dht && options.dht.kind !== 'none' && options.transportChoice !== 'quic') {
        // Loaded only for a ticket that names the DHT: it is the largest import. The same key
        // on both paths lets a session resume on either.
        const dht = options.dht
        peer.dhtDialer = import('../dht/dialer.js').then(({ DhtDialer }) => DhtDialer.create(dht, identity, options.relays ?? [], options.signal))
        peer.dhtDialer.catch(() => undefined)
      }
      peer.paths = { quic: peer.dialer, dht: peer.dhtDialer, choice: options.transportChoice ?? 'auto' }
      const { link, control } = await connectHub(peer.paths, options.ticket, options.name, options.connectTimeoutMs ?? 10_000, log, options.signal)
      // The rest once the hub has said what it shares.
      await peer.local.follow(control.services ?? LEGACY_TABLE, true)
      peer.begin(new HubSession(link, control, log, peer.traffic))
      log.info({ hub: options.ticket.name, peerId: link.remotePeerId, address: link.remoteAddress, version: control.version }, 'joined')
      detach(peer.supervise(), log, 'watching the hub')
      if (peer.paths.choice === 'auto' && peer.dhtDialer) detach(peer.measure(), log, 'measuring the link')
      return peer
    } catch (err) {
      peer.release()
      throw err
    }
  }

  private begin(session: HubSession): void {
    this.session = session
    // A hub met again may share more than before (it restarted with another table).
    if (session.table !== LEGACY_TABLE) detach(this.local.follow(session.table, false), this.log, 'exposing new services')
    session.on('refused', ({ service, message }) => this.notify('warning', { message, service }))
    this.pending.release((service, socket, carry) => this.accept(service, socket, carry))
  }

  /** The session is done with: its connections that never reached the hub wait for the next one. */
  private retire(session: HubSession): void {
    if (this.session === session) this.session = null
    session.close()
  }

  /** Follows the session: stays on it, replaces it, or ends the peer. */
  private async supervise(): Promise<void> {
    for (;;) {
      const session = this.session
      if (!session || this.leaving || this.finished) return
      const outcome = await this.watch(session)
      if (this.leaving || this.finished) return
      // A move to UDX replaced this session (the hub ends the old one when the new one says
      // hello, perhaps before the move has finished): follow its successor.
      if (this.switching) await this.switching
      if (this.session && this.session !== session) continue
      if (outcome === 'silent') {
        // No word for a while: the hub may be gone, or the link only stalled (QUIC backs off
        // after an outage). Dial again, naming the session: a hub that still hears us says so.
        if (!(await this.reconnect(session))) return
        continue
      }
      const end = outcome
      // Cut off by the hub's operator: coming back would only be refused.
      if (end.code === 'HUB_STOPPED' && end.byeCode === 'revoked') return this.finish({ code: 'PEER_REVOKED', reason: end.reason })
      const restarting = end.code === 'HUB_STOPPED' && end.byeCode === 'restarting'
      if (end.code === 'HUB_STOPPED' && (!restarting || this.options.reconnect === false)) return this.finish(end)
      this.retire(session)
      const reason = restarting ? `the hub is restarting (${end.reason})` : end.reason
      this.lost(reason)
      if (this.options.reconnect === false) return this.finish({ code: 'HUB_LOST', reason })
      if (!(await this.reconnect(null))) return
    }
  }

  /** Resolves when the session ends, or when a hub that answers pings has been silent too long. */
  private async watch(session: HubSession): Promise<SessionEnd | 'silent'> {
    let timer: NodeJS.Timeout | undefined
    const silent = new Promise<'silent'>((resolve) => {
      if (!session.pings) return
      timer = setInterval(() => session.silentMs >= SILENT_MS && resolve('silent'), WATCH_MS)
    })
    try {
      return await Promise.race([session.ended, silent])
    } finally {
      clearInterval(timer)
    }
  }

  /**
   * Reaches the hub again, with backoff, on every path the ticket has. With `stalled`, the
   * old link is still open: each hello names its session, and a hub that still hears it
   * answers so; the peer then keeps the old link, whose connections live on. Resolves false
   * when the peer has ended instead.
   */
  private async reconnect(stalled: HubSession | null): Promise<boolean> {
    const since = Date.now() - (stalled?.silentMs ?? 0)
    let lostSaid = stalled === null
    let attempts = 0
    let delay = RECONNECT.initialMs
    const limit = this.options.reconnectTimeoutMs
    for (;;) {
      if (this.leaving || this.finished) return false
      if (stalled && stalled.silentMs < SILENT_MS) {
        this.log.info({ afterMs: Date.now() - since }, 'the stalled link to the hub speaks again')
        if (lostSaid) this.notify('reconnected', { afterMs: Date.now() - since, attempts, resumed: true })
        return true
      }
      if (stalled?.link.isClosed) {
        this.retire(stalled)
        stalled = null
      }
      if (limit !== undefined && Date.now() - since >= limit) {
        this.finish({ code: 'HUB_LOST', reason: `hub lost, and not back within ${Math.round(limit / 1000)} s (--reconnect-timeout)` })
        return false
      }
      attempts++
      let error: unknown
      try {
        const timeoutMs = Math.min(ATTEMPT_TIMEOUT_MS, this.options.connectTimeoutMs ?? ATTEMPT_TIMEOUT_MS)
        const { link, control } = await connectHub(this.paths!, this.ticket, this.options.name, timeoutMs, this.log, this.options.signal, stalled?.sessionId)
        const fresh = new HubSession(link, control, this.log, this.traffic)
        if (this.leaving || this.finished) {
          await fresh.leave('peer left')
          return false
        }
        if (!lostSaid) this.lost(`no word from the hub for ${Math.round((Date.now() - since) / 1000)} s, and it no longer has our session`)
        if (stalled) {
          // A hub that restarted never had the old session: nothing sent on it reached a service.
          // One that replaced it says which streams it had taken; none above that reached one.
          if (control.previous === 'unknown') stalled.servedUpTo = 0
          else if (control.previous === 'ended' && control.seen !== undefined) stalled.servedUpTo = control.seen
          this.retire(stalled)
        }
        if (this.options.reconnect === false) {
          // A script asked for today's behaviour: a hub that lost our session ends the peer.
          await fresh.leave('peer left')
          this.finish({ code: 'HUB_LOST', reason: 'hub lost: it no longer has our session' })
          return false
        }
        this.begin(fresh)
        this.log.info({ attempts, path: link.path, address: link.remoteAddress }, 'reconnected')
        this.notify('reconnected', { afterMs: Date.now() - since, attempts, resumed: false })
        return true
      } catch (err) {
        error = err
      }
      if (error instanceof HiveError && FATAL_ON_RECONNECT.has(error.code)) {
        this.finish({ code: error.code, reason: error.message })
        return false
      }
      const alive = error instanceof HiveError && error.code === 'SESSION_ALIVE'
      if (!alive && !lostSaid) {
        lostSaid = true
        const reason = `no word from the hub for ${Math.round((Date.now() - since) / 1000)} s, and it does not answer`
        this.lost(reason)
        if (this.options.reconnect === false) {
          this.finish({ code: 'HUB_LOST', reason })
          return false
        }
      }
      const wait = jittered(delay)
      delay = nextDelay(RECONNECT, delay)
      if (!alive) this.notify('reconnecting', { attempt: attempts, nextInMs: wait, error: errorMessage(error) })
      this.log.debug({ attempts, wait, err: errorMessage(error) }, alive ? 'the hub still hears the stalled link' : 'reconnect failed')
      await this.pause(wait, stalled)
    }
  }

  /**
   * `--transport auto`, joined over QUIC to a hub also on the DHT: probes the link for loss
   * (LOSS_PROBE), and on a lossy one moves the session to the DHT path, whose UDX streams keep
   * their speed there (README, lossy links). It moves only once no connection is open on QUIC,
   * since the hub ends the old session when the new one says hello; new connections wait for
   * that hello (one round trip).
   */
  private async measure(): Promise<void> {
    await sleep(LOSS_PROBE.delayMs, this.options.signal).catch(() => undefined)
    const session = this.session
    if (!session || session.link.path !== 'direct' || !session.pings || this.leaving || this.finished) return
    const estimate = estimateLoss(await session.probe(LOSS_PROBE.pings, LOSS_PROBE.spacingMs, LOSS_PROBE.answerWaitMs))
    if (estimate.pings === 0 || this.session !== session) return
    this.log.info(estimate, 'measured the link')
    this.notify('link_measured', estimate)
    if (!estimate.lossy) return
    const link = await this.dialUdxWhenIdle(session)
    if (!link) return
    this.switching = (async () => {
      session.retire()
      try {
        const control = await sayHello(link, this.ticket, this.options.name, ATTEMPT_TIMEOUT_MS)
        const fresh = new HubSession(link, control, this.log, this.traffic)
        if (this.leaving || this.finished) return void (await fresh.leave('peer left'))
        this.begin(fresh)
        session.close()
        // Measured lossy: reconnects stay on UDX, which also connects directly.
        this.paths = { ...this.paths!, choice: 'udx' }
        this.log.info({ path: link.path, address: link.remoteAddress }, 'moved to the UDX path')
        this.notify('transport_changed', { transport: 'udx', path: link.path })
      } catch (err) {
        // The hub may have ended the QUIC session already: the supervisor reconnects as after a loss.
        link.close()
        session.close()
        this.notify('transport_changed', { transport: 'quic', error: `the hub did not take the UDX link: ${errorMessage(err)}` })
      }
    })()
    await this.switching
    this.switching = null
  }

  /**
   * A UDX link to the hub, dialled once no connection is open on `session` and still idle when
   * it is up: a hub closes a link that has not said hello within 10 s, so it is not dialled
   * ahead. Null when the session ends first, or after a few tries that met new connections.
   */
  private async dialUdxWhenIdle(session: HubSession): Promise<Link | null> {
    const current = (): boolean => this.session === session && !session.retired && !this.leaving && !this.finished
    for (let attempt = 0; attempt < UDX_MOVE_TRIES; attempt++) {
      while (current() && session.openStreams > 0) await sleep(WATCH_MS)
      if (!current()) return null
      let link: Link
      try {
        link = await (await this.dhtDialer!).dial(this.ticket, this.options.connectTimeoutMs ?? 10_000, this.options.signal)
      } catch (err) {
        this.notify('transport_changed', { transport: 'quic', error: `the UDX path did not connect: ${errorMessage(err)}` })
        return null
      }
      if (current() && session.openStreams === 0 && !link.isClosed) return link
      link.close()
    }
    return null
  }

  /** Says, once per outage, that the link to the hub is gone. */
  private lost(reason: string): void {
    this.log.info({ reason }, 'hub lost')
    this.notify('hub_lost', { reason })
  }

  /** Waits `ms`, or less if a stalled link speaks again or the peer leaves. */
  private async pause(ms: number, stalled: HubSession | null): Promise<void> {
    const until = Date.now() + ms
    while (Date.now() < until && !this.leaving && !this.finished) {
      if (stalled && stalled.silentMs < SILENT_MS) return
      await sleep(Math.min(WATCH_MS, until - Date.now()), this.options.signal).catch(() => undefined)
    }
  }

  private finish(end: PeerEnd): void {
    if (this.finished || this.leaving) return
    this.finished = true
    this.release()
    this.resolveEnded(end)
  }

  /** A local connection: forwarded now if a session is up, held until one is otherwise. */
  private accept(service: ServiceName, socket: Socket, carry?: Carry): void {
    if (this.leaving || this.finished) return void socket.resetAndDestroy()
    if (!this.arrived.has(socket)) {
      this.arrived.set(socket, Date.now())
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    }
    const session = this.session
    if (!session || session.retired) return this.pending.hold(service, socket, carry, this.arrived.get(socket))
    detach(
      session.forward(service, socket, carry).then((unsent) => {
        // The link went before the hub answered: the connection never reached the service.
        if (unsent) this.accept(service, socket, unsent)
      }),
      this.log,
      'forwarding a connection',
    )
  }

  private release(): void {
    this.local.close()
    this.pending.clear()
    for (const socket of this.sockets) socket.resetAndDestroy()
    this.session?.close()
    this.dialer?.close()
    void this.dhtDialer?.then((d) => d.close(), () => undefined)
  }

  /** Says goodbye to the hub and closes everything; resolves within about a second. */
  leave(reason = 'peer left'): Promise<void> {
    this.leaving ??= (async () => {
      this.local.close()
      await this.session?.leave(reason)
      this.release()
      this.resolveEnded({ code: 'LEFT', reason })
    })()
    return this.leaving
  }
}
