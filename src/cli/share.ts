import { dhtOptions } from './paths.js'
import type { Logger } from 'pino'
import { HiveError, errorMessage, isHiveError } from '../errors.js'
import { sleep } from '../deadline.js'
import { Hub } from '../hub/hub.js'
import { HubMemory } from '../hub/memory.js'
import type { RefusalKind } from '../hub/refusal-digest.js'
import { defaultIdentityFile, ephemeralIdentity, loadIdentity, type HubIdentity } from '../identity/identity.js'
import { formatHostPort, type HostPort } from '../protocol/address.js'
import { ALPNS } from '../protocol/services.js'
import { parseShareArgs } from './share-args.js'
import { startChild } from './child-command.js'
import { PUBLIC_MAILBOX } from '../wormhole/public-mailbox.js'
import type { JoinCodeSharer } from '../hub/join-codes.js'
import { codeBox } from './code-box.js'
import { parseAlpn, parseAnnounce, parseBindAddress, parseCodeLength, parseCount, parseRelayUrl, parseSeconds, parseStatsInterval } from './options.js'
import { watchStats } from './live-stats.js'
import { openHubTrust } from './hub-trust.js'
import type { Reporter } from './reporter.js'
import type { ShutdownSignals } from './shutdown.js'

/** How a summary line names what was refused, by kind. */
const REFUSAL_WORDS: Record<RefusalKind, string> = {
  token: 'hellos with a wrong token',
  protocol: 'hellos in another protocol',
  violation: 'connections that broke the protocol',
  full: 'peers because the hub was full',
  crowded: 'connections that had not said hello (too many waiting)',
  trust: 'peers with a revoked or unenrolled key',
}

export interface ShareOptions {
  ipv4Addr?: string
  ipv6Addr?: string
  announce?: string[]
  identity?: string
  rotateToken?: boolean
  ephemeral?: boolean
  trustedOnly?: boolean
  alpn?: string
  wormhole?: boolean
  codeTtl: string
  codeLength: string
  maxPeers: string
  maxStreams: string
  wormholeRelay: string
  dhtBootstrap?: string
  relay?: string[]
  json: boolean
  statsInterval: string
}

async function identityFor(opts: ShareOptions, reporter: Reporter): Promise<HubIdentity> {
  if (opts.ephemeral) {
    if (opts.identity) throw new HiveError('USAGE', '--ephemeral and --identity cannot be used together: pick one')
    if (opts.rotateToken) throw new HiveError('USAGE', '--ephemeral already uses a fresh token: leave out --rotate-token')
    return ephemeralIdentity()
  }
  const file = opts.identity ?? defaultIdentityFile()
  const identity = await loadIdentity(file, { rotateToken: opts.rotateToken })
  if (identity.created) reporter.status(`created hub identity ${file}`)
  if (identity.rotated) reporter.status('issued a new access token: tickets from before no longer work')
  return identity
}

export async function runShare(
  args: string[],
  opts: ShareOptions,
  reporter: Reporter,
  logger: Logger,
  shutdown: ShutdownSignals,
  command: string[] = [],
): Promise<number | undefined> {
  const { name: hubName, services } = parseShareArgs(args)
  const binds: HostPort[] = []
  if (opts.ipv4Addr) binds.push(parseBindAddress(opts.ipv4Addr, '--ipv4-addr', 4))
  if (opts.ipv6Addr) binds.push(parseBindAddress(opts.ipv6Addr, '--ipv6-addr', 6))
  const announce = parseAnnounce(opts.announce ?? [])
  const alpn = ALPNS[parseAlpn(opts.alpn) ?? 'hivemind']
  const codeTtlMs = Math.round(parseSeconds(opts.codeTtl, '--code-ttl', 24 * 3600, 10) * 1000)
  const codeLength = parseCodeLength(opts.codeLength)
  const limits = { maxPeers: parseCount(opts.maxPeers, '--max-peers', 1, 10_000), maxStreamsPerPeer: parseCount(opts.maxStreams, '--max-streams', 1, 100_000) }
  // The relay matters only with --wormhole; a stray HIVE_WORMHOLE_RELAY must not break a plain share.
  const relayUrl = opts.wormhole ? parseRelayUrl(opts.wormholeRelay) : ''
  const statsIntervalS = parseStatsInterval(opts.statsInterval)

  const identity = await identityFor(opts, reporter)
  const { dht, relays } = dhtOptions(opts)
  const memory = new HubMemory()
  // Opened before the hub starts, so the first peer is already checked; `hub` is set just below.
  const trust = await openHubTrust(identity, opts.trustedOnly === true, () => hub, reporter, logger)
  const start = (at: HostPort[], key: HubIdentity): Promise<Hub> => Hub.start({ name: hubName, services, identity: key, alpn, binds: at, announce, limits, logger, dht, relays, memory, trust })
  let hub: Hub
  try {
    hub = await start(binds, identity)
  } catch (err) {
    await trust.close()
    throw err
  }
  let sharer: JoinCodeSharer | null = null
  let restarting: Promise<void> | null = null
  let stopStats = (): void => undefined
  // Ctrl+C and SIGTERM, or the end of a command given after --: `why` says which.
  const stopHub = async (why: string): Promise<void> => {
    await restarting
    stopStats()
    reporter.status(`${why}: telling peers the hub stopped`)
    await Promise.all([hub.stop('hub stopped'), sharer?.stop()])
    await trust.close()
    reporter.event('hub_stopped', { name: hub.name })
  }
  shutdown.onStop(() => stopHub('stopping'))
  wireHubEvents(hub, reporter)

  // SIGHUP restarts the hub in place: same key and port, the token file read again. Peers are
  // told `restarting` and come back by themselves.
  shutdown.onReload(() => {
    restarting ??= (async () => {
      reporter.status('restarting: telling peers to come back')
      const ports = hub.boundAddresses
      await hub.stop('hub restarting', 'restarting')
      const key = opts.ephemeral ? identity : await identityFor({ ...opts, rotateToken: false }, reporter)
      hub = await startAgain(() => start(ports, key))
      wireHubEvents(hub, reporter)
      const changed = hub.ticket !== ticket
      ticket = hub.ticket
      reporter.status(changed ? 'restarted with a new ticket (the token file changed):' : 'restarted: the same ticket works')
      if (changed) {
        reporter.status(`  ${hub.ticket}`)
        reporter.data(hub.ticket)
      }
      reporter.event('hub_restarted', { name: hub.name, ticket: hub.ticket, addresses: hub.addresses })
      if (changed && sharer) {
        // Codes must hand out the ticket that works now.
        await sharer.stop()
        sharer = await shareByCode(hub.ticket, relayUrl, codeLength, codeTtlMs, reporter, logger)
      }
    })()
      .catch((err: unknown) => {
        reporter.status(`restart failed: ${errorMessage(err)}; stopping`)
        process.kill(process.pid, 'SIGTERM')
      })
      .finally(() => (restarting = null))
  })

  reporter.status(`hive hub \`${hub.name}\` is sharing:`)
  const width = Math.max(10, ...hub.services.map((s) => s.name.length + 1))
  for (const { name } of hub.services) reporter.status(`  ${name.padEnd(width)} ${formatHostPort(services[name]!)}`)
  reporter.status(`reachable on UDP ${hub.addresses.join(', ')}`)
  if (dht.kind === 'none') reporter.status('not on the DHT (--dht-bootstrap none): peers need UDP to an address above')
  else reporter.status(`joining the ${dht.kind === 'default' ? 'public DHT' : `DHT at ${dht.nodes.join(', ')}`}, so peers behind NAT can reach the hub too ...`)
  if (hub.omittedAddresses.length > 0) {
    const message = `the ticket has room for ${hub.addresses.length} addresses, announced ones first; left out: ${hub.omittedAddresses.join(', ')} (bind one address with --ipv4-addr, or list the ones that matter with --announce)`
    reporter.warning(message)
  }
  reporter.status(`hub key ${hub.peerId}`)
  if (trust.store.file !== null) {
    const enrolled = trust.store.list().filter((e) => !e.revoked).length
    const how = trust.trustedOnly ? 'only enrolled peers get in (--trusted-only)' : 'a new peer with the ticket is enrolled on its first join'
    reporter.status(`trust store ${trust.store.file}: ${enrolled} peer${enrolled === 1 ? '' : 's'} enrolled; ${how}`)
  }
  reporter.status('')
  reporter.status('ticket (keep it private: it grants access to these services):')
  reporter.status(`  ${hub.ticket}`)
  reporter.status('')
  // A ticket on a command line is in `ps` for every local user to read: these forms keep it out.
  reporter.status('on the other machine, run this and paste the ticket when asked:')
  reporter.status('  hive join <peer-name> --ticket -')
  reporter.status('or, in a script:')
  reporter.status('  HIVE_TICKET=<ticket> hive join <peer-name>')
  reporter.status('')
  reporter.status('waiting for peers; press Ctrl+C to stop')
  let ticket = hub.ticket
  reporter.data(ticket)
  reporter.event('hub_ready', { name: hub.name, ticket: hub.ticket, addresses: hub.addresses, peer_id: hub.peerId, dht: dht.kind !== 'none', services: Object.fromEntries(hub.services.map((s) => [s.name, formatHostPort(services[s.name]!)])) })

  if (opts.wormhole) sharer = await shareByCode(hub.ticket, relayUrl, codeLength, codeTtlMs, reporter, logger)
  // After a restart the figures start again, from the new hub.
  stopStats = watchStats(reporter, opts.json, statsIntervalS, () => hub.stats(), command.length > 0)
  if (command.length === 0) return undefined

  // `hive share ... -- CMD`: the hub lives as long as CMD, which gets the ticket and every signal.
  const child = await startChild(command, { HIVE_TICKET: hub.ticket }).catch(async (err: unknown) => {
    await Promise.all([hub.stop('hub stopped'), sharer?.stop(), trust.close()])
    throw err
  })
  shutdown.forwardTo((signal) => child.forward(signal))
  const status = await child.exited
  await stopHub(`the command exited with status ${status}`)
  return status
}

/** What a running hub reports; wired again to the new hub after a restart. */
function wireHubEvents(hub: Hub, reporter: Reporter): void {
  hub.on('peer_connected', (p) => {
    reporter.status(`+ peer \`${p.peer}\` ${p.rejoin ? 'rejoined' : 'joined'} (${p.peerId}, from ${p.address})${p.enrolled ? ': enrolled in the trust store' : ''}`)
    reporter.event('peer_connected', { peer: p.peer, peer_id: p.peerId, address: p.address, rejoin: p.rejoin, enrolled: p.enrolled === true })
  })
  hub.on('peer_left', (p) => {
    reporter.status(`- peer \`${p.peer}\` ${p.lost ? 'was lost' : 'left'} (${p.reason})`)
    reporter.event('peer_left', { peer: p.peer, peer_id: p.peerId, reason: p.reason, lost: p.lost })
  })
  hub.on('peer_refused', (p) => {
    reporter.status(`! refused \`${p.peer}\` (${p.peerId}, from ${p.address}): ${p.reason}`)
    reporter.event('peer_refused', { peer: p.peer, peer_id: p.peerId, address: p.address, reason: p.reason, kind: p.kind })
  })
  hub.on('refusals', (r) => {
    const seconds = Math.max(1, Math.round(r.windowMs / 1000))
    reporter.status(`! refused ${r.count} more ${REFUSAL_WORDS[r.kind]} from ${r.host} in the last ${seconds} s`)
    reporter.event('refusals', { kind: r.kind, host: r.host, count: r.count, window_s: seconds })
  })
  hub.on('warning', (w) => {
    reporter.warning(w.message, w.service)
  })

  hub.on('dht_ready', ({ relays: count }) => {
    reporter.status(`on the DHT: peers behind NAT can reach the hub${count > 0 ? ` (and through ${count} relay${count > 1 ? 's' : ''})` : ''}`)
    reporter.event('dht_ready', { relays: count })
  })
}

/** The port a stopped hub held may take a moment to be free again. */
async function startAgain(start: () => Promise<Hub>): Promise<Hub> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start()
    } catch (err) {
      if (!isHiveError(err, 'ADDR_IN_USE') || attempt >= 20) throw err
      await sleep(100)
    }
  }
}

/** Shows a join code, and a fresh one after every exchange, expiry or mailbox outage. */
async function shareByCode(ticket: string, relayUrl: string, codeLength: number, ttlMs: number, reporter: Reporter, logger: Logger): Promise<JoinCodeSharer> {
  // Loaded only with --wormhole: a plain share starts sooner without it.
  const { JoinCodeSharer } = await import('../hub/join-codes.js')
  const sharer = new JoinCodeSharer({ ticket, relayUrl, codeLength, ttlMs, logger })
  const relayFlag = relayUrl === PUBLIC_MAILBOX ? '' : ` --wormhole-relay ${relayUrl}`
  sharer.on('code', ({ code }) => {
    reporter.status('')
    for (const line of codeBox(code, `hive join <peer-name> --join-code ${code}${relayFlag}`)) reporter.status(line)
    reporter.status(`(valid for one peer, for ${Math.round(ttlMs / 1000)} s; the ticket above works too)`)
    reporter.data(code)
    reporter.event('join_code', { code })
  })
  sharer.on('joined', ({ code }) => {
    reporter.status(`peer joined via code ${code}; here is a fresh code`)
    reporter.event('code_used', { code })
  })
  sharer.on('wrong_code', ({ code }) => {
    reporter.status(`wrong code attempt for ${code} (code discarded): mistyped, or someone tried to guess it`)
    reporter.event('wrong_code', { code })
  })
  sharer.on('expired', ({ code }) => {
    reporter.status(`code ${code} expired unused`)
    reporter.event('code_expired', { code })
  })
  sharer.on('failed', ({ code, message }) => {
    reporter.status(`code ${code ?? '(none)'} failed: ${message}`)
    reporter.event('code_failed', { code, message })
  })
  sharer.on('mailbox_down', ({ message, retryInMs }) => {
    reporter.status(`warning: ${message}; ticket holders can still join; retrying in ${Math.round(retryInMs / 1000)} s`)
    reporter.event('mailbox_down', { message, retry_in_ms: retryInMs })
  })
  sharer.on('backoff', ({ failures, waitMs }) => {
    const wait = waitMs >= 60_000 ? `${Math.round(waitMs / 60_000)} min` : `${Math.round(waitMs / 1000)} s`
    reporter.status(`next code in ${wait}, after ${failures} failed ${failures === 1 ? 'exchange' : 'exchanges in a row'} (the ticket still works)`)
    reporter.event('code_backoff', { failures, wait_s: Math.round(waitMs / 1000) })
  })
  sharer.on('motd', ({ motd }) => reporter.status(`mailbox server says: ${motd}`))
  sharer.start()
  return sharer
}
