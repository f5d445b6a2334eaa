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

/** The keys an exchange can end with: see spake2Keys. */
export interface Spake2Keys {
  /** The key of python-spake2, the reference, which every client should derive. */
  key: Uint8Array
  /**
   * The key gospake2 (the Go SPAKE2 of wormhole-william) derives instead, when it differs.
   * gospake2 encodes an element as a big integer's minimal bytes, so when the shared element
   * K encodes with a most significant byte of zero (one exchange in 256) it hashes a transcript
   * of pieces cut to K's shorter length, and wormhole-william, talking to anyone, fails with
   * "decrypt message failed". Null when the two keys agree.
   */
  gospake2Key: Uint8Array | null
}

/** Finishes with the other side's message and returns the 32-byte shared key. */
export function spake2Finish(state: Spake2State, inbound: Uint8Array, idSymmetric: Uint8Array): Uint8Array {
  return spake2Keys(state, inbound, idSymmetric).key
}

/** Finishes with the other side's message: the shared key, and gospake2's if it differs. */
export function spake2Keys(state: Spake2State, inbound: Uint8Array, idSymmetric: Uint8Array): Spake2Keys {
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
  const key = transcriptKey(state.password, idSymmetric, first, second, K, 32)
  const size = minimalLength(K)
  if (size === 32) return { key, gospake2Key: null }
  // gospake2 orders its own element, cut the same way, before ours (bytes.Compare < 0).
  const goFirst = compareBytes(theirs.subarray(0, minimalLength(theirs)), state.element) < 0
  const [a, b] = goFirst ? [theirs, state.element] : [state.element, theirs]
  return { key, gospake2Key: transcriptKey(state.password, idSymmetric, a, b, K, size) }
}

/** The length of a little-endian encoding without its most significant zero bytes. */
function minimalLength(bytes: Uint8Array): number {
  let n = bytes.length
  while (n > 0 && bytes[n - 1] === 0) n--
  return n
}

/** sha256 of the symmetric transcript, each element and K cut to `size` bytes. */
function transcriptKey(password: Uint8Array, idSymmetric: Uint8Array, first: Uint8Array, second: Uint8Array, K: Uint8Array, size: number): Uint8Array {
  const transcript = new Uint8Array(64 + 3 * size)
  transcript.set(sha256(password), 0)
  transcript.set(sha256(idSymmetric), 32)
  transcript.set(first.subarray(0, size), 64)
  transcript.set(second.subarray(0, size), 64 + size)
  transcript.set(K.subarray(0, size), 64 + 2 * size)
  return sha256(transcript)
}

export const __test = { littleEndian32, bigFromBE }
