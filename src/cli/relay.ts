import { rawPrivateKey } from '../identity/ed25519.js'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { dhtKeyPair } from '../dht/node.js'
import { startRelayNode, type RelayNode } from '../dht/relay-node.js'
import { HiveError } from '../errors.js'
import { configDir, ephemeralKey, loadKey } from '../identity/identity.js'
import { formatHostPort, parseHostPort } from '../protocol/address.js'
import type { Reporter } from './reporter.js'
import type { ShutdownSignals } from './shutdown.js'

export interface RelayOptions {
  bind: string
  identity?: string
  ephemeral?: boolean
  dhtBootstrap?: string
  /** TCP port for a Magic Wormhole mailbox server on the --bind host; 0 picks a free one. */
  mailboxPort?: string
}

/** `--mailbox-port`: a port number, 0 included (any free port). */
function parseMailboxPort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN
  if (!(port <= 65535)) throw new HiveError('USAGE', `--mailbox-port: "${text.slice(0, 20)}" is not a port number (0-65535; 0 picks a free one)`)
  return port
}

/** The relay's key file: its key is what `--relay` names, so it is kept across runs. */
function defaultRelayKeyFile(): string {
  return join(configDir(), 'relay.key')
}

/** `hive relay`: a DHT node to bootstrap from and a blind relay, until Ctrl+C. */
export async function runRelay(opts: RelayOptions, reporter: Reporter, logger: Logger, shutdown: ShutdownSignals): Promise<void> {
  const bind = parseHostPort(opts.bind, { allowPortZero: true })
  if (!bind.ok || bind.value.family === 6) throw new HiveError('USAGE', `--bind: "${opts.bind.slice(0, 80)}" is not an IPv4 HOST:PORT`)
  // Others bootstrap from this address, so it cannot be a port picked at random.
  if (bind.value.port === 0) throw new HiveError('USAGE', '--bind: the DHT node needs a fixed port, not 0')
  if (opts.ephemeral && opts.identity) throw new HiveError('USAGE', '--ephemeral and --identity cannot be used together: pick one')
  const mailboxPort = parseMailboxPort(opts.mailboxPort)
  // A key only: a relay has no token, and hands out no tickets.
  const identity = opts.ephemeral ? ephemeralKey() : await loadKey(opts.identity ?? defaultRelayKeyFile())
  const keyPair = dhtKeyPair(identity.publicKey, rawPrivateKey(identity.privateKeyProto))
  const upstream = opts.dhtBootstrap && opts.dhtBootstrap !== 'none' ? opts.dhtBootstrap.split(',') : []
  // The mailbox first: a taken TCP port then fails at once, before the DHT nodes start. It is
  // loaded only here, so that `hive share` and `hive join` never load a server they do not run.
  const mailbox = mailboxPort === undefined ? undefined : await (await import('../mailbox/server.js')).startMailboxServer({ host: bind.value.host, port: mailboxPort, logger })
  let node: RelayNode
  try {
    node = await startRelayNode(bind.value.host, bind.value.port, keyPair, logger.child({ component: 'relay' }), upstream)
  } catch (err) {
    await mailbox?.close()
    throw err
  }
  shutdown.onStop(async () => {
    reporter.status('stopping the relay')
    await Promise.all([node.close(), mailbox?.close()])
  })
  // Named by the host the DHT node reports, so that both lines show the same address.
  const shown = parseHostPort(node.bootstrap)
  const mailboxUrl = mailbox && `ws://${formatHostPort({ host: shown.ok ? shown.value.host : mailbox.host, port: mailbox.port })}/v1`
  reporter.status(`hive relay is running: a DHT node on UDP ${node.bootstrap}, and a blind relay on it`)
  if (mailboxUrl) reporter.status(`and a Magic Wormhole mailbox at ${mailboxUrl} (in memory: a restart forgets every code)`)
  reporter.status('')
  reporter.status('hubs and peers use it with:')
  reporter.status(`  --dht-bootstrap ${node.bootstrap} --relay ${node.relayKey}`)
  reporter.status('(or HIVE_DHT_BOOTSTRAP and HIVE_RELAY in the environment)')
  if (mailboxUrl) {
    reporter.status('and for join codes (hive share --wormhole, hive join --join-code):')
    reporter.status(`  --wormhole-relay ${mailboxUrl}`)
    reporter.status(`(or HIVE_WORMHOLE_RELAY; the stock clients take it too: wormhole --relay-url ${mailboxUrl})`)
  }
  reporter.status('press Ctrl+C to stop')
  reporter.event('relay_ready', { bootstrap: node.bootstrap, relay: node.relayKey, ...(mailboxUrl ? { mailbox: mailboxUrl } : {}) })
}
