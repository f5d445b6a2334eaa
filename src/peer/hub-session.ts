import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { detach } from '../background.js'
import { sleep, withDeadline } from '../deadline.js'
import { HiveError, errorMessage, isHiveError } from '../errors.js'
import { ControlChannel } from '../link/control-channel.js'
import { pipe, type Carry } from '../link/pipe.js'
import { Traffic } from '../link/traffic.js'
import type { ByteStream, Link } from '../link/types.js'
import { printable } from '../printable.js'
import { decodeAck, encodeDataHeader } from '../protocol/header.js'
import { LEGACY_TABLE, type ServiceEntry, type ServiceName } from '../protocol/services.js'
import { SafeEmitter } from '../safe-emitter.js'
import { StallWatch } from '../stall-watch.js'
import type { ProbeSample } from './loss-probe.js'
import { SpareStream } from './spare-stream.js'
import { StreamSlots } from './stream-slots.js'

/** How a session with the hub ended: the hub said goodbye (with a code, from version 2 hubs), or it vanished. */
export type SessionEnd = { code: 'HUB_STOPPED'; reason: string; byeCode?: string } | { code: 'HUB_LOST'; reason: string }

/** The hub answers within its own 5 s dial deadline; this allows for the round trip, and is longer than QUIC's idle timeout, so that a link that died first sends the connection to the next link instead of resetting it. */
const ANSWER_TIMEOUT_MS = 20_000
/** How often the peer pings a hub that answers pings: the hub's silence is noticed within a few of these. */
export const PING_INTERVAL_MS = 1_000

/**
 * How much of a new connection's first bytes go out right behind the header, before the hub
 * has answered: enough for a request, so that it costs one round trip instead of two. The
 * hub holds them until its service is connected (QUIC's stream window bounds that).
 */
const SEND_EARLY_BYTES = 64 * 1024
/** Early bytes go out only on a link heard from this recently (the hub answers a ping every second). */
const SEND_EARLY_HEARD_MS = 1_500
/**
 * A stream fails as its link goes a moment before the link itself says it is closed: this
 * long at most is waited for that, so that its connection goes through again, not reset.
 */
const LINK_SETTLE_MS = 1_000

const ignoreError = (): void => undefined
/** Nothing was read from the client yet: the connection can start over anywhere. */
const untouched = (): Carry => ({ chunks: [], ended: false, sentEarly: false })

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
  /** When the hub last said anything on the control stream. */
  private lastHeard = Date.now()
  private readonly pinger: NodeJS.Timeout | null = null
  private pingSeq = 0
  private pongSeq = 0
  /** Pings of a running probe by sequence number: when each was sent, and its round trip once answered. */
  private probing: Map<number, { sentAt: number; rttMs: number | null; hubPausedMs: number }> | null = null
  /**
   * The last stream whose early bytes may have reached the hub's services. Unknown, so all of
   * them, unless the hub says which it took (it replaced this session) or that it never had
   * this session (it restarted): only streams above it may send early bytes again elsewhere.
   */
  servedUpTo = Infinity

  constructor(
    readonly link: Link,
    private readonly control: ControlChannel,
    private readonly log: Logger,
    private readonly traffic = new Traffic(),
  ) {
    super(log)
    this.spare = new SpareStream(link)
    this.spare.prime()
    this.slots = new StreamSlots(control.streamLimit)
    this.ended = this.watch()
    void link.closed.then(() => this.retire())
    if (this.pings) {
      this.pinger = setInterval(() => {
        // A stalled link queues the pings: a minute's worth is enough to tell it is alive.
        if (this.pingSeq - this.pongSeq < 64) detach(this.control.send({ type: 'ping', seq: this.pingSeq++ }), this.log, 'pinging the hub')
      }, PING_INTERVAL_MS)
    }
  }

  /** The hub answers pings (it named the session in its welcome), so its silence means something. */
  get pings(): boolean {
    return this.control.sessionId !== undefined
  }

  get sessionId(): string | undefined {
    return this.control.sessionId
  }

  /** The hub's services: its welcome's table, or the first protocol's three (LEGACY_TABLE itself). */
  get table(): readonly ServiceEntry[] {
    return this.control.services ?? LEGACY_TABLE
  }

  private portIdOf(service: ServiceName): number | undefined {
    return this.table.find((e) => e.name === service)?.id
  }

  /** Forwarded connections whose streams are open now. */
  get openStreams(): number {
    return this.streams.size
  }

  /**
   * Sends `count` pings `spacingMs` apart and returns their round trips in ms, in the order
   * sent (null: no answer within `waitMs` of the last ping). For a hub that answers pings only.
   * A pong read just after this process stood still (a busy CPU, a GC pause) may have come in
   * any time during the pause, so each sample carries the pauses around it: this process's, and
   * the one the hub says it had just before reading the ping (pings marked `probe` ask it to watch).
   */
  async probe(count: number, spacingMs: number, waitMs: number): Promise<ProbeSample[]> {
    if (!this.pings || this.probing) return []
    const sent = new Map<number, { sentAt: number; rttMs: number | null; hubPausedMs: number }>()
    const watch = new StallWatch()
    watch.watchFor(count * spacingMs + waitMs + 1_000)
    this.probing = sent
    try {
      for (let i = 0; i < count && !this.retired; i++) {
        const seq = this.pingSeq++
        sent.set(seq, { sentAt: performance.now(), rttMs: null, hubPausedMs: 0 })
        detach(this.control.send({ type: 'ping', seq, probe: true }), this.log, 'probing the link')
        await sleep(spacingMs)
      }
      const until = Date.now() + waitMs
      while (!this.retired && Date.now() < until && [...sent.values()].some((p) => p.rttMs === null)) await sleep(20)
      return [...sent.values()].map(({ sentAt, rttMs, hubPausedMs }) => ({
        rttMs,
        pausedMs: rttMs === null ? 0 : hubPausedMs + watch.pausedAt(sentAt + rttMs),
      }))
    } finally {
      watch.stop()
      this.probing = null
    }
  }

  /** The link is lost or replaced: new connections must wait for the next session. */
  get retired(): boolean {
    return this.gone.signal.aborted
  }

  /** How long the hub has said nothing; a hub that answers pings speaks every second. */
  get silentMs(): number {
    return Date.now() - this.lastHeard
  }

  /**
   * This session is done with: the link is lost, or another one replaces it. Connections whose
   * stream never reached the hub's service come back from `forward` to go through again.
   */
  retire(): void {
    if (this.pinger) clearInterval(this.pinger)
    this.gone.abort()
  }

  /**
   * One local TCP connection: take a stream at once and write the header. The client is
   * read while the hub dials its service, but nothing goes out until the hub's ACK.
   */
  async forward(service: ServiceName, socket: Socket, carry?: Carry): Promise<Carry | null> {
    if (!socket.listeners('error').includes(ignoreError)) socket.on('error', ignoreError)
    // Given up when the client leaves or the link goes; both listeners go once a slot is had
    // (AbortSignal.any would leave one per connection on the session's signal until it ends).
    const giveUp = new AbortController()
    const onGone = (): void => giveUp.abort()
    socket.once('close', onGone)
    this.gone.signal.addEventListener('abort', onGone, { once: true })
    if (this.gone.signal.aborted) giveUp.abort()
    let release: () => void
    try {
      release = await this.slots.acquire(giveUp.signal)
    } catch {
      // The link went while this connection waited for one of the hub's streams: it goes
      // through again on the next link. A client that left is simply gone.
      return this.againOrReset(socket, carry)
    } finally {
      socket.off('close', onGone)
      this.gone.signal.removeEventListener('abort', onGone)
    }
    try {
      return await this.forwardInSlot(service, socket, carry)
    } finally {
      release()
    }
  }

  /** Resolves once a stream error that says the link is lost has been borne out (the session retired), or after LINK_SETTLE_MS. */
  private async linkSettled(err: unknown): Promise<void> {
    if (!isHiveError(err, 'CONNECTION_LOST') || this.gone.signal.aborted) return
    await Promise.race([this.link.closed, sleep(LINK_SETTLE_MS)])
  }

  /** A connection that failed before reaching the hub goes through again if the link went; otherwise it is reset. */
  private againOrReset(socket: Socket, carry: Carry | undefined): Carry | null {
    if (this.gone.signal.aborted && !socket.destroyed) return carry ?? untouched()
    socket.resetAndDestroy()
    return null
  }

  private async forwardInSlot(service: ServiceName, socket: Socket, carry: Carry | undefined): Promise<Carry | null> {
    if (socket.destroyed) return null
    // A stream that never got the hub's answer before the link went never reached the service.
    if (this.gone.signal.aborted) return carry ?? untouched()
    const portId = this.portIdOf(service)
    if (portId === undefined) {
      // This hub shares no such service (any more): as if it had refused the stream.
      socket.resetAndDestroy()
      this.notify('refused', { service, message: `the hub does not share ${service}` })
      return null
    }
    let stream: ByteStream | undefined
    let answer: Promise<Buffer>
    try {
      stream = await this.spare.take()
      // The read is posted before the header goes out, so the ACK is not waiting on a thread hop.
      answer = withDeadline(stream.readExactly(1), ANSWER_TIMEOUT_MS, `the hub's answer for ${service}`)
      answer.catch(() => undefined)
      await stream.write(encodeDataHeader(portId))
    } catch (err) {
      stream?.reset()
      this.log.debug({ service, err: errorMessage(err) }, 'stream failed before piping')
      await this.linkSettled(err)
      return this.againOrReset(socket, carry)
    }
    if (socket.destroyed) {
      stream.reset()
      return null
    }
    const accepted = answer.then(
      (byte) => {
        const ack = decodeAck(byte)
        if (ack.ok && ack.accepted) return
        const message = ack.ok ? `the hub could not reach its ${service} service` : `the hub sent a bad answer for ${service} (${ack.reason})`
        this.log.warn({ service }, message)
        this.notify('refused', { service, message })
        throw new HiveError('STREAM_RESET', message)
      },
      async (err: unknown) => {
        this.log.debug({ service, err: errorMessage(err) }, 'stream failed before piping')
        await this.linkSettled(err)
        throw err
      },
    )
    const aborted = new AbortController()
    const id = stream.id
    this.streams.set(id, aborted)
    // A refusal or a failed answer resets both the stream and the client connection, unless
    // the link went first: then the connection goes through again, with what was read so far.
    let fail = (): void => undefined
    const lost = new Promise<never>((_, reject) => {
      fail = (): void => reject(new HiveError('CONNECTION_LOST', 'the link to the hub was lost before its answer'))
      if (this.gone.signal.aborted) fail()
      else this.gone.signal.addEventListener('abort', fail, { once: true })
    })
    lost.catch(() => undefined)
    // Once answered, the stream no longer cares whether the link goes: the listener must not outlive it.
    const ready = Promise.race([accepted, lost]).finally(() => this.gone.signal.removeEventListener('abort', fail))
    ready.catch(() => undefined)
    // The first bytes go out behind the header (one round trip, not two) on a link that is
    // known to work; on a silent one they wait for the answer, so that a retry stays safe.
    const sendEarly = this.pings && this.silentMs < SEND_EARLY_HEARD_MS ? SEND_EARLY_BYTES : 0
    const traffic = this.traffic.open(service)
    const result = await pipe(socket, stream, { ready, signal: aborted.signal, carry, sendEarly, unsentOn: () => this.gone.signal.aborted, meter: traffic.meter })
    traffic.close()
    this.streams.delete(id)
    if (result.outcome === 'unsent') {
      if (result.carry!.sentEarly && id <= this.servedUpTo) {
        // The hub may have passed those bytes on: sending them again could repeat a request.
        this.log.debug({ service, stream: id }, 'the link went before the hub answered, after early bytes: resetting')
        socket.resetAndDestroy()
        return null
      }
      this.log.debug({ service, stream: id }, 'the link went before the hub answered: trying again on the next link')
      return result.carry!
    }
    if (result.stuck && !aborted.signal.aborted && this.control.version >= 2) {
      // Our reset waits behind a write the hub is not taking: ask the hub to drop the stream.
      detach(this.control.send({ type: 'abort', stream: id }), this.log, 'sending an abort')
    }
    this.log.debug({ service, stream: id, ...result }, 'stream closed')
    return null
  }

  /** Follows the control stream: the hub's bye, its aborts, or the link vanishing. */
  private async watch(): Promise<SessionEnd> {
    try {
      for (;;) {
        const message = await this.control.next()
        if (message === null) break
        this.lastHeard = Date.now()
        if (message.type === 'pong') {
          this.pongSeq = Math.max(this.pongSeq, message.seq + 1)
          const probe = this.probing?.get(message.seq)
          if (probe && probe.rttMs === null) {
            probe.rttMs = performance.now() - probe.sentAt
            probe.hubPausedMs = message.paused ?? 0
          }
        }
        if (message.type === 'bye') return { code: 'HUB_STOPPED', reason: printable(message.reason), ...(message.code ? { byeCode: message.code } : {}) }
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
    this.retire()
    this.link.close()
  }
}
