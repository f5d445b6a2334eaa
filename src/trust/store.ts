import { dirname } from 'node:path'
import { HiveError } from '../errors.js'
import { CheckError, list, object, oneOf, optional, text } from '../protocol/check.js'
import { NAME_PATTERN } from '../protocol/names.js'
import { checkDirectory, readPrivate, writePrivate } from '../identity/private-file.js'

/** A peer the hub knows by its key: enrolled (trusted) or revoked. */
export interface TrustEntry {
  id: string
  name: string
  /** ISO 8601 times. */
  added: string
  lastSeen?: string
  /** When it was revoked; absent while it is trusted. */
  revoked?: string
}

/** Ed25519 libp2p peer ids, as QUIC and the DHT path report them: 12D3KooW and 44 base58 digits. */
export const PEER_ID_PATTERN = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/
/** Every enrolment needs the ticket's token, but a leaked ticket must not grow the file without end. */
export const MAX_TRUST_ENTRIES = 4096
/** About 200 bytes an entry, pretty-printed. */
const MAX_STORE_BYTES = 4 * 1024 * 1024

const time = text({ max: 40, pattern: /^\d{4}-\d\d-\d\dT[\d:.]+Z$/, message: 'not a time' })
const checkEntry = object(
  { id: text({ pattern: PEER_ID_PATTERN, message: 'not a peer id' }), name: text({ pattern: NAME_PATTERN, message: 'not a valid name' }), added: time, lastSeen: optional(time), revoked: optional(time) },
  { loose: false },
)
const checkStore = object(
  { kind: oneOf(['hive-trust-store'] as const), version: oneOf([1] as const), peers: list(checkEntry, { max: MAX_TRUST_ENTRIES, maxMessage: `more than ${MAX_TRUST_ENTRIES} peers` }) },
  { loose: false },
)

/** The trust store of a hub key `FILE` is `FILE.peers`. */
export function trustFileFor(keyFile: string): string {
  return `${keyFile}.peers`
}

/**
 * The peers a hub has enrolled or revoked, kept beside its key (mode 0600). A hub holds one
 * for as long as it runs and is the only writer meanwhile; `hive peers` changes it through the
 * hub's control socket then, and in the file only when no hub runs. Null `file`: kept in
 * memory only (an --ephemeral hub).
 */
export class TrustStore {
  private readonly entries = new Map<string, TrustEntry>()
  private writing: Promise<void> = Promise.resolve()

  private constructor(readonly file: string | null) {}

  static memory(): TrustStore {
    return new TrustStore(null)
  }

  /** Reads the store; a missing file is an empty store, a damaged one an error, never a silent reset. */
  static async load(file: string): Promise<TrustStore> {
    const store = new TrustStore(file)
    await checkDirectory(dirname(file))
    const stored = await readPrivate(file, MAX_STORE_BYTES, 'a hive trust store')
    if (stored === null) return store
    let parsed
    try {
      parsed = checkStore(JSON.parse(stored))
    } catch (err) {
      const why = err instanceof CheckError || err instanceof SyntaxError ? err.message.slice(0, 120) : 'unreadable'
      throw new HiveError('IDENTITY_FILE', `${file} is not a valid hive trust store (${why}); repair it, or move it away to start over with no enrolled peers`, { file })
    }
    for (const entry of parsed.peers) {
      if (store.entries.has(entry.id)) throw new HiveError('IDENTITY_FILE', `${file} lists peer ${entry.id} twice; repair it, or move it away to start over`, { file })
      store.entries.set(entry.id, entry)
    }
    return store
  }

  list(): TrustEntry[] {
    return [...this.entries.values()].map((e) => ({ ...e }))
  }

  get(id: string): TrustEntry | undefined {
    return this.entries.get(id)
  }

  /** `trusted`, `revoked`, or `unknown` (never enrolled). */
  standing(id: string): 'trusted' | 'revoked' | 'unknown' {
    const entry = this.entries.get(id)
    return entry === undefined ? 'unknown' : entry.revoked !== undefined ? 'revoked' : 'trusted'
  }

  /**
   * A peer the hub admitted: enrolled if new (trust on first use), its last sighting noted
   * otherwise. Returns whether it was enrolled now.
   */
  admitted(id: string, name: string, now = new Date()): boolean {
    const entry = this.entries.get(id)
    if (entry) {
      entry.lastSeen = now.toISOString()
      return false
    }
    this.add({ id, name, added: now.toISOString(), lastSeen: now.toISOString() })
    return true
  }

  /** A known peer's last sighting, as it leaves; nothing for a key not in the store. */
  seen(id: string, now = new Date()): void {
    const entry = this.entries.get(id)
    if (entry) entry.lastSeen = now.toISOString()
  }

  get full(): boolean {
    return this.entries.size >= MAX_TRUST_ENTRIES
  }

  /** Finds one peer by id or by name; a name that two peers share is an error listing both. */
  find(who: string): TrustEntry {
    const byId = this.entries.get(who)
    if (byId) return byId
    const named = [...this.entries.values()].filter((e) => e.name === who)
    if (named.length === 1) return named[0]!
    if (named.length > 1) throw new HiveError('USAGE', `${named.length} peers are named ${who}: give the peer id instead (${named.map((e) => e.id).join(', ')})`)
    throw new HiveError('USAGE', `no peer named or with the id ${who.slice(0, 80)} in ${this.file ?? 'the trust store'}; \`hive peers\` lists them`)
  }

  /** Revokes one peer by id or name; it stays listed, so that it is refused until allowed again. */
  revoke(who: string, now = new Date()): TrustEntry {
    const entry = this.find(who)
    entry.revoked ??= now.toISOString()
    return { ...entry }
  }

  /**
   * Forgets one peer by id or name, trusted or revoked: it is then unknown, so a hub with
   * --trusted-only refuses it, and one without enrols it again on a join with a valid token.
   */
  remove(who: string): TrustEntry {
    const entry = this.find(who)
    this.entries.delete(entry.id)
    return { ...entry }
  }

  /** Enrols a key ahead of its first join, or trusts a revoked one again; `name` renames it. */
  allow(id: string, name: string | undefined, now = new Date()): TrustEntry {
    if (!PEER_ID_PATTERN.test(id)) throw new HiveError('USAGE', `"${id.slice(0, 80)}" is not a peer id (12D3KooW and 44 more characters; \`hive join\` prints its own)`)
    if (name !== undefined && !NAME_PATTERN.test(name)) throw new HiveError('USAGE', `"${name.slice(0, 80)}" is not a valid peer name`)
    const entry = this.entries.get(id)
    if (entry) {
      delete entry.revoked
      if (name !== undefined) entry.name = name
      return { ...entry }
    }
    return { ...this.add({ id, name: name ?? 'unnamed', added: now.toISOString() }) }
  }

  private add(entry: TrustEntry): TrustEntry {
    if (this.full) throw new HiveError('HUB_FULL', `the trust store holds ${MAX_TRUST_ENTRIES} peers, as many as it takes; remove some with \`hive peers remove\``)
    this.entries.set(entry.id, entry)
    return entry
  }

  /** Resolves once every write queued so far is done (or failed). */
  flushed(): Promise<void> {
    return this.writing.catch(() => undefined)
  }

  /** Writes the store as it is now; writes are queued, so the last one always wins. */
  save(): Promise<void> {
    const file = this.file
    if (file === null) return Promise.resolve()
    const body = JSON.stringify({ kind: 'hive-trust-store', version: 1, peers: this.list() }, null, 2) + '\n'
    const next = this.writing.catch(() => undefined).then(() => writePrivate(file, body))
    this.writing = next
    return next
  }
}
