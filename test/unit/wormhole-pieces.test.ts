import { describe, expect, it } from 'vitest'
import { chooseWords, makeCode, parseCode } from '../../src/wormhole/code.js'
import { parseServerMessage, readWelcome, type ServerMessage } from '../../src/wormhole/messages.js'
import { PGP_WORDS } from '../../src/wormhole/pgp-words.js'

describe('mailbox messages', () => {
  it('reads a welcome with a motd (Debian\'s server cannot send one)', () => {
    const parsed = parseServerMessage(JSON.stringify({ type: 'welcome', welcome: { motd: 'maintenance at noon', current_cli_version: '0.12' }, server_tx: 1.5 }))
    expect(parsed.kind).toBe('known')
    expect(readWelcome((parsed as { message: ServerMessage<'welcome'> }).message)).toEqual({ motd: 'maintenance at noon', error: undefined })
  })

  it('reads a welcome with an error, and an empty one', () => {
    const withError = parseServerMessage('{"type":"welcome","welcome":{"error":"go away"}}')
    expect(readWelcome((withError as { message: ServerMessage<'welcome'> }).message)).toEqual({ error: 'go away', motd: undefined })
    const empty = parseServerMessage('{"type":"welcome","welcome":{}}')
    expect(readWelcome((empty as { message: ServerMessage<'welcome'> }).message)).toEqual({})
  })

  it('validates fields, and ignores unknown types', () => {
    expect(parseServerMessage('{"type":"allocated","nameplate":"12"}')).toMatchObject({ kind: 'known', type: 'allocated' })
    expect(parseServerMessage('{"type":"allocated","nameplate":"x1"}')).toMatchObject({ kind: 'invalid' })
    expect(parseServerMessage('{"type":"message","side":"a","phase":"pake","body":"zz"}')).toMatchObject({ kind: 'invalid' })
    expect(parseServerMessage('{"type":"welcome"}')).toMatchObject({ kind: 'invalid' })
    expect(parseServerMessage('{"type":"future-thing"}')).toEqual({ kind: 'ignored', type: 'future-thing' })
    expect(parseServerMessage('not json')).toMatchObject({ kind: 'invalid' })
    expect(parseServerMessage('[]')).toMatchObject({ kind: 'invalid' })
  })
})

describe('codes', () => {
  it('alternates odd and even PGP words, as the Python client does', () => {
    const words = chooseWords(4, () => Uint8Array.of(0, 1, 2, 255))
    expect(words).toEqual([PGP_WORDS[0]![1], PGP_WORDS[1]![0], PGP_WORDS[2]![1], PGP_WORDS[255]![0]])
    expect(makeCode('5', ['hamburger', 'endorse'])).toBe('5-hamburger-endorse')
  })

  it.each([
    ['5-hamburger-endorse', true],
    ['123-a-b-c', true],
    ['5', false],
    ['5-', false],
    ['five-hamburger', false],
    ['5-ham burger', false],
    [' 5-hamburger', false],
  ])('parses %s', (code, ok) => {
    expect(parseCode(code).ok).toBe(ok)
  })
})
