import { HiveError } from '../errors.js'
import { KnownHubs } from '../peer/known-hubs.js'
import { defaultPeerKeyFile, loadKey, type KeyIdentity } from '../identity/identity.js'
import type { Reporter } from './reporter.js'
import { table } from './table.js'

/** `hive hubs`: the hubs this machine joined, which `hive join NAME --hub HUB` joins again. */
export async function listHubs(reporter: Reporter): Promise<void> {
  const hubs = await KnownHubs.inConfig().list()
  reporter.event('hubs', {
    hubs: hubs.map((h) => ('ticket' in h ? { name: h.name, hub_peer_id: h.ticket.peerId, addresses: h.ticket.addresses, dht: h.ticket.dht } : { name: h.name, error: h.error })),
  })
  if (hubs.length === 0) return reporter.status('no remembered hubs yet: a join with --ticket or --join-code remembers its hub')
  const rows = hubs.map((h) => ('ticket' in h ? [h.name, h.ticket.peerId, h.ticket.addresses.join(',') + (h.ticket.dht ? ' (and the DHT)' : '')] : [h.name, '-', `unreadable: ${h.error}`]))
  for (const line of table(['HUB', 'HUB KEY', 'ADDRESSES'], rows)) reporter.listing(line)
}

export async function forgetHub(name: string, reporter: Reporter): Promise<void> {
  if (!(await KnownHubs.inConfig().forget(name))) throw new HiveError('USAGE', `no remembered hub named ${name.slice(0, 80)}; \`hive hubs\` lists them`)
  reporter.event('hub_forgotten', { name })
  reporter.status(`forgot hub \`${name}\``)
}

/** This machine's peer key (`--identity`, or peer.key), created on first use, which it says. */
export async function loadPeerKey(identity: string | undefined, reporter: Reporter): Promise<KeyIdentity & { keyFile: string }> {
  const file = identity ?? defaultPeerKeyFile()
  const key = await loadKey(file)
  if (key.created) reporter.status(`created peer key ${file}`)
  return { ...key, keyFile: file }
}

/** `hive id`: the peer id of this machine's key, for a hub's operator to allow ahead of time. */
export async function printPeerId(opts: { identity?: string }, reporter: Reporter): Promise<void> {
  const key = await loadPeerKey(opts.identity, reporter)
  reporter.event('peer_id', { peer_id: key.peerId, file: key.keyFile })
  reporter.listing(key.peerId)
}
