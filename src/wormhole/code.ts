import { randomBytes } from 'node:crypto'
import { PGP_WORDS } from './pgp-words.js'

/**
 * Wormhole codes: `<nameplate>-<word>-<word>…`. Words alternate odd (three-syllable) and even
 * (two-syllable) PGP words for random bytes, as the Python client chooses them.
 */
export function chooseWords(count: number, random: (n: number) => Uint8Array = randomBytes): string[] {
  const bytes = random(count)
  return Array.from(bytes, (byte, i) => PGP_WORDS[byte]![i % 2 === 0 ? 1 : 0])
}

export function makeCode(nameplate: string, words: string[]): string {
  return [nameplate, ...words].join('-')
}

export type CodeParseResult = { ok: true; nameplate: string } | { ok: false; reason: string }

/** The nameplate must be digits; the words are only a password and are not checked. */
export function parseCode(code: string): CodeParseResult {
  if (code.trim() !== code || /\s/.test(code)) return { ok: false, reason: 'a code has no spaces' }
  const dash = code.indexOf('-')
  const nameplate = dash < 0 ? code : code.slice(0, dash)
  if (!/^\d+$/.test(nameplate)) return { ok: false, reason: 'a code starts with a number, as in 5-hamburger-endorse' }
  if (dash < 0 || code.length === dash + 1) return { ok: false, reason: 'a code has words after the number, as in 5-hamburger-endorse' }
  return { ok: true, nameplate }
}
