import { ephemeralIdentity } from '../../src/identity/identity.js'
import { QuicDialer, QuicListener, type QuicConnection, type TransportOptions } from '../../src/transport/index.js'

export interface QuicPair {
  listener: QuicListener
  dialer: QuicDialer
  server: QuicConnection
  client: QuicConnection
  close(): void
}

/** A real listener and dialer on loopback, connected once. */
export async function quicPair(options: Partial<TransportOptions> = {}): Promise<QuicPair> {
  const listener = await QuicListener.bind(await ephemeralIdentity(), '127.0.0.1', 0, options)
  const dialer = await QuicDialer.create(await ephemeralIdentity(), options)
  const [server, client] = await Promise.all([listener.accept(), dialer.dial('127.0.0.1', 4, listener.port, { timeoutMs: 5000 })])
  return {
    listener,
    dialer,
    server,
    client,
    close() {
      client.close()
      server.close()
      dialer.close()
      listener.close()
    },
  }
}
