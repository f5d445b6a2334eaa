import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from 'node:crypto'

/** Key derivations and SecretBox as Magic Wormhole uses them (PROTOCOL.md §6–7). */
const text = new TextEncoder()
const NONCE_BYTES = 24

export function deriveKey(key: Uint8Array, purpose: Uint8Array | string, length = 32): Uint8Array {
  return hkdf(sha256, key, undefined, typeof purpose === 'string' ? text.encode(purpose) : purpose, length)
}

/** The SecretBox key for one message: the sender's side and the phase name. */
export function derivePhaseKey(key: Uint8Array, side: string, phase: string): Uint8Array {
  const prefix = text.encode('wormhole:phase:')
  const purpose = new Uint8Array(prefix.length + 64)
  purpose.set(prefix, 0)
  purpose.set(sha256(text.encode(side)), prefix.length)
  purpose.set(sha256(text.encode(phase)), prefix.length + 32)
  return deriveKey(key, purpose)
}

export function deriveVerifier(key: Uint8Array): Uint8Array {
  return deriveKey(key, 'wormhole:verifier')
}

/** nonce ‖ tag ‖ ciphertext, as PyNaCl's SecretBox.encrypt writes it. */
export function sealBox(key: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Uint8Array {
  const sealed = xsalsa20poly1305(key, nonce).encrypt(plaintext)
  const out = new Uint8Array(NONCE_BYTES + sealed.length)
  out.set(nonce, 0)
  out.set(sealed, NONCE_BYTES)
  return out
}

/** Opens a box; returns null if it does not authenticate (a wrong key, so a wrong code). */
export function openBox(key: Uint8Array, box: Uint8Array): Uint8Array | null {
  if (box.length < NONCE_BYTES + 16) return null
  try {
    return xsalsa20poly1305(key, box.subarray(0, NONCE_BYTES)).decrypt(box.subarray(NONCE_BYTES))
  } catch {
    return null
  }
}

/** The PAKE password: the UTF-8 of the NFC-normalised code. */
export function codePassword(code: string): Uint8Array {
  return text.encode(code.normalize('NFC'))
}
