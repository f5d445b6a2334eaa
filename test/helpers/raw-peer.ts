import { pino } from 'pino'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import type { ByteStream, Link } from '../../src/link/types.js'
import { dialQuic } from '../../src/peer/connect.js'
import { encodeControlHeader, encodeDataHeader } from '../../src/protocol/header.js'
import { decodeTicket } from '../../src/protocol/ticket.js'
import { QuicDialer, type EndpointIdentity } from '../../src/transport/index.js'

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
export async function rawPeer(ticket: string, identity?: EndpointIdentity): Promise<RawPeer> {
  const dialer = await QuicDialer.create(identity ?? (await ephemeralIdentity()))
  const link = await dialQuic(dialer, decodeTicket(ticket), 5000, pino({ level: 'silent' }))
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

/** Reads one control frame and parses its JSON; null at the end of the stream. */
export async function readFrame(stream: ByteStream): Promise<Record<string, unknown> | null> {
  const head = await stream.readExactly(2)
  if (head.length < 2) return null
  const body = await stream.readExactly(head.readUInt16BE(0))
  return JSON.parse(body.toString('utf8')) as Record<string, unknown>
}

/** A valid hello for `ticket`, in `version`. */
export function helloFor(ticket: string, peer = 'raw-peer', version = 2): Record<string, unknown> {
  return { type: 'hello', version, token: ticketToken(ticket), peer, alpn: 'HIVEMIND/1.0.0' }
}

/** The token of a ticket, as a hello carries it. */
export function ticketToken(ticket: string): string {
  return Buffer.from(decodeTicket(ticket).token).toString('base64url')
}

/**
 * One HTTP request as a peer of any version makes it: a data stream with `portId`'s header,
 * the hub's one-byte answer, then `GET /` and the whole response (empty when refused).
 */
export async function getThroughStream(link: Link, portId: number): Promise<{ ack: Buffer; response: string }> {
  const stream = await link.openStream()
  await stream.write(encodeDataHeader(portId))
  const ack = await stream.readExactly(1)
  if (ack[0] !== 0xff) return { ack, response: '' }
  await stream.write(Buffer.from('GET / HTTP/1.0\r\n\r\n'))
  await stream.finish()
  const parts: Buffer[] = []
  for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) parts.push(chunk)
  return { ack, response: Buffer.concat(parts).toString() }
}
