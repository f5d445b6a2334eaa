/** What one hub lets the network make it hold: plain data, documented in README.md. */
export interface HubLimits {
  /** Peers in session at once (`--max-peers`). */
  maxPeers: number
  /** Streams, so TCP connections, one peer may have open at once (`--max-streams`). QUIC enforces it: more wait at the peer. */
  maxStreamsPerPeer: number
  /** Links that have not been welcomed yet, at once, like OpenSSH's MaxStartups. */
  maxUnwelcomed: number
  /** An unwelcomed link older than this gives its place to a new one when the cap is reached. */
  unwelcomedGraceMs: number
  /**
   * Accepts kept pending on each listener, so a handshake that never finishes blocks only its
   * own. Such a handshake holds its accept for QUIC's 15 s idle timeout: 32 of them let one
   * junk handshake per second through with room to spare. Each pending accept costs memory
   * when a burst comes (64 took a 2000-connection burst past 64 MiB).
   */
  acceptConcurrency: number
}

export const DEFAULT_HUB_LIMITS: Readonly<HubLimits> = {
  maxPeers: 16,
  maxStreamsPerPeer: 1024,
  maxUnwelcomed: 64,
  unwelcomedGraceMs: 1_000,
  acceptConcurrency: 32,
}
