import { createHash } from 'node:crypto'
import { CheckError, bytes, list, object, oneOf, optional, text, type Checked } from './check.js'
import { HiveError } from '../errors.js'
import { peerIdOfEd25519 } from '../identity/ed25519.js'
import { parseHostPort } from './address.js'
import { ByteReader, ByteWriter, ShortRead } from './byte-io.js'
import { NAME_PATTERN } from './names.js'
import { ALPNS } from './services.js'

/**
 * A ticket is `hive1` + base64url(body || checksum), where the checksum is the first four
 * bytes of sha256(body). The body carries everything a peer needs to find and trust a hub:
 * see docs/PROTOCOL.md for the byte layout.
 */
export const TICKET_PREFIX = 'hive1'
/** Version 1: direct addresses only. Version 2 adds the DHT path (and is issued only with it). */
export const TICKET_VERSION = 1
export const TICKET_VERSION_DHT = 2
/** Version 2 flags: bit 0, the hub announces itself on the DHT under its key. */
export const TICKET_FLAG_DHT = 0x01
export const MAX_RELAYS = 8
const CHECKSUM_BYTES = 4
const ED25519_PUBLIC_KEY_BYTES = 32
export const MIN_TOKEN_BYTES = 16
export const MAX_TOKEN_BYTES = 64
export const MAX_ADDRESSES = 32
/** Each address is a u8-length field. */
export const MAX_ADDRESS_BYTES = 255

const key = (what: string): ReturnType<typeof bytes> => bytes((k) => k.length === ED25519_PUBLIC_KEY_BYTES, `${what} is not 32 bytes`)

export const checkTicketFields = object(
  {
    version: oneOf([TICKET_VERSION, TICKET_VERSION_DHT] as const),
    name: text({ pattern: NAME_PATTERN, message: 'the hub name is not valid' }),
    alpn: oneOf([ALPNS.hivemind, ALPNS['federated-hivemind']] as const, 'the application protocol is not one hive knows'),
    publicKey: key('the hub key'),
    token: bytes((t) => t.length >= MIN_TOKEN_BYTES && t.length <= MAX_TOKEN_BYTES, `the access token must be ${MIN_TOKEN_BYTES} to ${MAX_TOKEN_BYTES} bytes`),
    addresses: list(
      (a) => {
        const address = text()(a)
        if (Buffer.byteLength(address) > MAX_ADDRESS_BYTES) throw new CheckError(`an address is longer than ${MAX_ADDRESS_BYTES} bytes`)
        if (!parseHostPort(address).ok) throw new CheckError('an address is not HOST:PORT')
        return address
      },
      { min: 1, minMessage: 'the ticket lists no address', max: MAX_ADDRESSES, maxMessage: `the ticket lists more than ${MAX_ADDRESSES} addresses` },
    ),
    /** Version 2: the hub can be found on the DHT under `publicKey`. */
    dht: optional(oneOf([true, false] as const)),
    /** Version 2: keys of blind relays the hub also uses, for when hole punching fails. */
    relays: optional(list(key('a relay key'), { max: MAX_RELAYS, maxMessage: `the ticket lists more than ${MAX_RELAYS} relays` })),
  },
  { loose: false, nameFields: false },
)
export type TicketFields = Checked<typeof checkTicketFields>
export type Ticket = TicketFields & { peerId: string }

/**
 * What fits in a ticket: announced addresses first (the operator chose them), then the bound
 * ones, without repeats, up to MAX_ADDRESSES. The rest are returned so the caller can say so.
 */
export function chooseTicketAddresses(announced: string[], bound: string[]): { addresses: string[]; omitted: string[] } {
  const all = [...new Set([...announced, ...bound])]
  return { addresses: all.slice(0, MAX_ADDRESSES), omitted: all.slice(MAX_ADDRESSES) }
}

function checksum(body: Uint8Array): Buffer {
  return createHash('sha256').update(body).digest().subarray(0, CHECKSUM_BYTES)
}

export function peerIdOfPublicKey(publicKey: Uint8Array): string {
  return peerIdOfEd25519(publicKey)
}

export function encodeTicket(fields: TicketFields): string {
  const t = checkTicketFields(fields)
  const w = new ByteWriter().u8(t.version).text(t.name).text(t.alpn).raw(t.publicKey).short(t.token).u8(t.addresses.length)
  for (const address of t.addresses) w.text(address)
  if (t.version === TICKET_VERSION_DHT) {
    w.u8(t.dht ? TICKET_FLAG_DHT : 0).u8(t.relays?.length ?? 0)
    for (const relay of t.relays ?? []) w.raw(relay)
  }
  const body = w.done()
  return TICKET_PREFIX + Buffer.concat([body, checksum(body)]).toString('base64url')
}

function invalid(message: string): HiveError {
  return new HiveError('TICKET_INVALID', message)
}

export function decodeTicket(input: string): Ticket {
  const text = input.trim()
  if (text === '') throw invalid('the ticket is empty')
  if (!text.startsWith(TICKET_PREFIX)) {
    throw invalid(`this is not a hive ticket: it should start with "${TICKET_PREFIX}"`)
  }
  const encoded = text.slice(TICKET_PREFIX.length)
  const stray = encoded.match(/[^A-Za-z0-9_-]/)
  if (stray) throw invalid(`the ticket contains "${stray[0]}", which no ticket has: copy it again without spaces or quotes`)
  const bytes = Buffer.from(encoded, 'base64url')
  if (bytes.length <= CHECKSUM_BYTES) throw invalid('the ticket is too short: it was cut off; copy the whole ticket')
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES)
  if (!checksum(body).equals(bytes.subarray(bytes.length - CHECKSUM_BYTES))) {
    throw invalid('the ticket checksum does not match: it was cut off or altered; copy the whole ticket again')
  }
  const r = new ByteReader(body)
  let raw: Record<string, unknown>
  try {
    const version = r.u8()
    if (version !== TICKET_VERSION && version !== TICKET_VERSION_DHT) {
      throw invalid(`ticket format version ${version} is not supported by this hive (it reads versions ${TICKET_VERSION} and ${TICKET_VERSION_DHT}); upgrade hive`)
    }
    raw = { version, name: r.text(), alpn: r.text(), publicKey: new Uint8Array(r.raw(ED25519_PUBLIC_KEY_BYTES)), token: new Uint8Array(r.short()) }
    const count = r.u8()
    const addresses: string[] = []
    for (let i = 0; i < count; i++) addresses.push(r.text())
    raw.addresses = addresses
    if (version === TICKET_VERSION_DHT) {
      const flags = r.u8()
      if ((flags & ~TICKET_FLAG_DHT) !== 0) throw invalid(`the ticket sets flags this hive does not know (0x${flags.toString(16)}); upgrade hive`)
      raw.dht = (flags & TICKET_FLAG_DHT) !== 0
      const relays: Uint8Array[] = []
      const relayCount = r.u8()
      if (relayCount > MAX_RELAYS) throw invalid(`the ticket lists more than ${MAX_RELAYS} relays`)
      for (let i = 0; i < relayCount; i++) relays.push(new Uint8Array(r.raw(ED25519_PUBLIC_KEY_BYTES)))
      raw.relays = relays
    }
  } catch (err) {
    if (err instanceof HiveError) throw err
    if (err instanceof ShortRead) throw invalid('the ticket ends early: its fields are incomplete')
    throw invalid('the ticket holds text that is not valid UTF-8')
  }
  if (r.remaining > 0) throw invalid(`the ticket has ${r.remaining} unexpected bytes after its fields`)
  let fields: TicketFields
  try {
    fields = checkTicketFields(raw)
  } catch (err) {
    if (err instanceof CheckError) throw invalid(`the ticket is malformed: ${err.message}`)
    throw err
  }
  let peerId: string
  try {
    peerId = peerIdOfPublicKey(fields.publicKey)
  } catch {
    throw invalid('the ticket holds a hub key that is not a valid Ed25519 key')
  }
  return { ...fields, peerId }
}
