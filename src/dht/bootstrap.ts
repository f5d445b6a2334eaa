import { HiveError } from '../errors.js'
import { formatHostPort, parseHostPort } from '../protocol/address.js'

/**
 * Which DHT to use: hyperdht's public bootstrap nodes (`default`), none at all (the DHT path
 * off), or the nodes named. Parsed from `--dht-bootstrap` or `HIVE_DHT_BOOTSTRAP`.
 */
export type DhtBootstrap = { kind: 'default' } | { kind: 'none' } | { kind: 'nodes'; nodes: string[] }

const MAX_NODES = 16

export function parseDhtBootstrap(value: string | undefined): DhtBootstrap {
  const text = value?.trim() ?? ''
  if (text === '') return { kind: 'default' }
  if (text === 'none') return { kind: 'none' }
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '')
  if (parts.length > MAX_NODES) throw new HiveError('USAGE', `--dht-bootstrap lists more than ${MAX_NODES} nodes`)
  const nodes = parts.map((part) => {
    const parsed = parseHostPort(part)
    if (!parsed.ok || parsed.value.port === 0) {
      throw new HiveError('USAGE', `--dht-bootstrap: "${part.slice(0, 80)}" is not HOST:PORT (or the word none)`)
    }
    return formatHostPort(parsed.value)
  })
  return { kind: 'nodes', nodes }
}
