import type DHT from 'hyperdht'
import type { KeyPair, NoiseSocket, Server } from 'hyperdht'
import { HiveError, errorMessage } from '../errors.js'
import type { LinkListener } from '../link/types.js'
import { DhtLink } from './link.js'
import { RelayWatch } from './relay-watch.js'

/** Connections opened but not yet taken by the hub's accept loop; more are dropped. */
const MAX_QUEUED = 64

/**
 * The hub's side of the DHT path: it announces the hub's key on the DHT and takes
 * connections there (hole punched, or through a blind relay), each becoming a link.
 */
export class DhtListener implements LinkListener {
  readonly host: string
  readonly port: number
  private readonly queue: DhtLink[] = []
  private waiters: Array<{ resolve: (l: DhtLink) => void; reject: (e: HiveError) => void }> = []
  private closed = false

  private constructor(
    readonly dht: DHT,
    private readonly server: Server,
    private readonly watch: RelayWatch,
    private readonly maxRemoteStreams: number,
  ) {
    const address = dht.address()
    this.host = address.host
    this.port = address.port
    server.on('connection', (socket: NoiseSocket) => this.onConnection(socket))
  }

  static async listen(dht: DHT, keyPair: KeyPair, options: { relays: Buffer[]; maxRemoteStreams: number }): Promise<DhtListener> {
    const watch = new RelayWatch(dht)
    const relays = options.relays
    const server = dht.createServer({
      // Punching first; a relay, when there is one, carries the connection until it works.
      relayThrough: relays.length > 0 ? () => relays[Math.floor(Math.random() * relays.length)]! : null,
    })
    const listener = new DhtListener(dht, server, watch, options.maxRemoteStreams)
    try {
      await server.listen(keyPair)
    } catch (err) {
      throw new HiveError('DHT_UNREACHABLE', `could not announce the hub on the DHT: ${errorMessage(err)}`)
    }
    return listener
  }

  accept(): Promise<DhtLink> {
    const next = this.queue.shift()
    if (next) return Promise.resolve(next)
    if (this.closed) return Promise.reject(new HiveError('ABORTED', 'the DHT listener is closed'))
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const w of this.waiters) w.reject(new HiveError('ABORTED', 'the DHT listener is closed'))
    this.waiters = []
    for (const link of this.queue.splice(0)) link.close()
    // The listener owns its DHT node: leaving the DHT lets the process end.
    this.server
      .close()
      .catch(() => undefined)
      .then(() => this.dht.destroy())
      .catch(() => undefined)
  }

  private onConnection(socket: NoiseSocket): void {
    socket.on('error', () => undefined)
    if (this.closed || this.queue.length >= MAX_QUEUED) return void socket.destroy()
    const link = new DhtLink(socket, 'server', this.watch.isRelayed(socket) ? 'relayed' : 'holepunched', this.maxRemoteStreams)
    const waiter = this.waiters.shift()
    if (waiter) waiter.resolve(link)
    else this.queue.push(link)
  }
}
