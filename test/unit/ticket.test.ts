import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import { HiveError } from '../../src/errors.js'
import { decodeTicket, encodeTicket, type TicketFields } from '../../src/protocol/ticket.js'

const identity = await ephemeralIdentity()
const fields: TicketFields = {
  version: 1,
  name: 'my-hub',
  alpn: 'HIVEMIND/1.0.0',
  publicKey: identity.publicKey,
  token: identity.token,
  addresses: ['127.0.0.1:7000', '[::1]:7001', 'hub.example.org:7000'],
}
const ticket = encodeTicket(fields)

function rebuild(body: Buffer): string {
  // A ticket with a valid checksum over an arbitrary body, to reach the checks behind it.
  const sum = createHash('sha256').update(body).digest().subarray(0, 4)
  return 'hive1' + Buffer.concat([body, sum]).toString('base64url')
}

function bodyOf(t: string): Buffer {
  const bytes = Buffer.from(t.slice(5), 'base64url')
  return bytes.subarray(0, bytes.length - 4)
}

function expectInvalid(text: string, message: RegExp): void {
  let caught: unknown
  try {
    decodeTicket(text)
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(HiveError)
  expect((caught as HiveError).code).toBe('TICKET_INVALID')
  expect((caught as HiveError).message).toMatch(message)
}

describe('ticket', () => {
  it('is one copy-pasteable URL-safe string with the hive1 prefix', () => {
    expect(ticket).toMatch(/^hive1[A-Za-z0-9_-]+$/)
  })

  it('round-trips every field and derives the pinned peer id', () => {
    const decoded = decodeTicket(ticket)
    expect(decoded).toMatchObject({ version: 1, name: 'my-hub', alpn: 'HIVEMIND/1.0.0', addresses: fields.addresses })
    expect(Buffer.from(decoded.token)).toEqual(Buffer.from(identity.token))
    expect(decoded.peerId).toBe(identity.peerId)
    expect(decoded.peerId).toMatch(/^12D3KooW/)
  })

  it('carries a token of at least 128 bits', () => {
    expect(decodeTicket(ticket).token.length).toBeGreaterThanOrEqual(16)
  })

  it('tolerates surrounding whitespace from a copy and paste', () => {
    expect(decodeTicket(`  ${ticket}\n`).name).toBe('my-hub')
  })

  it('refuses to encode invalid fields', () => {
    expect(() => encodeTicket({ ...fields, token: randomBytes(8) })).toThrow()
    expect(() => encodeTicket({ ...fields, addresses: [] })).toThrow()
    expect(() => encodeTicket({ ...fields, name: 'bad name' })).toThrow()
  })

  const body = bodyOf(ticket)
  const flipped = Buffer.from(ticket)
  flipped[20] = flipped[20] === 0x41 ? 0x42 : 0x41

  it.each<[string, string, RegExp]>([
    ['an empty string', '', /empty/],
    ['a foreign string', 'hello world', /not a hive ticket/],
    ['another tool\'s ticket', 'nodeabc123', /should start with "hive1"/],
    ['a stray character', ticket.slice(0, 30) + '!' + ticket.slice(31), /contains "!"/],
    ['an inner space', ticket.slice(0, 30) + ' ' + ticket.slice(30), /contains " "/],
    ['a tampered character', flipped.toString(), /checksum does not match/],
    ['a truncated ticket', ticket.slice(0, ticket.length - 10), /checksum does not match/],
    ['only the prefix', 'hive1', /too short/],
    ['an extended ticket', ticket + 'AAAA', /checksum does not match/],
    ['an unknown version', rebuild(Buffer.concat([Buffer.of(9), body.subarray(1)])), /version 9 is not supported/],
    ['extra bytes behind valid fields', rebuild(Buffer.concat([body, Buffer.of(1, 2)])), /2 unexpected bytes/],
    ['fields cut short (valid checksum)', rebuild(body.subarray(0, 40)), /ends early/],
    ['an unknown protocol', rebuild(Buffer.concat([body.subarray(0, 8), Buffer.from('\x0eHIVEMIND/9.9.9'), body.subarray(23)])), /malformed/],
  ])('rejects %s with a clear message', (_name, text, message) => {
    expectInvalid(text, message)
  })
})

describe('chooseTicketAddresses', () => {
  it('puts announced addresses first, drops repeats, and keeps what fits', async () => {
    const { chooseTicketAddresses } = await import('../../src/protocol/ticket.js')
    const bound = Array.from({ length: 40 }, (_, i) => `198.18.1.${i + 1}:7000`)
    const { addresses, omitted } = chooseTicketAddresses(['198.18.9.9:7000', '198.18.1.1:7000'], bound)
    expect(addresses).toHaveLength(32)
    expect(addresses.slice(0, 3)).toEqual(['198.18.9.9:7000', '198.18.1.1:7000', '198.18.1.2:7000'])
    expect(omitted).toHaveLength(9)
    expect(new Set([...addresses, ...omitted]).size).toBe(41)
    expect(chooseTicketAddresses([], ['127.0.0.1:1'])).toEqual({ addresses: ['127.0.0.1:1'], omitted: [] })
  })
})

describe('version 2 tickets (the DHT path)', () => {
  const relay = new Uint8Array(randomBytes(32))
  const v2: TicketFields = { ...fields, version: 2, dht: true, relays: [relay] }

  it('round-trips the DHT flag and the relay keys, and a version 1 ticket has neither', () => {
    const decoded = decodeTicket(encodeTicket(v2))
    expect(decoded.dht).toBe(true)
    expect(decoded.relays).toEqual([relay])
    expect(decoded.peerId).toBe(identity.peerId)
    const old = decodeTicket(ticket)
    expect(old.dht).toBeUndefined()
    expect(old.relays).toBeUndefined()
  })

  it('refuses unknown flags, too many relays and a cut relay key', () => {
    const body = bodyOf(encodeTicket({ ...v2, relays: [] }))
    const flags = Buffer.from(body)
    flags[flags.length - 2] = 0x03
    expectInvalid(rebuild(flags), /flags this hive does not know/)
    const many = Buffer.concat([body.subarray(0, body.length - 1), Buffer.from([9]), Buffer.alloc(9 * 32)])
    expectInvalid(rebuild(many), /more than 8 relays/)
    const cut = Buffer.concat([body.subarray(0, body.length - 1), Buffer.from([1]), Buffer.alloc(31)])
    expectInvalid(rebuild(cut), /ends early/)
  })
})
