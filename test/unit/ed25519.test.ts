import { describe, expect, it } from 'vitest'
import { generateEd25519, peerIdOfEd25519, privateKeyFromProto, privateKeyToProto, rawPrivateKey } from '../../src/identity/ed25519.js'

// Known answers from @libp2p/crypto 5.1 and @libp2p/peer-id 6.0, which hive used before.
const SEED = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1))
const PUBLIC = Buffer.from('79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664', 'hex')
const PROTO = Buffer.from('CAESQAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=', 'base64')
const PEER_ID = '12D3KooWJ1TsijH7H5F74hfAD5XishQz3sxrmAtVY37GtNd9CqYf'

describe('Ed25519 keys in libp2p encoding', () => {
  it('matches libp2p: protobuf, public key, raw key and peer id', () => {
    expect(Buffer.from(privateKeyToProto({ seed: SEED, publicKey: PUBLIC }))).toEqual(PROTO)
    const key = privateKeyFromProto(PROTO)
    expect(key.seed).toEqual(SEED)
    expect(key.publicKey).toEqual(PUBLIC)
    expect(Buffer.from(rawPrivateKey(PROTO))).toEqual(Buffer.concat([SEED, PUBLIC]))
    expect(peerIdOfEd25519(PUBLIC)).toBe(PEER_ID)
  })

  it('generates keys whose halves match and that read back', () => {
    const key = generateEd25519()
    expect(key.seed).toHaveLength(32)
    expect(privateKeyFromProto(privateKeyToProto(key)).publicKey).toEqual(key.publicKey)
    expect(peerIdOfEd25519(key.publicKey)).toMatch(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/)
  })

  it('refuses other key types, other layouts and a damaged key, saying which', () => {
    const rsa = Buffer.from(PROTO)
    rsa[1] = 0
    expect(() => privateKeyFromProto(rsa)).toThrow(/RSA, not Ed25519/)
    expect(() => privateKeyFromProto(PROTO.subarray(0, 40))).toThrow(/not an Ed25519 private key/)
    const damaged = Buffer.from(PROTO)
    damaged[10] ^= 1
    expect(() => privateKeyFromProto(damaged)).toThrow(/does not match/)
  })
})
