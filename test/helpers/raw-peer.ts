import { pino } from 'pino'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import type { ByteStream, Link } from '../../src/link/types.js'
import { dialHub } from '../../src/peer/connect.js'
import { encodeControlHeader } from '../../src/protocol/header.js'
import { decodeTicket } from '../../src/protocol/ticket.js'
import { QuicDialer } from '../../src/transport/index.js'

/** A control frame with any JSON body at all, valid or not: a u16 length, then the bytes. */
export function rawFrame(body: unknown): Buffer {
  const json = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8')
  const out = Buffer.alloc(2 + json.length)
  out.writeUInt16BE(json.length & 0xffff, 0)
  json.copy(out, 2)
  return out
}

export interface RawPeer {
  link: Link
  control: ByteStream
  /** Sends raw bytes on the control stream. */
  send(bytes: Buffer): Promise<void>
  close(): void
}

/**
 * A hand-written peer: dials the hub of `ticket` over real QUIC and opens the control stream,
 * then sends whatever a test wants, so the hub's handling of hostile input is tested through
 * the real transport.
 */
export async function rawPeer(ticket: string): Promise<RawPeer> {
  const dialer = await QuicDialer.create(await ephemeralIdentity())
  const link = await dialHub(dialer, decodeTicket(ticket), 5000, pino({ level: 'silent' }))
  const control = await link.openStream()
  await control.write(encodeControlHeader())
  return {
    link,
    control,
    send: (bytes) => control.write(bytes),
    close() {
      link.close()
      dialer.close()
    },
  }
}

/** The token of a ticket, as a hello carries it. */
export function ticketToken(ticket: string): string {
  return Buffer.from(decodeTicket(ticket).token).toString('base64url')
}
