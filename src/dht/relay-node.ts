import DHT, { type KeyPair, type NoiseSocket } from 'hyperdht'
import { Server as BlindRelay } from 'blind-relay'
import type { Logger } from 'pino'
import { HiveError, errorMessage } from '../errors.js'
import { formatHostPort } from '../protocol/address.js'

export interface RelayNode {
  /** Where other nodes bootstrap from: pass it to `--dht-bootstrap`. */
  bootstrap: string
  /** The blind relay's key, hex: pass it to `--relay`. */
  relayKey: string
  close(): Promise<void>
}

/**
 * A self-hosted rendezvous: a DHT node others bootstrap from, and a blind relay on it. The
 * relay pairs two connections that present the same token and forwards their encrypted
 * bytes; it never holds a key for them.
 */
/**
 * A hole puncher learns its NAT's kind from what 3 or more DHT nodes report back (hyperdht's
 * lib/nat.js): with the bootstrapper alone every punch aborts. So a self-hosted DHT runs
 * the bootstrapper and this many more full nodes, on the ports after it.
 */
const EXTRA_NODES = 3

export async function startRelayNode(host: string, port: number, keyPair: KeyPair, log: Logger, bootstrap?: string[]): Promise<RelayNode> {
  let dht: DHT
  const extra: DHT[] = []
  try {
    dht = DHT.bootstrapper(port, host, bootstrap && bootstrap.length > 0 ? { bootstrap } : {})
    dht.on('error', () => undefined)
    await dht.ready()
    const self = [{ host, port }]
    for (let i = 1; i <= EXTRA_NODES; i++) {
      const node = new DHT({ bootstrap: self, host, port: port + i, ephemeral: false, firewalled: false })
      node.on('error', () => undefined)
      extra.push(node)
      await node.ready()
    }
  } catch (err) {
    const where = formatHostPort({ host, port })
    for (const node of extra) await node.destroy({ force: true }).catch(() => undefined)
    throw new HiveError('ADDR_IN_USE', `cannot run DHT nodes on UDP ${where} and the ${EXTRA_NODES} ports after it: ${errorMessage(err)}`, { address: where })
  }
  const relay = new BlindRelay({ createStream: (options) => dht.createRawStream({ ...(options as object), framed: true }) })
  const server = dht.createServer({}, (socket: NoiseSocket) => {
    socket.on('error', () => undefined)
    const session = relay.accept(socket, { id: socket.remotePublicKey })
    session.on('error', (err: unknown) => log.debug({ err: errorMessage(err) }, 'relay session failed'))
  })
  try {
    await server.listen(keyPair)
  } catch (err) {
    await dht.destroy({ force: true }).catch(() => undefined)
    throw new HiveError('INTERNAL', `the blind relay could not listen: ${errorMessage(err)}`)
  }
  const address = dht.address()
  return {
    bootstrap: formatHostPort({ host: host === '0.0.0.0' ? address.host : host, port: address.port }),
    relayKey: keyPair.publicKey.toString('hex'),
    async close() {
      await server.close().catch(() => undefined)
      await relay.close().catch(() => undefined)
      for (const node of extra) await node.destroy({ force: true }).catch(() => undefined)
      await dht.destroy({ force: true }).catch(() => undefined)
    },
  }
}
