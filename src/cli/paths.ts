import { parseDhtBootstrap, type DhtBootstrap } from '../dht/bootstrap.js'
import { HiveError } from '../errors.js'

/** `--dht-bootstrap` and `--relay`, checked: what hub and peer need for the DHT path. */
export function dhtOptions(opts: { dhtBootstrap?: string; relay?: string[] }): { dht: DhtBootstrap; relays: Buffer[] } {
  const relays = (opts.relay ?? [])
    .map((k) => k.trim())
    .filter((k) => k !== '')
    .map((k) => {
      if (!/^[0-9a-f]{64}$/i.test(k)) throw new HiveError('USAGE', `--relay: "${k.slice(0, 80)}" is not a relay key (64 hex digits, as \`hive relay\` prints)`)
      return Buffer.from(k, 'hex')
    })
  if (relays.length > 8) throw new HiveError('USAGE', '--relay: at most 8 relays')
  return { dht: parseDhtBootstrap(opts.dhtBootstrap), relays }
}
