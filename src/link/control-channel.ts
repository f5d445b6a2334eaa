import { HiveError } from '../errors.js'
import { decodeControl, encodeControl, type ControlMessage } from '../protocol/control.js'
import type { ByteStream } from './types.js'
import { printable } from '../printable.js'

/** Framed control messages over one QUIC stream, in either direction. */
export class ControlChannel {
  private buffered: Buffer = Buffer.alloc(0)

  constructor(readonly stream: ByteStream) {}

  send(message: ControlMessage): Promise<void> {
    return this.stream.write(encodeControl(message))
  }

  /** The next message, or null when the other side finished the stream. */
  async next(): Promise<ControlMessage | null> {
    for (;;) {
      const decoded = decodeControl(this.buffered)
      if (decoded.ok) {
        this.buffered = decoded.rest
        return decoded.message
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
  async bye(reason: string): Promise<void> {
    await this.send({ type: 'bye', reason }).catch(() => undefined)
    await this.stream.finish()
  }
}
