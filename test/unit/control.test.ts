import { describe, expect, it } from 'vitest'
import { MAX_CONTROL_FRAME, MAX_HUB_FRAME, decodeControl, encodeControl, type ControlMessage } from '../../src/protocol/control.js'

function frame(body: string | Buffer): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  const out = Buffer.alloc(2 + bytes.length)
  out.writeUInt16BE(bytes.length, 0)
  bytes.copy(out, 2)
  return out
}

const hello: ControlMessage = { type: 'hello', version: 1, token: 'A'.repeat(43), peer: 'laptop', alpn: 'HIVEMIND/1.0.0' }

describe('control frames', () => {
  it.each<ControlMessage>([
    hello,
    { ...hello, version: 2 },
    { type: 'welcome', hub: 'my-hub' },
    { type: 'welcome', hub: 'my-hub', version: 2 },
    { type: 'welcome', hub: 'my-hub', version: 2, streams: 64 },
    { type: 'refused', code: 'token', message: 'no' },
    { type: 'refused', code: 'full', message: 'the hub has 32 peers' },
    { type: 'bye', reason: 'hub stopped' },
    { type: 'bye', reason: 'hub stopped', code: 'stopped' },
    { type: 'abort', stream: 7 },
    { ...hello, version: 2, resume: 'Qm9ndXMtc2Vzc2lvbg' },
    { type: 'welcome', hub: 'my-hub', version: 2, streams: 64, session: 'Qm9ndXMtc2Vzc2lvbg' },
    { type: 'welcome', hub: 'my-hub', version: 2, session: 'Qm9ndXMtc2Vzc2lvbg', previous: 'ended', seen: 12 },
    { type: 'refused', code: 'in_session', message: 'your earlier session is still open' },
    { type: 'bye', reason: 'hub restarting', code: 'restarting' },
    { type: 'ping', seq: 0 },
    { type: 'pong', seq: 41 },
    { type: 'ping', seq: 3, probe: true },
    { ...hello, version: 2, table: true },
    { type: 'welcome', hub: 'my-hub', version: 2, services: [{ name: 'ollama', id: 4, port: 11434 }, { name: 'frontend', id: 1, port: 5173 }] },
    { type: 'pong', seq: 3, paused: 37 },
  ])('round-trips $type', (message) => {
    const decoded = decodeControl(encodeControl(message))
    expect(decoded).toEqual({ ok: true, message, rest: Buffer.alloc(0) })
  })

  it('leaves the bytes of the next frame for the next call', () => {
    const two = Buffer.concat([encodeControl({ type: 'bye', reason: 'a' }), encodeControl({ type: 'bye', reason: 'b' })])
    const first = decodeControl(two)
    expect(first.ok && first.message).toEqual({ type: 'bye', reason: 'a' })
    const second = decodeControl(first.ok ? first.rest : Buffer.alloc(0))
    expect(second.ok && second.message).toEqual({ type: 'bye', reason: 'b' })
  })

  it('asks for more bytes on a short read, at every cut', () => {
    const bytes = encodeControl(hello)
    for (let cut = 0; cut < bytes.length; cut++) expect(decodeControl(bytes.subarray(0, cut))).toEqual({ ok: false, reason: 'short' })
  })

  it('rejects an oversized length before buffering the body', () => {
    const header = Buffer.alloc(2)
    header.writeUInt16BE(MAX_CONTROL_FRAME + 1, 0)
    expect(decodeControl(header)).toMatchObject({ ok: false, reason: 'oversized' })
  })

  it('carries a table of 255 long service names in one welcome, which only a reader of MAX_HUB_FRAME takes', () => {
    const services = Array.from({ length: 255 }, (_, i) => ({ name: `${String(i).padStart(3, '0')}${'x'.repeat(60)}`, id: i + 1, port: 65_535 }))
    const welcome: ControlMessage = { type: 'welcome', hub: 'my-hub', version: 2, services }
    expect(() => encodeControl(welcome)).toThrow(RangeError)
    const bytes = encodeControl(welcome, MAX_HUB_FRAME)
    expect(bytes.length).toBeGreaterThan(MAX_CONTROL_FRAME)
    expect(decodeControl(bytes)).toMatchObject({ ok: false, reason: 'oversized' })
    expect(decodeControl(bytes, MAX_HUB_FRAME)).toEqual({ ok: true, message: welcome, rest: Buffer.alloc(0) })
  })

  it.each([
    ['not JSON', frame('{nope'), 'bad-json'],
    ['invalid UTF-8', frame(Buffer.of(0x22, 0xff, 0x22)), 'bad-json'],
    ['a JSON array', frame('[1,2]'), 'bad-message'],
    ['no type', frame('{"kind":"hello"}'), 'bad-message'],
    ['an oversized field', frame(JSON.stringify({ type: 'bye', reason: 'x'.repeat(300) })), 'bad-message'],
    ['a short token', frame(JSON.stringify({ ...hello, token: 'short' })), 'bad-message'],
    ['a bad peer name', frame(JSON.stringify({ ...hello, peer: 'a b' })), 'bad-message'],
    ['a bad refusal code', frame(JSON.stringify({ type: 'refused', code: 'NO WAY', message: '' })), 'bad-message'],
    ['a stream limit of 0', frame(JSON.stringify({ type: 'welcome', hub: 'h', version: 2, streams: 0 })), 'bad-message'],
    ['a fractional stream limit', frame(JSON.stringify({ type: 'welcome', hub: 'h', version: 2, streams: 1.5 })), 'bad-message'],
    ['an abort of the control stream', frame(JSON.stringify({ type: 'abort', stream: 0 })), 'bad-message'],
    ['a resume that is not a session id', frame(JSON.stringify({ ...hello, version: 2, resume: '../../etc' })), 'bad-message'],
    ['a session id of 200 characters', frame(JSON.stringify({ type: 'welcome', hub: 'h', version: 2, session: 'a'.repeat(200) })), 'bad-message'],
    ['a ping without a number', frame(JSON.stringify({ type: 'ping', seq: 'one' })), 'bad-message'],
    ['a negative pong', frame(JSON.stringify({ type: 'pong', seq: -1 })), 'bad-message'],
    ['a service table with a name twice', frame(JSON.stringify({ type: 'welcome', hub: 'h', version: 2, services: [{ name: 'a', id: 4, port: 1 }, { name: 'a', id: 5, port: 1 }] })), 'bad-message'],
    ['a service table with a port id twice', frame(JSON.stringify({ type: 'welcome', hub: 'h', version: 2, services: [{ name: 'a', id: 4, port: 1 }, { name: 'b', id: 4, port: 1 }] })), 'bad-message'],
    ['a service on port id 0, the control stream', frame(JSON.stringify({ type: 'welcome', hub: 'h', version: 2, services: [{ name: 'a', id: 0, port: 1 }] })), 'bad-message'],
    ['a service name with a newline', frame(JSON.stringify({ type: 'welcome', hub: 'h', version: 2, services: [{ name: 'a\nb', id: 4, port: 1 }] })), 'bad-message'],
    ['a service on port 0', frame(JSON.stringify({ type: 'welcome', hub: 'h', version: 2, services: [{ name: 'a', id: 4, port: 0 }] })), 'bad-message'],
    ['a probe flag that is not a boolean', frame(JSON.stringify({ type: 'ping', seq: 1, probe: 'yes' })), 'bad-message'],
    ['a pause of a fraction of a ms', frame(JSON.stringify({ type: 'pong', seq: 1, paused: 2.5 })), 'bad-message'],
    ['a pause of more than a minute', frame(JSON.stringify({ type: 'pong', seq: 1, paused: 60_001 })), 'bad-message'],
    ['a hello in version 3', frame(JSON.stringify({ ...hello, version: 3 })), 'unsupported-version'],
    ['a hello without a version', frame(JSON.stringify({ type: 'hello', token: hello.token })), 'unsupported-version'],
  ])('rejects %s', (_name, bytes, reason) => {
    expect(decodeControl(bytes)).toMatchObject({ ok: false, reason })
  })

  it('skips a message of an unknown type, and ignores unknown fields (version 2 reads leniently)', () => {
    const unknown = decodeControl(Buffer.concat([frame('{"type":"launch","x":1}'), frame('{"type":"bye","reason":"r"}')]))
    expect(unknown).toMatchObject({ ok: true, message: null })
    const next = decodeControl(unknown.ok ? unknown.rest : Buffer.alloc(0))
    expect(next).toMatchObject({ ok: true, message: { type: 'bye', reason: 'r' } })
    expect(decodeControl(frame(JSON.stringify({ type: 'bye', reason: 'x', later: { field: true } })))).toMatchObject({ ok: true, message: { type: 'bye', reason: 'x' } })
  })

  it('refuses to encode an invalid message', () => {
    expect(() => encodeControl({ type: 'bye', reason: '' })).toThrow()
  })
})
