import { dhtOptions } from './paths.js'
import type { Logger } from 'pino'
import { Peer, type PeerEnd } from '../peer/peer.js'
import type { TransportChoice } from '../peer/connect.js'
import { formatHostPort } from '../protocol/address.js'
import { ALPNS, alpnNameOf } from '../protocol/services.js'
import { parseExposure, serviceUrl } from './expose.js'
import { decodeTicket, type Ticket } from '../protocol/ticket.js'
import { parseAlpn, parseJoinCode, parseName, parseRelayUrl, parseSeconds, parseStatsInterval } from './options.js'
import { watchStats } from './live-stats.js'
import type { Reporter } from './reporter.js'
import type { ShutdownSignals } from './shutdown.js'
import { readTicketText } from './ticket-input.js'
import { serviceEnv, startChild } from './child-command.js'
import { ephemeralKey } from '../identity/identity.js'
import { loadPeerKey } from './hubs.js'
import { KnownHubs } from '../peer/known-hubs.js'
import { HiveError, errorMessage } from '../errors.js'

export interface JoinOptions {
  ticket?: string
  hub?: string
  identity?: string
  ephemeral?: boolean
  expose: string[]
  skip: string[]
  frontendAddr?: string
  backendAddr?: string
  wsAddr?: string
  connectTimeout: string
  /** commander's --no-reconnect: false when given. */
  reconnect: boolean
  reconnectTimeout?: string
  transport: TransportChoice
  alpn?: string
  joinCode?: string
  joinTimeout: string
  wormholeRelay: string
  dhtBootstrap?: string
  relay?: string[]
  json: boolean
  statsInterval: string
}

const HOW = { direct: 'directly', holepunched: 'through a hole-punched path', relayed: 'through a blind relay' } as const

/**
 * The ticket from --ticket / HIVE_TICKET / stdin, fetched over Magic Wormhole with --join-code,
 * or remembered from an earlier join (--hub); with its text, to remember.
 */
async function obtainTicket(opts: JoinOptions, reporter: Reporter, signal: AbortSignal): Promise<{ ticket: Ticket; text: string }> {
  const given = [opts.ticket !== undefined && '--ticket', opts.joinCode !== undefined && '--join-code', opts.hub !== undefined && '--hub'].filter(Boolean)
  if (given.length > 1) throw new HiveError('USAGE', `${given.join(' and ')} cannot be used together: give one`)
  if (opts.hub !== undefined) {
    const ticket = await KnownHubs.inConfig().get(opts.hub)
    return { ticket, text: '' }
  }
  if (opts.joinCode === undefined) {
    const text = await readTicketText(opts.ticket, process.env, process.stdin, (t) => reporter.prompt(t))
    return { ticket: decodeTicket(text), text }
  }
  const code = parseJoinCode(opts.joinCode)
  const relayUrl = parseRelayUrl(opts.wormholeRelay)
  const timeoutMs = Math.round(parseSeconds(opts.joinTimeout, '--join-timeout') * 1000)
  reporter.status(`fetching the ticket for code ${code} from ${relayUrl} ...`)
  const { fetchTicketByCode } = await import('../peer/ticket-by-code.js')
  const text = await fetchTicketByCode({ code, relayUrl, timeoutMs, signal, onMotd: (motd) => reporter.status(`mailbox server says: ${motd}`) })
  try {
    return { ticket: decodeTicket(text), text }
  } catch (err) {
    if (err instanceof HiveError) throw new HiveError(err.code, `the ticket received for code ${code} is not valid: ${err.message}`)
    throw err
  }
}

/** How a join ended: the session's end, or (with a command after `--`) that command's exit status. */
export type JoinOutcome = PeerEnd | { code: 'COMMAND_EXITED'; status: number }

/** Resolves with how the session ended, once the peer has joined and later stopped. */
export async function runJoin(name: string, opts: JoinOptions, reporter: Reporter, logger: Logger, shutdown: ShutdownSignals, command: string[] = []): Promise<JoinOutcome> {
  const signal = shutdown.signal
  const peerName = parseName(name, 'peer name')
  const { expose, skip, optionNames } = parseExposure(opts)
  const statsIntervalS = parseStatsInterval(opts.statsInterval)
  const connectTimeoutMs = Math.round(parseSeconds(opts.connectTimeout, '--connect-timeout') * 1000)
  if (opts.reconnect === false && opts.reconnectTimeout !== undefined) throw new HiveError('USAGE', '--no-reconnect and --reconnect-timeout cannot be used together: pick one')
  const reconnectTimeoutMs = opts.reconnectTimeout === undefined ? undefined : Math.round(parseSeconds(opts.reconnectTimeout, '--reconnect-timeout', 7 * 24 * 3600) * 1000)
  const alpn = parseAlpn(opts.alpn)
  if (opts.ephemeral && opts.identity) throw new HiveError('USAGE', '--ephemeral and --identity cannot be used together: pick one')
  const { ticket, text: ticketText } = await obtainTicket(opts, reporter, signal)
  if (alpn !== undefined && ALPNS[alpn] !== ticket.alpn) {
    throw new HiveError('PROTOCOL_MISMATCH', `--alpn ${alpn} contradicts the ticket, which says ${alpnNameOf(ticket.alpn) ?? ticket.alpn}`)
  }

  const { dht, relays } = dhtOptions(opts)
  if (opts.transport === 'udx' && (!ticket.dht || dht.kind === 'none')) {
    const why = ticket.dht ? '--dht-bootstrap is none' : 'the ticket is from a hub that is not on a DHT (started with --dht-bootstrap none)'
    throw new HiveError('USAGE', `--transport udx needs the DHT path, but ${why}; use --transport quic`)
  }
  // After every usage check: a mistyped command creates no key.
  // Kept in peer.key (or --identity), so hubs know this peer across runs; --ephemeral: a fresh one.
  const identity = opts.ephemeral ? ephemeralKey() : await loadPeerKey(opts.identity, reporter)
  reporter.status(`joining hub \`${ticket.name}\` ${opts.transport === 'udx' ? 'over the DHT path' : `at ${ticket.addresses.join(', ')}`} as peer ${identity.peerId} ...`)
  const onWarning = (w: { message: string; service?: string }): void => {
    reporter.warning(w.message, w.service)
  }
  const peer = await Peer.join({ name: peerName, ticket, identity, expose, skip, exposeOptionNames: optionNames, connectTimeoutMs, reconnect: opts.reconnect !== false, reconnectTimeoutMs, logger, signal, dht, relays, transportChoice: opts.transport, onWarning })
  let stopStats = (): void => undefined
  shutdown.onStop(async () => {
    stopStats()
    reporter.status('leaving the hub')
    await peer.leave('peer left')
  })

  peer.on('hub_lost', ({ reason }) => {
    reporter.status(`hub lost: ${reason}; new connections wait for it`)
    reporter.event('hub_lost', { reason })
  })
  peer.on('reconnecting', ({ attempt, nextInMs, error }) => {
    reporter.status(`reconnecting (attempt ${attempt}, next in ${(nextInMs / 1000).toFixed(1)} s): ${error}`)
    reporter.event('reconnecting', { attempt, next_in_ms: nextInMs, error })
  })
  peer.on('reconnected', ({ afterMs, attempts, resumed }) => {
    const seconds = (afterMs / 1000).toFixed(1)
    reporter.status(resumed ? `the link to the hub works again after ${seconds} s` : `reconnected after ${seconds} s ${HOW[peer.path]}, at ${peer.hubAddress}`)
    reporter.event('reconnected', { after_ms: afterMs, attempts, resumed, path: peer.path, remote_address: peer.hubAddress })
  })
  peer.on('link_measured', (m) => {
    const rtt = m.rttMs.toFixed(1)
    if (m.lossy) reporter.status(`the QUIC link loses packets (${m.episodes} losses in ${m.pings} pings, RTT ${rtt} ms): moving to the UDX path`)
    else reporter.status(`measured the QUIC link: ${m.episodes} losses in ${m.pings} pings, RTT ${rtt} ms; staying on QUIC`)
    reporter.event('link_measured', { pings: m.pings, answered: m.answered, stalled: m.stalled, rtt_ms: m.rttMs, losses: m.episodes, loss_percent: m.lossPercent, lossy: m.lossy })
  })
  peer.on('transport_changed', (change) => {
    if (change.transport === 'udx') reporter.status(`moved to the UDX path ${HOW[change.path]}, at ${peer.hubAddress}`)
    else reporter.status(`warning: staying on QUIC: ${change.error}`)
    reporter.event('transport_changed', change.transport === 'udx' ? { transport: 'udx', path: change.path, remote_address: peer.hubAddress } : { transport: 'quic', error: change.error })
  })

  const how = HOW[peer.path]
  reporter.status(`joined hub \`${ticket.name}\` (${ticket.peerId}) ${how}, at ${peer.hubAddress}`)
  const services: Record<string, string> = {}
  const exposed = peer.services
  const width = Math.max(10, ...Object.keys(exposed).map((n) => n.length + 1))
  for (const [service, at] of Object.entries(exposed)) {
    services[service] = formatHostPort(at)
    reporter.status(`  ${service.padEnd(width)} ${serviceUrl(service, at)}`)
  }
  if (Object.keys(exposed).length === 0) reporter.status('  (nothing exposed: every service the hub shares was skipped)')
  if (command.length === 0) reporter.status('press Ctrl+C to leave')
  reporter.event('join_ready', { hub: ticket.name, hub_peer_id: ticket.peerId, peer_id: identity.peerId, path: peer.path, remote_address: peer.hubAddress, services })
  if (!opts.ephemeral && ticketText !== '') await rememberHub(ticket, ticketText, peerName, reporter)
  stopStats = watchStats(reporter, opts.json, statsIntervalS, () => peer.stats(), command.length > 0)
  try {
    return command.length === 0 ? await peer.ended : await runWhileJoined(peer, command, reporter, shutdown)
  } finally {
    stopStats()
  }
}

/**
 * `hive join ... -- CMD`: runs CMD with the services in its environment, hands it Ctrl+C and
 * SIGTERM, and leaves the hub when it exits, with its status. If the tunnel ends first, CMD
 * is stopped and the peer's own status stands.
 */
async function runWhileJoined(peer: Peer, command: string[], reporter: Reporter, shutdown: ShutdownSignals): Promise<JoinOutcome> {
  let child
  try {
    child = await startChild(command, serviceEnv(peer.services))
  } catch (err) {
    await peer.leave('peer left')
    throw err
  }
  shutdown.forwardTo((signal) => child.forward(signal))
  const first = await Promise.race([child.exited.then((status) => ({ status })), peer.ended.then((end) => ({ end }))])
  if ('status' in first) {
    reporter.status(`the command exited with status ${first.status}: leaving the hub`)
    await peer.leave('peer left')
    return { code: 'COMMAND_EXITED', status: first.status }
  }
  reporter.status('the tunnel ended: stopping the command')
  await child.stop()
  return first.end
}

/** Keeps the ticket of a hub joined, so that `--hub NAME` finds it again; a failure only warns. */
async function rememberHub(ticket: Ticket, text: string, peerName: string, reporter: Reporter): Promise<void> {
  try {
    const change = await KnownHubs.inConfig().remember(ticket, text)
    if (change === 'new') reporter.status(`remembered hub \`${ticket.name}\`: next time, \`hive join ${peerName} --hub ${ticket.name}\``)
    if (change === 'updated') reporter.status(`updated the remembered ticket of hub \`${ticket.name}\``)
    if (change === 'replaced') reporter.warning(`the hub remembered as \`${ticket.name}\` was another one (another key); \`--hub ${ticket.name}\` now joins this one`)
  } catch (err) {
    reporter.warning(`could not remember hub \`${ticket.name}\`: ${errorMessage(err)}`)
  }
}
