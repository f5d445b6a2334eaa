import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { Logger } from 'pino'
import { detach } from '../background.js'
import { HiveError, errorMessage, isHiveError, type HiveErrorCode } from '../errors.js'
import { decodeHeader, HEADER_LENGTH } from '../protocol/header.js'
import { CURRENT_VERSION, MAX_HUB_FRAME, V1_REFUSAL_CODES, type Hello, type ProtocolVersion } from '../protocol/control.js'
import type { ServiceEntry } from '../protocol/services.js'
import { ControlChannel } from '../link/control-channel.js'
import type { ByteStream, Link } from '../link/types.js'
import { withDeadline } from '../deadline.js'
import { printable } from '../printable.js'
import { StallWatch } from '../stall-watch.js'
import { forwardStream, type ForwardContext, type StreamRegistry } from './forward.js'

export interface SessionContext extends ForwardContext {
  hubName: string
  /** Data streams the peer may have open at once; told to version 2 peers in the welcome. */
  maxStreams: number
  alpn: string
  token: Uint8Array
  helloTimeoutMs: number
  /** The shared services with their port ids: the welcome's table for peers that ask. */
  table: readonly ServiceEntry[]
  /** The hub's watch on its own pauses, run while peers probe the link (see `ping.probe`). */
  stalls: StallWatch
  /**
   * Asked once the hello checks out, before the welcome: null to admit the peer, or why not
   * (the hub is full, or the session the hello would resume is still alive). The hub may end
   * an older session of the same peer here.
   */
  admit(session: PeerSession, peer: SessionPeer, resume: string | undefined): { code: string; message: string } | null
}

/** The error a hub's refusal code stands for, on the hub's side. */
const REFUSAL_ERRORS: Record<string, HiveErrorCode> = { token: 'TOKEN_REFUSED', alpn: 'PROTOCOL_MISMATCH', in_session: 'SESSION_ALIVE', revoked: 'PEER_REVOKED', untrusted: 'NOT_TRUSTED' }

export interface SessionPeer {
  peer: string
  peerId: string
  address: string
  /** The same peer coming back (it asked to resume, or its key left recently), not a stranger. */
  rejoin: boolean
  /** Enrolled in the hub's trust store by this join (trust on first use). */
  enrolled?: boolean
  /** For a hello that resumed a session this hub does not hold: whether it ever had it (see PROTOCOL.md). */
  previous?: 'unknown' | 'ended'
  /** With `previous: ended`, when known: the last data stream the hub took on that session. */
  seen?: number
}

/**
 * A peer that pings and then says nothing for this long is gone: its session is closed. Not
 * shorter: after an outage of N seconds a working link can stay silent for up to 2N more
 * (retransmission backoff), and the peer keeps such a link while the hub holds it.
 */
export const PEER_SILENCE_MS = 20_000
/** After a probe's ping, the hub watches its own pauses this long: a train is a second or two. */
const PROBE_WATCH_MS = 5_000
/** A pause is told in whole ms, up to this (PROTOCOL.md's bound). */
const MAX_PAUSE_MS = 60_000

function tokenMatches(expected: Uint8Array, offered: string): boolean {
  const given = Buffer.from(offered, 'base64url')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * One peer's link, from hello to goodbye. The first stream must be the control stream and
 * carry a hello within the deadline; a data stream before the welcome ends the link at once,
 * so a connection that has not proved the token cannot make the hub hold its data.
 */
export class PeerSession {
  control: ControlChannel | null = null
  peer: SessionPeer | null = null
  /** When the link was accepted: the oldest unwelcomed session is the first to go. */
  readonly since = Date.now()
  /** Told to the peer in the welcome: it names this session in a later hello's `resume`. */
  readonly sessionId = randomBytes(12).toString('base64url')
  /** When the peer last sent a control message; pings arrive every second from peers that send them. */
  private lastHeard = Date.now()
  private pinging = false
  private welcomed = false
  /** Replaced: streams that arrive from now on are refused unread, so `lastStream` is final. */
  private replaced = false
  /** The highest data stream number taken so far (0: none). */
  private lastStream = 0
  private byeReason: string | null = null
  /** Why the hub itself ended the session (revoked, replaced), when it did. */
  private endedBy: string | null = null
  private readonly streams = new Map<number, AbortController>()

  constructor(
    readonly link: Link,
    private readonly ctx: SessionContext,
    private readonly log: Logger,
  ) {}

  /** Runs the handshake; resolves with the peer, or throws why it was refused. */
  async handshake(): Promise<SessionPeer> {
    const hello = await withDeadline(this.readHello(), this.ctx.helloTimeoutMs, 'the hello')
    const control = this.control!
    control.version = Math.min(hello.version, CURRENT_VERSION) as ProtocolVersion
    const peer: SessionPeer = { peer: hello.peer, peerId: this.link.remotePeerId, address: this.link.remoteAddress, rejoin: false }
    const refusal = this.check(hello) ?? this.ctx.admit(this, peer, control.version >= 2 ? hello.resume : undefined)
    if (refusal) {
      await this.refuse(refusal.code, refusal.message)
      const code = REFUSAL_ERRORS[refusal.code] ?? 'HUB_FULL'
      throw new HiveError(code, refusal.message, { peer: hello.peer, refusal: refusal.code })
    }
    // Data streams are welcome from the moment the welcome leaves, not from when the write returns.
    this.welcomed = true
    this.peer = peer
    // A peer that asks for the table reads the larger frames it may need.
    const table = control.version >= 2 && hello.table === true
    if (table) control.sendLimit = MAX_HUB_FRAME
    await control.send(
      control.version >= 2
        ? {
            type: 'welcome',
            hub: this.ctx.hubName,
            version: control.version,
            streams: this.ctx.maxStreams,
            session: this.sessionId,
            ...(peer.previous ? { previous: peer.previous } : {}),
            ...(peer.seen !== undefined ? { seen: peer.seen } : {}),
            ...(table ? { services: this.ctx.table.map(({ name, id, port }) => ({ name, id, port })) } : {}),
          }
        : { type: 'welcome', hub: this.ctx.hubName },
    )
    return peer
  }

  private async readHello(): Promise<Hello> {
    const stream = await this.link.acceptStream()
    const header = decodeHeader(await stream.readExactly(HEADER_LENGTH))
    if (!header.ok || header.target.kind !== 'control') {
      stream.reset()
      throw new HiveError('PROTOCOL_VIOLATION', 'the first stream is not a control stream')
    }
    this.control = new ControlChannel(stream)
    // From here on every stream is taken as it comes: before the welcome, one is a violation.
    detach(this.acceptStreams(), this.log, 'accepting streams')
    let message
    try {
      message = await this.control.next()
    } catch (err) {
      if (isHiveError(err, 'PROTOCOL_MISMATCH') && err.details.reason === 'version') {
        await this.refuse('version', `this hub speaks hive protocol versions 1 to ${CURRENT_VERSION}; use a matching hive`)
      }
      throw err
    }
    if (message?.type !== 'hello') throw new HiveError('PROTOCOL_VIOLATION', `expected a hello, got ${message?.type ?? 'end of stream'}`)
    return message
  }

  /** Refuses in words a version 1 peer reads: it knows only the codes token, alpn and version. */
  private async refuse(code: string, message: string): Promise<void> {
    const control = this.control!
    if (control.version >= 2 || (V1_REFUSAL_CODES as readonly string[]).includes(code)) {
      await control.send({ type: 'refused', code, message }).catch(() => undefined)
      await control.stream.finish()
    } else {
      await control.bye(message)
    }
  }

  private check(hello: Hello): { code: string; message: string } | null {
    if (!tokenMatches(this.ctx.token, hello.token)) {
      return { code: 'token', message: 'the access token is not valid for this hub (the ticket is old or was rotated)' }
    }
    if (hello.alpn !== this.ctx.alpn) {
      return { code: 'alpn', message: `the hub speaks ${this.ctx.alpn}, the peer asked for ${printable(hello.alpn, 64)}` }
    }
    return null
  }

  private async acceptStreams(): Promise<void> {
    const registry: StreamRegistry = {
      register: (id, controller) => {
        this.streams.set(id, controller)
        return () => this.streams.delete(id)
      },
      abortRemote: (id) => {
        if (this.control && this.control.version >= 2) detach(this.control.send({ type: 'abort', stream: id }), this.log, 'sending an abort')
      },
    }
    for (;;) {
      let stream: ByteStream
      try {
        stream = await this.link.acceptStream()
      } catch {
        return
      }
      if (!this.welcomed) {
        this.log.debug({ address: this.link.remoteAddress }, 'a data stream before the welcome: closing the link')
        stream.reset()
        this.link.close()
        return
      }
      if (this.replaced) {
        stream.reset()
        continue
      }
      this.lastStream = Math.max(this.lastStream, stream.id)
      forwardStream(stream, this.ctx, registry).then(
        (outcome) => {
          if (outcome.kind === 'refused') this.log.debug({ peer: this.peer?.peer, reason: outcome.reason }, 'stream refused')
        },
        (err: unknown) => this.log.warn({ err: errorMessage(err) }, 'stream failed'),
      )
    }
  }

  /** Follows the control stream until the link ends; resolves with why it ended. */
  async serve(): Promise<{ reason: string; lost: boolean }> {
    let lostReason = 'connection lost'
    // A peer that pings and falls silent is gone long before QUIC's idle timeout says so.
    const watchdog = setInterval(() => {
      if (!this.pinging || Date.now() - this.lastHeard < PEER_SILENCE_MS) return
      lostReason = `no word from the peer for ${PEER_SILENCE_MS / 1000} s`
      this.link.close()
    }, 1_000)
    try {
      for (;;) {
        const message = await this.control!.next()
        if (message === null) break
        this.lastHeard = Date.now()
        if (message.type === 'ping') {
          this.pinging = true
          // Read just after a pause of the hub's own, a probe's ping looks late by that much: say so.
          if (message.probe) this.ctx.stalls.watchFor(PROBE_WATCH_MS)
          const paused = message.probe === true ? Math.min(MAX_PAUSE_MS, Math.ceil(this.ctx.stalls.pausedAt(performance.now()))) : 0
          detach(this.control!.send({ type: 'pong', seq: message.seq, ...(paused > 0 ? { paused } : {}) }), this.log, 'answering a ping')
          continue
        }
        if (message.type === 'bye') {
          this.byeReason = printable(message.reason)
          // The peer is leaving: nothing more will come, so release the link now.
          this.link.close()
          break
        }
        if (message.type === 'abort') this.streams.get(message.stream)?.abort()
      }
    } catch (err) {
      // The link went away, or the peer broke the protocol: then the hub ends the link.
      if (isHiveError(err, 'PROTOCOL_VIOLATION')) {
        lostReason = errorMessage(err)
        this.link.close()
      }
    }
    await this.link.closed
    clearInterval(watchdog)
    if (this.endedBy !== null) return { reason: this.endedBy, lost: false }
    return this.byeReason !== null ? { reason: this.byeReason, lost: false } : { reason: lostReason, lost: true }
  }

  /**
   * A newer session of the same peer takes over: from now on this one takes no stream, and
   * the number returned is the last it took. A stream above it never reached a service.
   */
  replace(): number {
    this.replaced = true
    return this.lastStream
  }

  /** Tells the peer why we are closing, then gives the bye a moment to arrive. */
  async close(reason: string, graceMs: number, code?: string): Promise<void> {
    this.endedBy ??= reason
    if (this.control && !this.link.isClosed) {
      await withDeadline(this.control.bye(reason, code), graceMs, 'bye').catch(() => undefined)
      await withDeadline(this.link.closed, graceMs, 'peer close').catch(() => undefined)
    }
    this.link.close()
  }
}
