import { HiveError } from '../errors.js'

/**
 * Every resource a client can make the mailbox server hold has a ceiling, because the server
 * listens on the open internet and its clients are anonymous: a hostile one is ordinary input.
 * The defaults suit a self-hosted server for a team (hundreds of exchanges at once): what it
 * stores stays under about 70 MiB, and what waits to be sent under `maxBufferedBytes` (plus a
 * frame) per connection. Tests pass small ones.
 */
export interface MailboxLimits {
  /** WebSocket connections at once; one more is told "busy" in its welcome and closed. */
  maxConnections: number
  /** Of those, from one IP address: one host cannot take every place. */
  maxConnectionsPerAddress: number
  /** Nameplates across every appid: each pins a mailbox and a number users type. */
  maxNameplates: number
  /** Mailboxes across every appid, with or without a nameplate. */
  maxMailboxes: number
  /** Messages one mailbox keeps: an exchange needs about four, a file transfer a few more. */
  maxMessagesPerMailbox: number
  /** Connections subscribed to one mailbox: its two sides, and a few stale reconnects. */
  maxListenersPerMailbox: number
  /** Characters of one `add` body (hex, so half as many bytes). */
  maxBodyChars: number
  /** Bytes of one WebSocket frame; a larger one closes the connection (ws `maxPayload`). */
  maxFrameBytes: number
  /** Bytes kept in all mailboxes together (bodies and their labels). */
  maxStoredBytes: number
  /** Characters of an appid, side, nameplate, mailbox id, phase, mood or message id. */
  maxIdChars: number
  /**
   * Bytes queued to a client that does not read; past them it is dropped, not buffered. Above
   * what an honest exchange ever queues (a few KiB), but a replay of a mailbox stuffed to its
   * limits can pass it: only the two sides can stuff their own mailbox.
   */
  maxBufferedBytes: number
  /** A connection from which nothing (not even a pong) arrived this long is closed. */
  idleTimeoutMs: number
  /** WebSocket pings this often: stock clients answer them, which keeps a waiting client alive. */
  pingIntervalMs: number
  /** Time to finish the HTTP upgrade after connecting. */
  handshakeTimeoutMs: number
  /**
   * A mailbox nobody is subscribed to and nobody touched this long is deleted, with its
   * nameplate; a client that lost its connection has this long to come back (as in Debian's
   * server, whose figure this is).
   */
  channelExpiryMs: number
  /** How often expiry is checked. */
  sweepIntervalMs: number
}

const MINUTE = 60_000

export const DEFAULT_MAILBOX_LIMITS: Readonly<MailboxLimits> = Object.freeze({
  maxConnections: 1000,
  maxConnectionsPerAddress: 100,
  maxNameplates: 1000,
  maxMailboxes: 1000,
  maxMessagesPerMailbox: 64,
  maxListenersPerMailbox: 8,
  maxBodyChars: 64 * 1024,
  maxFrameBytes: 72 * 1024,
  maxStoredBytes: 64 * 1024 * 1024,
  maxIdChars: 256,
  maxBufferedBytes: 256 * 1024,
  idleTimeoutMs: 3 * MINUTE,
  pingIntervalMs: 30_000,
  handshakeTimeoutMs: 10_000,
  channelExpiryMs: 11 * MINUTE,
  sweepIntervalMs: MINUTE,
})

/** The defaults with the caller's overrides. A zero or fractional limit would disable a guard, so it is refused. */
export function resolveLimits(overrides: Partial<MailboxLimits> = {}): MailboxLimits {
  const limits = { ...DEFAULT_MAILBOX_LIMITS, ...overrides }
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new HiveError('USAGE', `mailbox limit ${name} must be a positive integer, not ${String(value)}`)
  }
  return limits
}
