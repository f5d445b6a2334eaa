import { ephemeralIdentity } from '../../src/identity/identity.js'
import type { ByteStream, Link } from '../../src/link/types.js'
import { HEADER_LENGTH } from '../../src/protocol/header.js'
import { ALPNS } from '../../src/protocol/services.js'
import { encodeTicket } from '../../src/protocol/ticket.js'
import { QuicListener } from '../../src/transport/index.js'

export interface RawHub {
  /** A valid ticket for this hub (its key, a random token, its loopback address). */
  ticket: string
  /** Resolves with each peer's link and control stream, once its header has arrived. */
  nextPeer(): Promise<{ link: Link; control: ByteStream; hello: Buffer }>
  close(): void
}

/**
 * A hand-written hub on real QUIC: it takes a peer's control stream and hello, then answers
 * whatever a test wants, so the peer's handling of a hostile hub is tested through the real
 * transport and the built CLI.
 */
export async function rawHub(name = 'raw-hub'): Promise<RawHub> {
  const identity = await ephemeralIdentity()
  const listener = await QuicListener.bind(identity, '127.0.0.1', 0)
  const ticket = encodeTicket({
    version: 1,
    name,
    alpn: ALPNS.hivemind,
    publicKey: identity.publicKey,
    token: identity.token,
    addresses: [`127.0.0.1:${listener.port}`],
  })
  return {
    ticket,
    async nextPeer() {
      const link = await listener.accept()
      const control = await link.acceptStream()
      await control.readExactly(HEADER_LENGTH)
      const length = (await control.readExactly(2)).readUInt16BE(0)
      const hello = await control.readExactly(length)
      return { link, control, hello }
    },
    close: () => listener.close(),
  }
}
