import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ephemeralKey } from '../../src/identity/identity.js'
import { MAX_TRUST_ENTRIES, PEER_ID_PATTERN, TrustStore } from '../../src/trust/store.js'

const dir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'hive-trust-'))
  chmodSync(d, 0o700)
  return d
}
const id = (): string => ephemeralKey().peerId

describe('TrustStore', () => {
  it('peer ids of real keys match the pattern the store checks', () => {
    for (let i = 0; i < 20; i++) expect(id()).toMatch(PEER_ID_PATTERN)
  })

  it('enrols on first admission, notes later sightings, and keeps both across a save and a load (0600)', async () => {
    const file = join(dir(), 'hub.key.peers')
    const store = await TrustStore.load(file)
    const a = id()
    expect(store.standing(a)).toBe('unknown')
    expect(store.admitted(a, 'laptop', new Date('2026-01-01T00:00:00Z'))).toBe(true)
    expect(store.admitted(a, 'renamed', new Date('2026-01-02T00:00:00Z'))).toBe(false)
    // Leaving is a sighting too; a key the store does not hold is not added by it.
    store.seen(a, new Date('2026-01-03T00:00:00Z'))
    store.seen(id())
    await store.save()
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const again = await TrustStore.load(file)
    expect(again.list()).toEqual([{ id: a, name: 'laptop', added: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-03T00:00:00.000Z' }])
    expect(again.standing(a)).toBe('trusted')
  })

  it('revoke by name or id keeps the entry, refused until allowed again; allow enrols ahead of time and renames', () => {
    const store = TrustStore.memory()
    const [a, b] = [id(), id()]
    store.admitted(a, 'laptop')
    expect(store.revoke('laptop').revoked).toEqual(expect.any(String))
    expect(store.standing(a)).toBe('revoked')
    expect(store.allow(a, undefined).revoked).toBeUndefined()
    expect(store.standing(a)).toBe('trusted')
    store.revoke(a)
    expect(store.standing(a)).toBe('revoked')
    expect(store.allow(b, 'ci')).toMatchObject({ id: b, name: 'ci' })
    expect(store.allow(b, 'ci-2').name).toBe('ci-2')
    expect(store.allow(id(), undefined).name).toBe('unnamed')
  })

  it('remove forgets a trusted or a revoked peer: it is unknown after, and enrolled anew on its next admission', () => {
    const store = TrustStore.memory()
    const [a, b] = [id(), id()]
    store.admitted(a, 'laptop')
    store.admitted(b, 'old')
    store.revoke('old')
    expect(store.remove('laptop')).toMatchObject({ id: a, name: 'laptop' })
    expect(store.remove(b)).toMatchObject({ id: b, revoked: expect.any(String) })
    expect([store.standing(a), store.standing(b), store.list()]).toEqual(['unknown', 'unknown', []])
    expect(() => store.remove('laptop')).toThrow(/no peer named or with the id laptop/)
    expect(store.admitted(b, 'old')).toBe(true)
    expect(store.standing(b)).toBe('trusted')
  })

  it('refuses what it cannot act on, with words that say what to do', () => {
    const store = TrustStore.memory()
    store.admitted(id(), 'twin')
    store.admitted(id(), 'twin')
    expect(() => store.revoke('twin')).toThrow(/2 peers are named twin: give the peer id instead/)
    expect(() => store.remove('twin')).toThrow(/2 peers are named twin: give the peer id instead/)
    expect(() => store.revoke('nobody')).toThrow(/no peer named or with the id nobody/)
    expect(() => store.allow('12D3KooWshort', 'x')).toThrow(/is not a peer id/)
    expect(() => store.allow(id(), 'bad name!')).toThrow(/is not a valid peer name/)
  })

  it('holds at most MAX_TRUST_ENTRIES peers', () => {
    const store = TrustStore.memory()
    for (let i = 0; i < MAX_TRUST_ENTRIES; i++) store.admitted(`12D3KooW${String(i).padStart(44, 'A').replace(/0/g, 'z')}`, 'p')
    expect(store.full).toBe(true)
    expect(() => store.admitted(id(), 'one-more')).toThrow(/holds 4096 peers, as many as it takes; remove some with `hive peers remove`/)
    store.remove(store.list()[0]!.id)
    expect(store.full).toBe(false)
    expect(store.admitted(id(), 'one-more')).toBe(true)
  })

  it.each([
    ['not JSON', '{"kind": "hive-trust-store", '],
    ['another kind of file', JSON.stringify({ kind: 'hive-identity', version: 1, peers: [] })],
    ['a later version', JSON.stringify({ kind: 'hive-trust-store', version: 2, peers: [] })],
    ['a bad peer id', JSON.stringify({ kind: 'hive-trust-store', version: 1, peers: [{ id: 'x', name: 'a', added: '2026-01-01T00:00:00.000Z' }] })],
    ['an unknown field', JSON.stringify({ kind: 'hive-trust-store', version: 1, peers: [], extra: 1 })],
  ])('a damaged store (%s) is an error naming the file, and the file is left alone', async (_what, body) => {
    const file = join(dir(), 'hub.key.peers')
    writeFileSync(file, body, { mode: 0o600 })
    await expect(TrustStore.load(file)).rejects.toThrow(/is not a valid hive trust store .*repair it, or move it away/)
    expect(readFileSync(file, 'utf8')).toBe(body)
  })

  it('a peer listed twice is damage too', async () => {
    const file = join(dir(), 'hub.key.peers')
    const a = id()
    const entry = { id: a, name: 'a', added: '2026-01-01T00:00:00.000Z' }
    writeFileSync(file, JSON.stringify({ kind: 'hive-trust-store', version: 1, peers: [entry, entry] }), { mode: 0o600 })
    await expect(TrustStore.load(file)).rejects.toThrow(new RegExp(`lists peer ${a} twice`))
  })

  it('refuses a store others can read, and one far too large to be ours', async () => {
    const d = dir()
    const open = join(d, 'open.peers')
    writeFileSync(open, JSON.stringify({ kind: 'hive-trust-store', version: 1, peers: [] }), { mode: 0o644 })
    chmodSync(open, 0o644)
    await expect(TrustStore.load(open)).rejects.toThrow(/open to other users \(mode 0644\)/)
    const huge = join(d, 'huge.peers')
    writeFileSync(huge, Buffer.alloc(5 * 1024 * 1024, 0x20), { mode: 0o600 })
    await expect(TrustStore.load(huge)).rejects.toThrow(/far more than a hive trust store/)
  })

  it('writes queue up: the last save wins', async () => {
    const file = join(dir(), 'hub.key.peers')
    const store = await TrustStore.load(file)
    const ids = Array.from({ length: 20 }, () => id())
    await Promise.all(ids.map((x, i) => (store.admitted(x, `p${i}`), store.save())))
    expect((await TrustStore.load(file)).list().map((e) => e.id)).toEqual(ids)
  })
})
