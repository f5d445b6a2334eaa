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
export async function startRelayNode(host: string, port: number, keyPair: KeyPair, log: Logger, bootstrap?: string[]): Promise<RelayNode> {
  let dht: DHT
  try {
    dht = DHT.bootstrapper(port, host, bootstrap ? { bootstrap } : {})
    dht.on('error', () => undefined)
    await dht.ready()
  } catch (err) {
    const where = formatHostPort({ host, port })
    throw new HiveError('ADDR_IN_USE', `cannot run a DHT node on UDP ${where}: ${errorMessage(err)}`, { address: where })
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
      await dht.destroy({ force: true }).catch(() => undefined)
    },
  }
}
