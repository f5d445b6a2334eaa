import type DHT from 'hyperdht'
import type { NoiseSocket } from 'hyperdht'

/**
 * Tells whether a hyperdht connection runs through a blind relay. hyperdht does not say: it
 * pairs through a relay by opening its own connection to the relay's key with `dht.connect`,
 * then points the connection's raw stream at that relay's address. So every `connect` call
 * that hive did not make itself is recorded, and a connection is relayed when its raw stream
 * goes to the same place, over the same UDP socket, as one of those.
 */
export class RelayWatch {
  private readonly internal = new Set<NoiseSocket>()
  private ours = false

  constructor(private readonly dht: DHT) {
    const connect = dht.connect.bind(dht)
    dht.connect = (publicKey, options) => {
      const socket = connect(publicKey, options)
      if (!this.ours) {
        this.internal.add(socket)
        socket.once('close', () => this.internal.delete(socket))
      }
      return socket
    }
  }

  /** hive's own connect, which is not a relay's. */
  connect(publicKey: Buffer, options: Parameters<DHT['connect']>[1]): NoiseSocket {
    this.ours = true
    try {
      return this.dht.connect(publicKey, options)
    } finally {
      this.ours = false
    }
  }

  isRelayed(socket: NoiseSocket): boolean {
    const raw = socket.rawStream
    if (!raw) return false
    for (const relay of this.internal) {
      const r = relay.rawStream
      if (r && r.socket === raw.socket && r.remoteHost === raw.remoteHost && r.remotePort === raw.remotePort) return true
    }
    return false
  }
}
