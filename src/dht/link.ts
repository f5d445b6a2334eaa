import type { NoiseSocket } from 'hyperdht'
import { MuxLink } from '../link/mux/mux-link.js'
import { formatHostPort } from '../protocol/address.js'
import { peerIdOfPublicKey } from '../protocol/ticket.js'

/** How a link reaches the other side: QUIC to a ticket address, or the DHT path's two ways. */
export type LinkPath = 'direct' | 'holepunched' | 'relayed'

/** A link over one hyperdht connection: Noise-encrypted, to the key the other side proved. */
export class DhtLink extends MuxLink {
  constructor(
    readonly noise: NoiseSocket,
    role: 'client' | 'server',
    path: LinkPath,
    maxRemoteStreams?: number,
  ) {
    const raw = noise.rawStream
    const where = raw ? formatHostPort({ host: raw.remoteHost, port: raw.remotePort }) : 'the DHT'
    super(noise, {
      role,
      remotePeerId: peerIdOfPublicKey(noise.remotePublicKey),
      remoteAddress: path === 'relayed' ? `${where} (relay)` : where,
      path,
      maxRemoteStreams,
    })
  }
}
