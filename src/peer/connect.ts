import { lookup } from 'node:dns/promises'
import type { Logger } from 'pino'
import { HiveError, errorMessage, isHiveError } from '../errors.js'
import { CURRENT_VERSION, MAX_HUB_FRAME, type ProtocolVersion } from '../protocol/control.js'
import { parseHostPort } from '../protocol/address.js'
import { encodeControlHeader } from '../protocol/header.js'
import type { Ticket } from '../protocol/ticket.js'
import { ControlChannel } from '../link/control-channel.js'
import { sleep, withDeadline } from '../deadline.js'
import { nextDelay, type RetryPolicy } from '../retry.js'
import type { Link } from '../link/types.js'
import type { QuicDialer } from '../transport/index.js'
import type { DhtDialer } from '../dht/dialer.js'
import { printable } from '../printable.js'

async function resolveAll(address: string): Promise<{ ip: string; family: 4 | 6; port: number }[]> {
  const parsed = parseHostPort(address)
  if (!parsed.ok) return []
  const { host, port, family } = parsed.value
  if (family !== 0) return [{ ip: host, family, port }]
  const found = await lookup(host, { all: true })
  return found.map((r) => ({ ip: r.address, family: r.family === 6 ? 6 : 4, port }))
}

/**
 * Dials every address in the ticket at once and keeps the first connection whose remote
 * key is the ticket's. A connection to any other key is closed before a byte is sent.
 */
export async function dialQuic(dialer: QuicDialer, ticket: Ticket, timeoutMs: number, log: Logger, signal?: AbortSignal): Promise<Link> {
  const deadline = Date.now() + timeoutMs
  const mismatches: string[] = []
  const attempts = ticket.addresses.map(async (address) => {
    const targets = await withDeadline(resolveAll(address), timeoutMs, `resolving ${address}`, signal)
    return Promise.any(
      targets.map(async (t) => {
        const connection = await dialer.dial(t.ip, t.family, t.port, { timeoutMs: Math.max(1, deadline - Date.now()), signal })
        if (connection.remotePeerId !== ticket.peerId) {
          connection.close()
          mismatches.push(`${address} is ${connection.remotePeerId}`)
          throw new HiveError('IDENTITY_MISMATCH', `hub identity mismatch at ${address}`)
        }
        log.debug({ address, peerId: connection.remotePeerId }, 'hub reached')
        return connection
      }),
    )
  })
  try {
    const winner = await Promise.any(attempts)
    // Late winners of the race are closed as they arrive.
    for (const other of attempts) void other.then((c) => c !== winner && c.close(), () => undefined)
    return winner
  } catch (err) {
    if (signal?.aborted) throw new HiveError('ABORTED', 'join was cancelled')
    if (mismatches.length > 0) {
      throw new HiveError(
        'IDENTITY_MISMATCH',
        `hub identity mismatch: the ticket pins ${ticket.peerId}, but ${mismatches.join(', ')}`,
        { expected: ticket.peerId },
      )
    }
    const reasons = err instanceof AggregateError ? err.errors.map(errorMessage) : [errorMessage(err)]
    log.debug({ reasons }, 'every dial failed')
    throw new HiveError(
      'HUB_UNREACHABLE',
      `could not reach hub \`${ticket.name}\` at \`${ticket.addresses.join(', ')}\` within ${formatSeconds(timeoutMs)}`,
      { name: ticket.name, addresses: ticket.addresses.join(', ') },
    )
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`
}

/**
 * Which path carries the link (`--transport`). `quic`: QUIC to the ticket's addresses only.
 * `udx`: the DHT path only, whose UDX streams run BBR and keep their speed on lossy links
 * where quinn's Cubic collapses (bench/RESULTS.md, WAN); it connects directly when the hub's
 * address is reachable, and needs a hub on a DHT. `auto`: QUIC first, the DHT path if QUIC
 * does not answer within DHT_HEADSTART_MS.
 */
export type TransportChoice = 'quic' | 'udx' | 'auto'

/** The ways a peer can reach a hub: QUIC always, the DHT when the ticket and options allow. */
export interface HubPaths {
  quic: QuicDialer
  /** Starts joining the DHT at once; awaited only if the direct path is slow to answer. */
  dht?: Promise<DhtDialer> | null
  /** Default `auto`. */
  choice?: TransportChoice
}

/** How long the direct path has on its own before the DHT path starts too. */
export const DHT_HEADSTART_MS = 1_000

/** DHT failures that say more than "the direct path did not answer". */
const TELLING_DHT_ERRORS = new Set(['HUB_NOT_FOUND', 'HOLEPUNCH_FAILED', 'RELAY_FAILED', 'DHT_UNREACHABLE'])

/**
 * Races the paths: direct QUIC to the ticket's addresses first, and the DHT path if no
 * direct answer comes within DHT_HEADSTART_MS (or every direct dial has failed). The first
 * link wins; the other attempt is abandoned, and closed should it still succeed.
 */
export async function dialHub(paths: HubPaths, ticket: Ticket, timeoutMs: number, log: Logger, signal?: AbortSignal): Promise<Link> {
  if (paths.choice === 'udx') {
    if (!paths.dht || !ticket.dht) throw new HiveError('USAGE', '--transport udx needs the DHT path: a ticket from a hub on a DHT, and --dht-bootstrap other than none')
    return (await paths.dht).dial(ticket, timeoutMs, signal)
  }
  if (!paths.dht || !ticket.dht || paths.choice === 'quic') return dialQuic(paths.quic, ticket, timeoutMs, log, signal)
  const deadline = Date.now() + timeoutMs
  const race = new AbortController()
  const inner = signal ? AbortSignal.any([signal, race.signal]) : race.signal
  const direct = dialQuic(paths.quic, ticket, timeoutMs, log, inner)
  direct.catch(() => undefined)
  const viaDht = (async (): Promise<Link> => {
    await Promise.race([sleep(DHT_HEADSTART_MS, inner).catch(() => undefined), direct.then(() => undefined, () => undefined)])
    if (inner.aborted) throw new HiveError('ABORTED', 'the direct path won')
    log.debug('no direct answer yet: trying the DHT path')
    const dialer = await paths.dht!
    return dialer.dial(ticket, Math.max(1, deadline - Date.now()), inner)
  })()
  viaDht.catch(() => undefined)
  try {
    const winner = await Promise.any([direct, viaDht])
    race.abort()
    for (const other of [direct, viaDht]) void other.then((l) => l !== winner && l.close(), () => undefined)
    log.debug({ path: winner.path, address: winner.remoteAddress }, 'hub reached')
    return winner
  } catch {
    if (signal?.aborted) throw new HiveError('ABORTED', 'join was cancelled')
    const [directErr, dhtErr] = await Promise.all([direct.then(() => null, (e: unknown) => e), viaDht.then(() => null, (e: unknown) => e)])
    log.debug({ direct: errorMessage(directErr), dht: errorMessage(dhtErr) }, 'every path failed')
    if (isHiveError(directErr, 'IDENTITY_MISMATCH')) throw directErr
    if (dhtErr instanceof HiveError && TELLING_DHT_ERRORS.has(dhtErr.code)) throw dhtErr
    throw directErr
  }
}

/** Errors that mean "no answer", as opposed to an answer we can name. */
function noAnswer(err: unknown): boolean {
  return isHiveError(err, 'TIMEOUT') || isHiveError(err, 'CONNECTION_LOST') || isHiveError(err, 'STREAM_RESET') || isHiveError(err, 'STREAM_STOPPED')
}

/**
 * Proves the token on a fresh control stream, in protocol `version`, and waits for the hub's
 * welcome. A hub that answers with garbage broke the protocol (PROTOCOL_VIOLATION); only
 * silence or a lost link means it could not be reached.
 */
export async function sayHello(
  link: Link,
  ticket: Ticket,
  peerName: string,
  timeoutMs: number,
  version: ProtocolVersion = CURRENT_VERSION,
  resume?: string,
): Promise<ControlChannel> {
  const hub = `hub \`${ticket.name}\``
  let answer
  let control: ControlChannel
  try {
    const stream = await link.openStream()
    await stream.write(encodeControlHeader())
    // A hub's welcome may carry a table of up to 255 services: larger frames than a hub reads.
    control = new ControlChannel(stream, MAX_HUB_FRAME)
    const token = Buffer.from(ticket.token).toString('base64url')
    await control.send({ type: 'hello', version, token, peer: peerName, alpn: ticket.alpn, ...(resume && version >= 2 ? { resume } : {}), ...(version >= 2 ? { table: true } : {}) })
    answer = await withDeadline(control.next(), timeoutMs, "the hub's answer to hello")
  } catch (err) {
    if (noAnswer(err)) {
      // A hub shedding load (too many links waiting to say hello) closes new links at once.
      const reason = isHiveError(err, 'TIMEOUT') ? 'timeout' : 'closed'
      throw new HiveError('HUB_UNREACHABLE', `${hub} did not answer: ${errorMessage(err)}`, { reason })
    }
    if (isHiveError(err)) throw new HiveError(err.code, `${hub} broke the protocol: ${err.message}`, err.details)
    throw err
  }
  if (answer?.type === 'welcome') {
    control.version = Math.min(version, answer.version ?? 1) as ProtocolVersion
    control.streamLimit = answer.streams
    control.sessionId = answer.session
    control.services = answer.services
    control.previous = answer.previous
    control.seen = answer.seen
    return control
  }
  if (answer?.type === 'refused') {
    const message = printable(answer.message)
    if (answer.code === 'token') throw new HiveError('TOKEN_REFUSED', `${hub} refused the access token: ${message}`)
    if (answer.code === 'in_session') throw new HiveError('SESSION_ALIVE', `${hub} still has our earlier session: ${message}`)
    if (answer.code === 'revoked') throw new HiveError('PEER_REVOKED', `${hub} refused this peer: ${message}`)
    if (answer.code === 'untrusted') throw new HiveError('NOT_TRUSTED', `${hub} refused this peer: ${message}`)
    if (answer.code === 'full') throw new HiveError('HUB_FULL', `${hub} refused to take another peer: ${message}`)
    if (answer.code === 'version') throw new HiveError('PROTOCOL_MISMATCH', `${hub} speaks another version of the protocol: ${message}`, { reason: 'version' })
    throw new HiveError('PROTOCOL_MISMATCH', `${hub} refused the protocol: ${message}`)
  }
  if (answer?.type === 'bye') {
    // A version 1 hub says a bare bye to a hello it cannot read, such as a version 2 hello.
    throw new HiveError('PROTOCOL_MISMATCH', `${hub} ended the session at once: ${printable(answer.reason)}`, { reason: 'bye' })
  }
  throw new HiveError('PROTOCOL_VIOLATION', `${hub} answered the hello with ${answer === null ? 'the end of the stream' : answer.type}`)
}

/** How a join tries again when the hub closes its link before answering (it sheds load). */
const HELLO_RETRY: RetryPolicy = { initialMs: 100, maxMs: 2_000, factor: 2 }

/**
 * Dials the hub and says hello in the newest protocol version; a hub that cannot read it (a
 * version 1 hub answers with a bye) gets a second link and a version 1 hello. A hub shedding
 * load closes a new link before answering: that is tried again, with a pause, until the deadline.
 */
export async function connectHub(
  dialer: HubPaths,
  ticket: Ticket,
  peerName: string,
  timeoutMs: number,
  log: Logger,
  signal?: AbortSignal,
  resume?: string,
): Promise<{ link: Link; control: ControlChannel }> {
  const deadline = Date.now() + timeoutMs
  const left = (): number => Math.max(1000, deadline - Date.now())
  let version: ProtocolVersion = CURRENT_VERSION
  let pause = HELLO_RETRY.initialMs
  for (;;) {
    const link = await dialHub(dialer, ticket, left(), log, signal)
    try {
      return { link, control: await sayHello(link, ticket, peerName, left(), version, resume) }
    } catch (err) {
      link.close()
      if (isHiveError(err, 'PROTOCOL_MISMATCH') && (err.details.reason === 'bye' || err.details.reason === 'version') && version > 1) {
        log.info({ err: errorMessage(err) }, 'the hub does not speak protocol version 2; saying hello in version 1')
        version = 1
        continue
      }
      const shed = isHiveError(err, 'HUB_UNREACHABLE') && err.details.reason === 'closed'
      if (!shed || Date.now() + pause >= deadline || signal?.aborted) throw err
      log.info({ err: errorMessage(err), retryInMs: pause }, 'the hub closed the link before answering; trying again')
      await sleep(pause, signal)
      pause = nextDelay(HELLO_RETRY, pause)
    }
  }
}
