import { HiveError, errorMessage } from '../errors.js'
import type { LinkListener } from '../link/types.js'
import { withDeadline } from '../deadline.js'
import { formatHostPort } from '../protocol/address.js'
import { QuicConnection } from './connection.js'
import { loadNative, type NativeBinding, type NativeClient, type NativeServer } from './native.js'
import { DEFAULT_TRANSPORT_OPTIONS, type TransportOptions } from './options.js'

/** What an endpoint proves itself with: a libp2p protobuf-encoded Ed25519 private key. */
export interface EndpointIdentity {
  privateKeyProto: Uint8Array
}

async function makeConfig(identity: EndpointIdentity, overrides: Partial<TransportOptions>): Promise<[NativeBinding, object]> {
  const native = await loadNative()
  const o = { ...DEFAULT_TRANSPORT_OPTIONS, ...overrides }
  const config = new native.QuinnConfig({
    privateKeyProto: identity.privateKeyProto,
    // Ignored by the native layer (dials are bounded in QuicDialer instead), but required.
    handshakeTimeout: 5_000,
    maxIdleTimeout: o.maxIdleTimeoutMs,
    keepAliveInterval: o.keepAliveIntervalMs,
    maxConcurrentStreamLimit: o.maxConcurrentStreams,
    maxStreamData: o.maxStreamData,
    maxConnectionData: o.maxConnectionData,
    receiveBufferSize: o.socketBufferSize,
    sendBufferSize: o.socketBufferSize,
    shutdownTimeout: o.shutdownTimeoutMs,
  })
  return [native, config]
}

/** A bound UDP socket accepting QUIC connections. */
export class QuicListener implements LinkListener {
  private constructor(
    private readonly server: NativeServer,
    readonly host: string,
    readonly port: number,
  ) {}

  static async bind(identity: EndpointIdentity, host: string, port: number, options: Partial<TransportOptions> = {}): Promise<QuicListener> {
    const [native, config] = await makeConfig(identity, options)
    let server: NativeServer
    try {
      server = new native.Server(config, host, port)
    } catch (err) {
      const message = errorMessage(err)
      const where = formatHostPort({ host, port })
      if (/in use/i.test(message)) throw new HiveError('ADDR_IN_USE', `UDP ${where} is already in use`, { address: where }, { cause: err })
      throw new HiveError('ADDR_IN_USE', `cannot bind UDP ${where}: ${message}`, { address: where }, { cause: err })
    }
    return new QuicListener(server, host, server.port())
  }

  /** The next connection; rejects once the listener is closed. */
  async accept(): Promise<QuicConnection> {
    return new QuicConnection(await this.server.inboundConnection())
  }

  close(): void {
    try {
      this.server.abort()
    } catch {
      // Closing twice is harmless.
    }
  }
}

export interface DialOptions {
  timeoutMs: number
  signal?: AbortSignal
}

/**
 * Dials from one client endpoint per address family. quinn cannot cancel a dial and
 * ignores its handshake timeout, so the deadline is enforced here, and a connection that
 * completes after its caller gave up is closed on arrival.
 */
export class QuicDialer {
  private readonly clients = new Map<4 | 6, NativeClient>()
  private closed = false

  private constructor(
    private readonly native: NativeBinding,
    private readonly config: object,
  ) {}

  static async create(identity: EndpointIdentity, options: Partial<TransportOptions> = {}): Promise<QuicDialer> {
    const [native, config] = await makeConfig(identity, options)
    return new QuicDialer(native, config)
  }

  private client(family: 4 | 6): NativeClient {
    let client = this.clients.get(family)
    if (!client) {
      client = new this.native.Client(this.config, family === 4 ? 0 : 1)
      this.clients.set(family, client)
    }
    return client
  }

  async dial(ip: string, family: 4 | 6, port: number, options: DialOptions): Promise<QuicConnection> {
    if (this.closed) throw new HiveError('ABORTED', 'dialer closed')
    const where = formatHostPort({ host: ip, port })
    let pending: Promise<QuicConnection>
    try {
      pending = this.client(family)
        .outboundConnection(ip, port)
        .then(
          (native) => new QuicConnection(native),
          (err: unknown) => {
            throw new HiveError('HUB_UNREACHABLE', `${where}: ${errorMessage(err)}`, { address: where }, { cause: err })
          },
        )
    } catch (err) {
      throw new HiveError('HUB_UNREACHABLE', `cannot dial ${where}: ${errorMessage(err)}`, { address: where })
    }
    try {
      return await withDeadline(pending, options.timeoutMs, `dialing ${where}`, options.signal)
    } catch (err) {
      // The dial cannot be cancelled: close the connection if it still comes up.
      pending.then((late) => late.close(), () => undefined)
      throw err
    }
  }

  close(): void {
    this.closed = true
    for (const client of this.clients.values()) {
      try {
        client.abort()
      } catch {
        // Already closed.
      }
    }
    this.clients.clear()
  }
}
