import { rawPrivateKey } from '../identity/ed25519.js'
import { dirname, join } from 'node:path'
import type { Logger } from 'pino'
import { dhtKeyPair } from '../dht/node.js'
import { startRelayNode } from '../dht/relay-node.js'
import { HiveError } from '../errors.js'
import { defaultIdentityFile, ephemeralIdentity, loadIdentity } from '../identity/identity.js'
import { parseHostPort } from '../protocol/address.js'
import type { Reporter } from './reporter.js'
import type { ShutdownSignals } from './shutdown.js'

export interface RelayOptions {
  bind: string
  identity?: string
  ephemeral?: boolean
  dhtBootstrap?: string
}

/** The relay's key file: its key is what `--relay` names, so it is kept across runs. */
function defaultRelayKeyFile(): string {
  return join(dirname(defaultIdentityFile()), 'relay.key')
}

/** `hive relay`: a DHT node to bootstrap from and a blind relay, until Ctrl+C. */
export async function runRelay(opts: RelayOptions, reporter: Reporter, logger: Logger, shutdown: ShutdownSignals): Promise<void> {
  const bind = parseHostPort(opts.bind, { allowPortZero: true })
  if (!bind.ok || bind.value.family === 6) throw new HiveError('USAGE', `--bind: "${opts.bind.slice(0, 80)}" is not an IPv4 HOST:PORT`)
  // Others bootstrap from this address, so it cannot be a port picked at random.
  if (bind.value.port === 0) throw new HiveError('USAGE', '--bind: the DHT node needs a fixed port, not 0')
  if (opts.ephemeral && opts.identity) throw new HiveError('USAGE', '--ephemeral and --identity cannot be used together: pick one')
  const identity = opts.ephemeral ? await ephemeralIdentity() : await loadIdentity(opts.identity ?? defaultRelayKeyFile())
  const keyPair = dhtKeyPair(identity.publicKey, rawPrivateKey(identity.privateKeyProto))
  const upstream = opts.dhtBootstrap && opts.dhtBootstrap !== 'none' ? opts.dhtBootstrap.split(',') : []
  const node = await startRelayNode(bind.value.host, bind.value.port, keyPair, logger.child({ component: 'relay' }), upstream)
  shutdown.onStop(async () => {
    reporter.status('stopping the relay')
    await node.close()
  })
  reporter.status(`hive relay is running: a DHT node on UDP ${node.bootstrap}, and a blind relay on it`)
  reporter.status('')
  reporter.status('hubs and peers use it with:')
  reporter.status(`  --dht-bootstrap ${node.bootstrap} --relay ${node.relayKey}`)
  reporter.status('(or HIVE_DHT_BOOTSTRAP and HIVE_RELAY in the environment)')
  reporter.status('press Ctrl+C to stop')
  reporter.event('relay_ready', { bootstrap: node.bootstrap, relay: node.relayKey })
}
