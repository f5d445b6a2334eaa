import { describe, expect, it } from 'vitest'
import { ACK_OK, ACK_REFUSED, HEADER_LENGTH, MAGIC, decodeAck, decodeHeader, encodeAck, encodeControlHeader, encodeDataHeader, encodeHeader } from '../../src/protocol/header.js'

describe('stream header', () => {
  it('is the port id followed by "hivemindp2p"', () => {
    expect(encodeDataHeader('frontend')).toEqual(Buffer.concat([Buffer.of(0x01), Buffer.from('hivemindp2p')]))
    expect(encodeDataHeader('backend')[0]).toBe(0x02)
    expect(encodeDataHeader('websocket')[0]).toBe(0x03)
    expect(HEADER_LENGTH).toBe(12)
  })

  it('round-trips every service and the control stream', () => {
    for (const service of ['frontend', 'backend', 'websocket'] as const) {
      const decoded = decodeHeader(encodeDataHeader(service))
      expect(decoded).toMatchObject({ ok: true, target: { kind: 'data', service } })
    }
    expect(decodeHeader(encodeControlHeader())).toEqual({ ok: true, target: { kind: 'control' } })
  })

  it.each([
    ['empty', Buffer.alloc(0), 'short'],
    ['short read', encodeDataHeader('frontend').subarray(0, 11), 'short'],
    ['extra bytes', Buffer.concat([encodeDataHeader('frontend'), Buffer.of(0)]), 'extra-bytes'],
    ['wrong magic', Buffer.concat([Buffer.of(0x01), Buffer.from('hivemindp2q')]), 'bad-magic'],
    ['wrong magic case', Buffer.concat([Buffer.of(0x01), Buffer.from('HIVEMINDP2P')]), 'bad-magic'],
    ['unknown port id', Buffer.concat([Buffer.of(0x04), MAGIC]), 'unknown-port-id'],
    ['port id 0xff', Buffer.concat([Buffer.of(0xff), MAGIC]), 'unknown-port-id'],
  ])('rejects %s', (_name, bytes, reason) => {
    expect(decodeHeader(bytes)).toEqual({ ok: false, reason })
  })

  it('refuses to encode a port id outside a byte', () => {
    expect(() => encodeHeader(256)).toThrow(RangeError)
    expect(() => encodeHeader(-1)).toThrow(RangeError)
  })
})

describe('ACK', () => {
  it('is 0xFF for accepted and 0x00 for refused', () => {
    expect(encodeAck(true)).toEqual(Buffer.of(ACK_OK))
    expect(encodeAck(false)).toEqual(Buffer.of(ACK_REFUSED))
    expect(decodeAck(Buffer.of(0xff))).toEqual({ ok: true, accepted: true })
    expect(decodeAck(Buffer.of(0x00))).toEqual({ ok: true, accepted: false })
  })

  it.each([
    ['short read', Buffer.alloc(0), 'short'],
    ['extra bytes', Buffer.of(0xff, 0x00), 'extra-bytes'],
    ['any other value', Buffer.of(0x01), 'bad-value'],
  ])('rejects %s', (_name, bytes, reason) => {
    expect(decodeAck(bytes)).toEqual({ ok: false, reason })
  })
})
