/**
 * Transport tuning, as plain data. The defaults follow what was measured on the native
 * layer (shared/transport/QUIC-BINDINGS.md): an 8 s idle timeout with a 2 s keepalive
 * notices a peer killed with `kill -9` within 10 s, and a high stream limit keeps
 * long-lived connections (websockets, keep-alive) from starving new ones.
 */
export interface TransportOptions {
  maxIdleTimeoutMs: number
  keepAliveIntervalMs: number
  maxConcurrentStreams: number
  maxStreamData: number
  maxConnectionData: number
  socketBufferSize: number
  /** How long quinn lingers to deliver a CONNECTION_CLOSE on shutdown. */
  shutdownTimeoutMs: number
}

export const DEFAULT_TRANSPORT_OPTIONS: Readonly<TransportOptions> = {
  maxIdleTimeoutMs: 8_000,
  keepAliveIntervalMs: 2_000,
  maxConcurrentStreams: 4096,
  // A stream that nobody reads (a stuck service or client) holds its whole window: 8 of them
  // in one direction take half the connection window, and the other streams keep moving.
  maxStreamData: 2 * 1024 * 1024,
  maxConnectionData: 32 * 1024 * 1024,
  socketBufferSize: 4_000_000,
  shutdownTimeoutMs: 500,
}

/** Read sizes: small while a stream idles (reads allocate up front), large under bulk load. */
export const MIN_READ_BYTES = 4 * 1024
export const MAX_READ_BYTES = 256 * 1024
