import type DHT from 'hyperdht'
import type { KeyPair, NoiseSocket } from 'hyperdht'
import { rawPrivateKey } from '../identity/ed25519.js'
import type { KeyIdentity } from '../identity/identity.js'
import { withDeadline } from '../deadline.js'
import { HiveError } from '../errors.js'
import type { Ticket } from '../protocol/ticket.js'
import type { DhtBootstrap } from './bootstrap.js'
import { classifyDhtError } from './errors.js'
import { DhtLink } from './link.js'
import { dhtKeyPair, joinDht } from './node.js'
import { RelayWatch } from './relay-watch.js'

/** The peer's side of the DHT path: finds the hub by its key, punches, or goes through a relay. */
export class DhtDialer {
  private constructor(
    readonly dht: DHT,
    private readonly watch: RelayWatch,
    private readonly relays: Buffer[],
    private readonly keyPair: KeyPair,
  ) {}

  /** `identity` is the peer's key for the process, the one its QUIC dials show too. */
  static async create(bootstrap: DhtBootstrap, identity: KeyIdentity, relays: Buffer[], signal?: AbortSignal): Promise<DhtDialer> {
    const keyPair = dhtKeyPair(identity.publicKey, rawPrivateKey(identity.privateKeyProto))
    const dht = await joinDht(bootstrap, { signal })
    return new DhtDialer(dht, new RelayWatch(dht), relays, keyPair)
  }

  async dial(ticket: Ticket, timeoutMs: number, signal?: AbortSignal): Promise<DhtLink> {
    const relays = [...this.relays, ...(ticket.relays ?? []).map((r) => Buffer.from(r))]
    const socket = this.watch.connect(Buffer.from(ticket.publicKey), {
      keyPair: this.keyPair,
      relayThrough: relays.length > 0 ? relays : null,
    })
    socket.on('error', () => undefined)
    const opened = new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
      socket.once('close', () => reject(new HiveError('HUB_UNREACHABLE', 'the DHT connection closed before it opened')))
    })
    try {
      await withDeadline(opened, timeoutMs, `reaching hub \`${ticket.name}\` over the DHT`, signal)
    } catch (err) {
      socket.destroy()
      if (err instanceof HiveError && (err.code === 'TIMEOUT' || err.code === 'ABORTED' || err.code === 'HUB_UNREACHABLE')) {
        throw err.code === 'TIMEOUT' ? new HiveError('HUB_UNREACHABLE', `could not reach hub \`${ticket.name}\` over the DHT within ${timeoutMs} ms`) : err
      }
      throw classifyDhtError(err, ticket.name, relays.length > 0)
    }
    return new DhtLink(socket as NoiseSocket, 'client', this.watch.isRelayed(socket) ? 'relayed' : 'holepunched')
  }

  async close(): Promise<void> {
    await this.dht.destroy({ force: true }).catch(() => undefined)
  }
}
