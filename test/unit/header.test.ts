import { describe, expect, it } from 'vitest'
import { ACK_OK, ACK_REFUSED, HEADER_LENGTH, decodeAck, decodeHeader, encodeAck, encodeControlHeader, encodeDataHeader, encodeHeader } from '../../src/protocol/header.js'

describe('stream header', () => {
  it('is the port id followed by "hivemindp2p"', () => {
    expect(encodeDataHeader(0x01)).toEqual(Buffer.concat([Buffer.of(0x01), Buffer.from('hivemindp2p')]))
    expect(encodeDataHeader(0xff)[0]).toBe(0xff)
    expect(HEADER_LENGTH).toBe(12)
  })

  it('round-trips every port id and the control stream; the hub alone says which ids are services', () => {
    for (let portId = 1; portId <= 0xff; portId++) expect(decodeHeader(encodeDataHeader(portId))).toEqual({ ok: true, target: { kind: 'data', portId } })
    expect(decodeHeader(encodeControlHeader())).toEqual({ ok: true, target: { kind: 'control' } })
    expect(() => encodeDataHeader(0)).toThrow(RangeError)
  })

  it.each([
    ['empty', Buffer.alloc(0), 'short'],
    ['short read', encodeDataHeader(1).subarray(0, 11), 'short'],
    ['extra bytes', Buffer.concat([encodeDataHeader(1), Buffer.of(0)]), 'extra-bytes'],
    ['wrong magic', Buffer.concat([Buffer.of(0x01), Buffer.from('hivemindp2q')]), 'bad-magic'],
    ['wrong magic case', Buffer.concat([Buffer.of(0x01), Buffer.from('HIVEMINDP2P')]), 'bad-magic'],
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
