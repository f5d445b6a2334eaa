import { ed25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from 'node:crypto'

/**
 * SPAKE2 in the symmetric mode of python-spake2 0.8 on edwards25519, which is what Magic
 * Wormhole uses. Pure functions: no I/O. HKDF outputs and entropy are read as big-endian
 * integers, as python-spake2 reads them; see shared/wormhole/PROTOCOL.md §5.
 */
const Point = ed25519.Point
type EdPoint = InstanceType<typeof Point>
const L = Point.Fn.ORDER
const Q = 2n ** 255n - 19n
const SYMMETRIC_SIDE = 0x53 // 'S'
const text = new TextEncoder()

export class Spake2Error extends Error {}

function bigFromBE(bytes: Uint8Array): bigint {
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  return n
}

function hkdf48(ikm: Uint8Array, info: string): Uint8Array {
  return hkdf(sha256, ikm, undefined, text.encode(info), 48)
}

export function passwordScalar(password: Uint8Array): bigint {
  return bigFromBE(hkdf48(password, 'SPAKE2 pw')) % L
}

function littleEndian32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn)
  return out
}

let symmetricElementCache: EdPoint | undefined

/** The blinding element S for seed "symmetric": the first valid y ≥ y0 with an even x, times 8. */
export function symmetricElement(): EdPoint {
  if (symmetricElementCache) return symmetricElementCache
  const y0 = bigFromBE(hkdf48(text.encode('symmetric'), 'SPAKE2 arbitrary element')) % Q
  for (let plus = 0n; ; plus++) {
    const y = (y0 + plus) % Q
    let candidate: EdPoint
    try {
      candidate = Point.fromBytes(littleEndian32(y))
    } catch {
      continue
    }
    const p8 = candidate.multiplyUnsafe(8n)
    if (p8.is0()) continue
    symmetricElementCache = p8
    return p8
  }
}

export interface Spake2State {
  readonly xy: bigint
  readonly pw: bigint
  readonly password: Uint8Array
  /** Our 32-byte element X, without the side byte. */
  readonly element: Uint8Array
}

/** Starts an exchange: returns our 33-byte message ('S' ‖ X) and the state to finish with. */
export function spake2Start(password: Uint8Array, entropy: Uint8Array = randomBytes(64)): { state: Spake2State; message: Uint8Array } {
  const pw = passwordScalar(password)
  const xy = bigFromBE(entropy) % L
  if (xy === 0n) throw new Spake2Error('degenerate random scalar')
  const X = Point.BASE.multiply(xy).add(symmetricElement().multiplyUnsafe(pw))
  const element = X.toBytes()
  const message = new Uint8Array(33)
  message[0] = SYMMETRIC_SIDE
  message.set(element, 1)
  return { state: { xy, pw, password, element }, message }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/** Finishes with the other side's message and returns the 32-byte shared key. */
export function spake2Finish(state: Spake2State, inbound: Uint8Array, idSymmetric: Uint8Array): Uint8Array {
  if (inbound.length !== 33) throw new Spake2Error(`SPAKE2 message must be 33 bytes, got ${inbound.length}`)
  if (inbound[0] !== SYMMETRIC_SIDE) throw new Spake2Error('SPAKE2 message is not from a symmetric side')
  const theirs = inbound.subarray(1)
  let Y: EdPoint
  try {
    Y = Point.fromBytes(theirs)
  } catch {
    throw new Spake2Error('SPAKE2 element is not on the curve')
  }
  if (Y.is0() || !Y.isTorsionFree()) throw new Spake2Error('SPAKE2 element is not in the prime-order group')
  if (compareBytes(theirs, state.element) === 0) throw new Spake2Error('SPAKE2 message reflected back to us')
  const unblinded = Y.add(symmetricElement().multiplyUnsafe((L - state.pw) % L))
  const K = unblinded.multiply(state.xy).toBytes()
  const [first, second] = compareBytes(state.element, theirs) < 0 ? [state.element, theirs] : [theirs, state.element]
  const transcript = new Uint8Array(32 * 5)
  transcript.set(sha256(state.password), 0)
  transcript.set(sha256(idSymmetric), 32)
  transcript.set(first, 64)
  transcript.set(second, 96)
  transcript.set(K, 128)
  return sha256(transcript)
}

export const __test = { littleEndian32, bigFromBE }
