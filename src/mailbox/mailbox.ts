import { Refusal, type Budget } from './budget.js'

/** One message as stored and replayed: `id` is the sender's request id, which the stock clients ignore. */
export interface StoredMessage {
  side: string
  phase: string
  body: string
  id: string | null
  /** When the server got it, in ms since the epoch. */
  receivedAt: number
}

/** A connection subscribed to a mailbox: it is handed every message, its own echoes included. */
export interface Listener {
  deliver(message: StoredMessage): void
}

/** What a stored message costs beyond its strings (object, array slot, number): an estimate, on the safe side. */
const MESSAGE_OVERHEAD = 128

/** Characters count as 2 bytes: V8 may hold a string in two-byte form. */
function costOf(message: StoredMessage): number {
  return MESSAGE_OVERHEAD + 2 * (message.side.length + message.phase.length + message.body.length + (message.id?.length ?? 0))
}

/**
 * A store-and-forward queue between two sides. A side counts from its first claim or open
 * until the mailbox goes away, even after it closes, so a third side is always "crowded"
 * and two peers keep each other's messages to themselves.
 */
export class Mailbox {
  private readonly sides = new Map<string, { open: boolean; mood: string | null }>()
  private readonly messages: StoredMessage[] = []
  private readonly listeners = new Set<Listener>()
  private storedBytes = 0
  /** Deleted from its namespace: a connection that still holds it can store nothing more. */
  private gone = false
  /** Last activity, in ms: a mailbox nobody listens to expires some time after this. */
  touched: number

  constructor(
    readonly id: string,
    now: number,
    private readonly budget: Budget,
  ) {
    this.touched = now
  }

  /** Whether `side` may open this mailbox: it already has, or there is room for it. */
  admits(side: string): boolean {
    return this.sides.has(side) || this.sides.size < 2
  }

  /**
   * Records `side` as a party. A side that closed stays closed: Debian's server lets it open
   * again (a client unsure whether its close arrived sends another), but not undo the close.
   */
  join(side: string, now: number): void {
    if (!this.admits(side)) throw new Refusal('crowded')
    if (!this.sides.has(side)) this.sides.set(side, { open: true, mood: null })
    this.touched = now
  }

  /** Subscribes `listener` and returns every message so far, to replay in order. */
  subscribe(listener: Listener): readonly StoredMessage[] {
    if (!this.listeners.has(listener) && this.listeners.size >= this.budget.limits.maxListenersPerMailbox) {
      throw new Refusal('too many connections to this mailbox')
    }
    this.listeners.add(listener)
    return [...this.messages]
  }

  unsubscribe(listener: Listener): void {
    this.listeners.delete(listener)
  }

  get listening(): boolean {
    return this.listeners.size > 0
  }

  /** Stores a message and hands it to every listener, the sender included. */
  add(message: StoredMessage): void {
    if (this.gone) throw new Refusal('this mailbox was closed by both sides')
    if (this.messages.length >= this.budget.limits.maxMessagesPerMailbox) throw new Refusal('this mailbox is full')
    const cost = costOf(message)
    this.budget.needBytes(cost)
    this.messages.push(message)
    this.storedBytes += cost
    this.budget.storedBytes += cost
    this.touched = message.receivedAt
    // A copy: a listener that fails may unsubscribe while being handed the message.
    for (const listener of [...this.listeners]) listener.deliver(message)
  }

  /** Records that `side` is done; returns true once every side is, when the mailbox should go. */
  close(side: string, mood: string | null, now: number): boolean {
    const state = this.sides.get(side)
    if (!state) return false
    state.open = false
    state.mood = mood
    this.touched = now
    return [...this.sides.values()].every((s) => !s.open)
  }

  /** Moods recorded so far, for the log. */
  moods(): string[] {
    return [...this.sides.values()].flatMap((s) => (s.mood === null ? [] : [s.mood]))
  }

  /** Lets go of the messages and the listeners; the budget gets the bytes back. */
  discard(): void {
    this.gone = true
    this.budget.storedBytes -= this.storedBytes
    this.storedBytes = 0
    this.messages.length = 0
    this.listeners.clear()
  }
}
