import type { Socket } from 'node:net'
import type { Carry } from '../link/pipe.js'
import type { ServiceName } from '../protocol/services.js'

const ignoreError = (): void => undefined

interface Waiting {
  service: ServiceName
  socket: Socket
  /** What an earlier try read from the client before its link went. */
  carry?: Carry
  timer: NodeJS.Timeout
  onClose: () => void
}

/**
 * Local connections that arrive while no link to the hub is up (the peer is still joining,
 * or reconnecting), and those whose link went before the hub answered, wait here instead of being reset, in arrival order. Both the number and the wait are
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

  /** Holds a connection; one that already waited (since `since`, on a link that went) has only the rest of its time. */
  hold(service: ServiceName, socket: Socket, carry?: Carry, since = Date.now()): void {
    if (!socket.listeners('error').includes(ignoreError)) socket.on('error', ignoreError)
    if (this.waiting.length >= this.maxCount) return void socket.resetAndDestroy()
    const entry: Waiting = {
      service,
      socket,
      carry,
      timer: setTimeout(() => this.drop(entry), Math.max(0, since + this.maxWaitMs - Date.now())),
      onClose: () => this.drop(entry),
    }
    // A client that gives up while waiting leaves the queue at once.
    socket.once('close', entry.onClose)
    this.waiting.push(entry)
  }

  /** Hands every waiting connection, oldest first, to `take`. */
  release(take: (service: ServiceName, socket: Socket, carry?: Carry) => void): void {
    for (const entry of this.waiting.splice(0)) {
      clearTimeout(entry.timer)
      entry.socket.off('close', entry.onClose)
      if (!entry.socket.destroyed) take(entry.service, entry.socket, entry.carry)
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
