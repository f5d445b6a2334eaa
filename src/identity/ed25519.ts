import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'

/**
 * Ed25519 keys in the encodings of libp2p, which the QUIC layer takes and peer ids are made
 * of, on node:crypto. (@libp2p/crypto did this before, and its import alone held about 16 MB
 * of RSS in every hub and peer.)
 */
export interface Ed25519Key {
  /** The 32-byte private seed. */
  seed: Buffer
  publicKey: Buffer
}

/** libp2p's KeyType enum: 1 is Ed25519. */
const ED25519 = 1
const TYPE_NAMES: Record<number, string> = { 0: 'RSA', 1: 'Ed25519', 2: 'secp256k1', 3: 'ECDSA' }
/** A PKCS#8 wrapper for a raw Ed25519 seed (RFC 8410). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export function generateEd25519(): Ed25519Key {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
  return { seed: Buffer.from(jwk.d!, 'base64url'), publicKey: Buffer.from(jwk.x!, 'base64url') }
}

function publicKeyOfSeed(seed: Buffer): Buffer {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  return Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url')
}

/** The PrivateKey protobuf: field 1 (type) = Ed25519, field 2 (data) = seed || public key. */
export function privateKeyToProto(key: Ed25519Key): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from([0x08, ED25519, 0x12, 64]), key.seed, key.publicKey]))
}

/** Reads what privateKeyToProto wrote; throws an Error saying what is wrong with anything else. */
export function privateKeyFromProto(proto: Uint8Array): Ed25519Key {
  const bytes = Buffer.from(proto)
  if (bytes.length >= 2 && bytes[0] === 0x08 && bytes[1] !== ED25519) throw new Error(`the key is ${TYPE_NAMES[bytes[1]!] ?? 'of an unknown type'}, not Ed25519`)
  if (bytes.length !== 68 || bytes[0] !== 0x08 || bytes[2] !== 0x12 || bytes[3] !== 64) throw new Error('not an Ed25519 private key in libp2p encoding')
  const key = { seed: bytes.subarray(4, 36), publicKey: bytes.subarray(36, 68) }
  if (!publicKeyOfSeed(key.seed).equals(key.publicKey)) throw new Error('the public half does not match the private half: the key is damaged')
  return key
}

/** The 64-byte secret key layout of libsodium (and hyperdht): seed || public key. */
export function rawPrivateKey(proto: Uint8Array): Uint8Array {
  const key = privateKeyFromProto(proto)
  return new Uint8Array(Buffer.concat([key.seed, key.publicKey]))
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function base58btc(bytes: Uint8Array): string {
  const digits: number[] = []
  for (const byte of bytes) {
    let carry = byte
    for (let i = 0; i < digits.length; i++) {
      carry += digits[i]! << 8
      digits[i] = carry % 58
      carry = Math.floor(carry / 58)
    }
    for (; carry > 0; carry = Math.floor(carry / 58)) digits.push(carry % 58)
  }
  let out = ''
  for (let i = 0; i < bytes.length && bytes[i] === 0; i++) out += '1'
  for (let i = digits.length - 1; i >= 0; i--) out += BASE58[digits[i]!]
  return out
}

/**
 * The libp2p peer id of an Ed25519 public key (12D3KooW...): base58btc of the identity
 * multihash (0x00, length 36) of the PublicKey protobuf (type Ed25519, 32 bytes of data).
 */
export function peerIdOfEd25519(publicKey: Uint8Array): string {
  return base58btc(Buffer.concat([Buffer.from([0x00, 36, 0x08, ED25519, 0x12, 32]), publicKey]))
}
