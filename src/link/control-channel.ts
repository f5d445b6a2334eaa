import { HiveError } from '../errors.js'
import { MAX_CONTROL_FRAME, decodeControl, encodeControl, type ControlMessage, type ProtocolVersion } from '../protocol/control.js'
import type { ServiceEntry } from '../protocol/services.js'
import { printable } from '../printable.js'
import type { ByteStream } from './types.js'

/**
 * Framed control messages over one stream, in either direction. Until the handshake settles
 * the version, it sends only what version 1 defines, since a version 1 peer reads strictly.
 */
export class ControlChannel {
  private buffered: Buffer = Buffer.alloc(0)
  /** The version both sides speak, once hello and welcome have settled it. */
  version: ProtocolVersion = 1
  /** Data streams the hub lets us keep open at once, when its welcome said (version 2). */
  streamLimit: number | undefined
  /** The hub's name for this session (version 2 hubs that answer pings and take `resume`). */
  sessionId: string | undefined
  /** For a hello that resumed a session the hub no longer holds: whether it ever had it. */
  previous: string | undefined
  /** With `previous: ended`: the last data stream the hub took on that session. */
  seen: number | undefined
  /** The hub's services, when its welcome gave the table (the peer asked with `table`). */
  services: ServiceEntry[] | undefined
  /** The largest frame the other side reads: MAX_HUB_FRAME once a peer asked for the table. */
  sendLimit = MAX_CONTROL_FRAME

  /** `readLimit`: the largest frame taken from the other side (a peer takes larger ones from its hub). */
  constructor(
    readonly stream: ByteStream,
    private readonly readLimit = MAX_CONTROL_FRAME,
  ) {}

  send(message: ControlMessage): Promise<void> {
    return this.stream.write(encodeControl(message, this.sendLimit))
  }

  /** The next message, or null when the other side finished the stream. Unknown types are skipped. */
  async next(): Promise<ControlMessage | null> {
    for (;;) {
      const decoded = decodeControl(this.buffered, this.readLimit)
      if (decoded.ok) {
        this.buffered = decoded.rest
        if (decoded.message === null) continue
        return decoded.message
      }
      if (decoded.reason === 'unsupported-version') {
        throw new HiveError('PROTOCOL_MISMATCH', `the other side speaks hive protocol ${printable(decoded.detail, 40)}`, { reason: 'version' })
      }
      if (decoded.reason !== 'short') {
        throw new HiveError('PROTOCOL_VIOLATION', `bad control message (${decoded.reason}: ${printable(decoded.detail, 120)})`)
      }
      const chunk = await this.stream.readUpTo(4096)
      if (chunk === null) {
        if (this.buffered.length > 0) throw new HiveError('PROTOCOL_VIOLATION', 'control stream ended inside a message')
        return null
      }
      this.buffered = Buffer.concat([this.buffered, chunk])
    }
  }

  /** Says goodbye and finishes the stream; never throws, since the other side may be gone. */
  async bye(reason: string, code?: string): Promise<void> {
    const message: ControlMessage = this.version >= 2 && code ? { type: 'bye', reason, code } : { type: 'bye', reason }
    await this.send(message).catch(() => undefined)
    await this.stream.finish()
  }
}
