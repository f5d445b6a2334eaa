/**
 * What a hub remembers of its past, bounded, and handed on to the hub a restart starts: the
 * keys of peers that left (so that their return reads as a rejoin) and the ids of sessions it
 * gave out (so that it can tell a resuming peer whether it ever had that session).
 */
export class HubMemory {
  private readonly peers = new Set<string>()
  private readonly sessions = new Set<string>()

  constructor(private readonly limit = 4096) {}

  peerLeft(peerId: string): void {
    this.add(this.peers, peerId)
  }

  knowsPeer(peerId: string): boolean {
    return this.peers.has(peerId)
  }

  sessionGiven(id: string): void {
    this.add(this.sessions, id)
  }

  knowsSession(id: string): boolean {
    return this.sessions.has(id)
  }

  private add(set: Set<string>, key: string): void {
    set.delete(key)
    set.add(key)
    if (set.size > this.limit) set.delete(set.values().next().value!)
  }
}
