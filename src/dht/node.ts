import DHT, { type KeyPair } from 'hyperdht'
import { withDeadline } from '../deadline.js'
import { HiveError, errorMessage } from '../errors.js'
import type { DhtBootstrap } from './bootstrap.js'

/** How long joining the DHT may take before hive says it cannot be reached. */
const READY_TIMEOUT_MS = 10_000

/** The hub's Ed25519 identity, as hyperdht wants it: libsodium's 64-byte secret key layout. */
export function dhtKeyPair(publicKey: Uint8Array, rawPrivateKey: Uint8Array): KeyPair {
  if (rawPrivateKey.length !== 64 || publicKey.length !== 32) throw new HiveError('INTERNAL', 'an Ed25519 key pair has the wrong length')
  return { publicKey: Buffer.from(publicKey), secretKey: Buffer.from(rawPrivateKey) }
}

function isLoopback(node: string): boolean {
  return node.startsWith('127.') || node.startsWith('[::1]') || node.startsWith('localhost:')
}

/**
 * Joins the DHT. With bootstrap nodes on loopback only (a local test network), the node binds
 * to 127.0.0.1 too: bound to every interface, hyperdht announces an address its loopback
 * peers cannot reach.
 */
export async function joinDht(bootstrap: DhtBootstrap, options: { keyPair?: KeyPair; signal?: AbortSignal } = {}): Promise<DHT> {
  if (bootstrap.kind === 'none') throw new HiveError('INTERNAL', 'the DHT is off')
  const nodes = bootstrap.kind === 'nodes' ? bootstrap.nodes : undefined
  const local = nodes !== undefined && nodes.every(isLoopback)
  const dht = new DHT({ bootstrap: nodes, keyPair: options.keyPair, ...(local ? { host: '127.0.0.1' } : {}) })
  dht.on('error', () => undefined)
  try {
    await withDeadline(dht.ready(), READY_TIMEOUT_MS, 'joining the DHT', options.signal)
    // hyperdht is "ready" even when no bootstrap node answered; then it knows no node at all.
    if (dht.table.size === 0) throw new HiveError('DHT_UNREACHABLE', 'no DHT node answered')
  } catch (err) {
    await dht.destroy({ force: true }).catch(() => undefined)
    const where = nodes ? ` at ${nodes.join(', ')}` : ''
    throw new HiveError('DHT_UNREACHABLE', `could not join the DHT${where} (${errorMessage(err)})`)
  }
  return dht
}
