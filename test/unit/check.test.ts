import { describe, expect, it } from 'vitest'
import { CheckError, bytes, integer, list, object, oneOf, optional, text } from '../../src/protocol/check.js'

describe('check: the validators of outside input', () => {
  const message = object({ type: oneOf(['ping'] as const), seq: integer(0, 10), note: optional(text({ max: 3 })) }, { loose: true })

  it('returns the known fields, drops unknown ones of a loose object, and leaves absent optionals absent', () => {
    expect(message({ type: 'ping', seq: 3, extra: { deep: 1 } })).toEqual({ type: 'ping', seq: 3 })
    expect(Object.keys(message({ type: 'ping', seq: 3 }))).toEqual(['type', 'seq'])
    expect(message({ type: 'ping', seq: 3, note: 'ok' })).toEqual({ type: 'ping', seq: 3, note: 'ok' })
  })

  it('names the field that fails, and refuses what is not an object', () => {
    expect(() => message({ type: 'ping', seq: 11 })).toThrow(new CheckError('seq: expected a whole number from 0 to 10'))
    expect(() => message({ type: 'ping', seq: 1.5 })).toThrow(/seq: expected a whole number/)
    expect(() => message({ type: 'ping', seq: 1, note: 'long' })).toThrow('note: longer than 3 characters')
    expect(() => message({ type: 'pong', seq: 1 })).toThrow('type: expected "ping"')
    for (const junk of [null, [], 'ping', 7]) expect(() => message(junk)).toThrow('expected an object')
    // An inherited property is not a field.
    expect(() => message(Object.create({ type: 'ping', seq: 1 }))).toThrow(/type/)
  })

  it('a strict object refuses unknown fields; custom messages stand alone when fields are not named', () => {
    const strict = object({ key: bytes((b) => b.length === 2, 'the key is not 2 bytes'), all: list(text(), { min: 1, minMessage: 'none', max: 2, maxMessage: 'too many' }) }, { loose: false, nameFields: false })
    expect(strict({ key: new Uint8Array(2), all: ['a'] })).toEqual({ key: new Uint8Array(2), all: ['a'] })
    expect(() => strict({ key: new Uint8Array(2), all: ['a'], more: 1 })).toThrow('unexpected field "more"')
    expect(() => strict({ key: new Uint8Array(3), all: ['a'] })).toThrow(new CheckError('the key is not 2 bytes'))
    expect(() => strict({ key: new Uint8Array(2), all: [] })).toThrow(new CheckError('none'))
    expect(() => strict({ key: new Uint8Array(2), all: ['a', 'b', 'c'] })).toThrow(new CheckError('too many'))
    expect(() => strict({ key: new Uint8Array(2), all: [1] })).toThrow(new CheckError('expected text'))
  })
})
