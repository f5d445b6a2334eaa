import type { Socket } from 'node:net'
import type { ServiceName } from '../protocol/services.js'

interface Waiting {
  service: ServiceName
  socket: Socket
  timer: NodeJS.Timeout
  onClose: () => void
}

/**
 * Local connections that arrive while no link to the hub is up (the peer is still joining)
 * wait here instead of being reset, in arrival order. Both the number and the wait are
 * bounded: past either, a connection is reset, which a client can retry.
 */
export class PendingSockets {
  private readonly waiting: Waiting[] = []

  constructor(
    private readonly maxCount: number,
    private readonly maxWaitMs: number,
  ) {}

  get size(): number {
    return this.waiting.length
  }

  hold(service: ServiceName, socket: Socket): void {
    socket.on('error', () => undefined)
    if (this.waiting.length >= this.maxCount) return void socket.resetAndDestroy()
    const entry: Waiting = {
      service,
      socket,
      timer: setTimeout(() => this.drop(entry), this.maxWaitMs),
      onClose: () => this.drop(entry),
    }
    // A client that gives up while waiting leaves the queue at once.
    socket.once('close', entry.onClose)
    this.waiting.push(entry)
  }

  /** Hands every waiting connection, oldest first, to `take`. */
  release(take: (service: ServiceName, socket: Socket) => void): void {
    for (const entry of this.waiting.splice(0)) {
      clearTimeout(entry.timer)
      entry.socket.off('close', entry.onClose)
      if (!entry.socket.destroyed) take(entry.service, entry.socket)
    }
  }

  /** Resets every waiting connection. */
  clear(): void {
    for (const entry of this.waiting.splice(0)) {
      clearTimeout(entry.timer)
      entry.socket.resetAndDestroy()
    }
  }

  private drop(entry: Waiting): void {
    const index = this.waiting.indexOf(entry)
    if (index < 0) return
    this.waiting.splice(index, 1)
    clearTimeout(entry.timer)
    entry.socket.resetAndDestroy()
  }
}
