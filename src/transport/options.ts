/**
 * Transport tuning, as plain data. The idle timeout is not how a dead hub is noticed (pings
 * on the control stream do that, in about 3 s), so it can be long: after an outage of N
 * seconds, quinn's retransmission backoff and a sender blocked by its congestion window (it
 * sends not even ACKs then) can keep a working link silent until about 2N, and a shorter
 * timeout kills a link that was about to recover (15 s: outages up to about 7 s). Not
 * longer: a handshake that never finishes holds one of the hub's accepts this long. A high
 * stream limit keeps long-lived connections (websockets, keep-alive) from starving new ones.
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
  maxIdleTimeoutMs: 15_000,
  keepAliveIntervalMs: 2_000,
  maxConcurrentStreams: 4096,
  // A stream that nobody reads (a stuck service or client) holds its whole window: 8 of them
  // in one direction take half the connection window, and the other streams keep moving.
  maxStreamData: 2 * 1024 * 1024,
  maxConnectionData: 32 * 1024 * 1024,
  socketBufferSize: 4_000_000,
  shutdownTimeoutMs: 500,
}

/**
 * QUIC receive windows sized for the bandwidth-delay product of a long link, for the peer only.
 * 6 MiB lets one stream carry about 330 Mbit/s at 150 ms RTT, where 2 MiB capped it near 110.
 * The peer receives from the hub it chose and authenticated, so only that hub can make it
 * hold them; the hub keeps the defaults, since it receives from anyone who connects. The
 * connection window keeps the ratio: 8 stuck streams take half of it. The DHT path's mux keeps
 * 2 MiB: measured at 150 ms RTT, its one stream carried 83 Mbit/s with 2 MiB, 66 with 4 and
 * 50 with 6 (UDX sends the larger bursts less well).
 */
export const PEER_TRANSPORT_OPTIONS: Readonly<Partial<TransportOptions>> = { maxStreamData: 6 * 1024 * 1024, maxConnectionData: 96 * 1024 * 1024 }

/**
 * Read sizes: small while a stream idles (reads allocate up front), larger under bulk load. Not
 * above 64 KiB: each chunk is native memory that lives until V8 collects its Buffer, and glibc
 * keeps what the larger chunks leave behind. 64 against 256 KiB, alternated: the same bulk rate
 * and CPU, and the hub's RSS after the bench's load 104-105 MB against 116-117.
 */
export const MIN_READ_BYTES = 4 * 1024
export const MAX_READ_BYTES = 64 * 1024
