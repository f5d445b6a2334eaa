import type { Logger } from 'pino'
import { HiveError } from '../errors.js'
import { Peer, type PeerEnd } from '../peer/peer.js'
import { formatHostPort, type HostPort } from '../protocol/address.js'
import { ALPNS, alpnNameOf, SERVICES, type ServiceName } from '../protocol/services.js'
import { decodeTicket } from '../protocol/ticket.js'
import { parseAlpn, parseName, parseSeconds, parseServiceAddress } from './options.js'
import type { Reporter } from './reporter.js'
import { onShutdownSignal } from './shutdown.js'
import { readTicketText } from './ticket-input.js'

export interface JoinOptions {
  ticket?: string
  frontendAddr: string
  backendAddr: string
  wsAddr: string
  connectTimeout: string
  alpn?: string
}

const OPTION_NAMES: Record<ServiceName, string> = { frontend: '--frontend-addr', backend: '--backend-addr', websocket: '--ws-addr' }
const SCHEME: Record<ServiceName, string> = { frontend: 'http', backend: 'http', websocket: 'ws' }

/** Resolves with how the session ended, once the peer has joined and later stopped. */
export async function runJoin(name: string, opts: JoinOptions, reporter: Reporter, logger: Logger, exit: (status: number) => void): Promise<PeerEnd> {
  const peerName = parseName(name, 'peer name')
  const listen: Partial<Record<ServiceName, HostPort>> = {}
  const given: Record<ServiceName, string> = { frontend: opts.frontendAddr, backend: opts.backendAddr, websocket: opts.wsAddr }
  for (const service of SERVICES) {
    const at = parseServiceAddress(given[service], OPTION_NAMES[service], { allowPortZero: true })
    if (at) listen[service] = at
  }
  const connectTimeoutMs = Math.round(parseSeconds(opts.connectTimeout, '--connect-timeout') * 1000)
  const alpn = parseAlpn(opts.alpn)
  const ticket = decodeTicket(await readTicketText(opts.ticket, process.env, process.stdin))
  if (alpn !== undefined && ALPNS[alpn] !== ticket.alpn) {
    throw new HiveError('PROTOCOL_MISMATCH', `--alpn ${alpn} contradicts the ticket, which says ${alpnNameOf(ticket.alpn) ?? ticket.alpn}`)
  }

  reporter.status(`joining hub \`${ticket.name}\` at ${ticket.addresses.join(', ')} ...`)
  const peer = await Peer.join({ name: peerName, ticket, listen, listenOptionNames: OPTION_NAMES, connectTimeoutMs, logger })
  peer.on('warning', (w) => {
    reporter.status(`warning: ${w.message}`)
    reporter.event('warning', { message: w.message, service: w.service ?? null })
  })

  reporter.status(`joined hub \`${ticket.name}\` (${ticket.peerId}) at ${peer.hubAddress}`)
  const services: Record<string, string | null> = {}
  for (const service of SERVICES) {
    const at = peer.services[service]
    services[service] = at ? formatHostPort(at) : null
    reporter.status(`  ${service.padEnd(10)} ${at ? `${SCHEME[service]}://${formatHostPort(at)}` : '- (not exposed)'}`)
  }
  reporter.status('press Ctrl+C to leave')
  reporter.event('join_ready', { hub: ticket.name, hub_peer_id: ticket.peerId, services })

  onShutdownSignal(async () => {
    reporter.status('leaving the hub')
    await peer.leave('peer left')
  }, exit)
  return peer.ended
}
