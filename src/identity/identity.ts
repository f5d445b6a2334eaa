import { randomBytes } from 'node:crypto'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { generateEd25519, privateKeyFromProto, privateKeyToProto } from './ed25519.js'
import { object, oneOf, text } from '../protocol/check.js'
import { HiveError, errorMessage } from '../errors.js'
import { checkDirectory, readPrivate, writePrivate } from './private-file.js'
import { MAX_TOKEN_BYTES, MIN_TOKEN_BYTES, peerIdOfPublicKey } from '../protocol/ticket.js'

/** An Ed25519 key that QUIC and the DHT prove on our side: a hub's, a peer's or a relay's. */
export interface KeyIdentity {
  privateKeyProto: Uint8Array
  publicKey: Uint8Array
  peerId: string
  /** Where the key lives, or null for --ephemeral. */
  keyFile: string | null
}

/** The hub's long-lived key and the access token that tickets carry. */
export interface HubIdentity extends KeyIdentity {
  token: Uint8Array
}

export const TOKEN_BYTES = 32

const checkKeyFile = object(
  { kind: oneOf(['hive-identity'] as const), version: oneOf([1] as const), privateKey: text({ pattern: /^[A-Za-z0-9+/]+=*$/ }) },
  { loose: false },
)

/** `$XDG_CONFIG_HOME/hive` (or ~/.config/hive): keys, the trust store and remembered hubs. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(base, 'hive')
}

export function defaultIdentityFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'hub.key')
}

/** A peer's own key: the hub knows the peer by it across runs (its trust store). */
export function defaultPeerKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'peer.key')
}

/** The token lives beside the key, so `--identity FILE` keeps `FILE.token`. */
export function tokenFileFor(keyFile: string): string {
  return `${keyFile}.token`
}

/** Key and token files are small; anything larger is not ours. */
const MAX_FILE_BYTES = 64 * 1024

function keyOf(privateKeyProto: Uint8Array, keyFile: string | null): KeyIdentity {
  // Throws a plain Error for a key it cannot use; loadKey names the file.
  const publicKey = new Uint8Array(privateKeyFromProto(privateKeyProto).publicKey)
  return { privateKeyProto, publicKey, peerId: peerIdOfPublicKey(publicKey), keyFile }
}

/**
 * A stored token: base64url of 16 to 64 bytes, as a ticket carries. Anything else is an error,
 * never a reason to issue a new token: that would revoke every ticket without a word.
 */
function parseToken(text: string, file: string): Uint8Array {
  const trimmed = text.trim()
  const fix = `remove it to issue a new token (every ticket issued before stops working), or run with --rotate-token`
  if (!/^[A-Za-z0-9_-]*$/.test(trimmed)) throw new HiveError('IDENTITY_FILE', `${file} does not hold a hive token; ${fix}`, { file })
  const bytes = Buffer.from(trimmed, 'base64url')
  if (bytes.length < MIN_TOKEN_BYTES || bytes.length > MAX_TOKEN_BYTES) {
    throw new HiveError('IDENTITY_FILE', `${file} holds a token of ${bytes.length} bytes, and a hive token has ${MIN_TOKEN_BYTES} to ${MAX_TOKEN_BYTES}; ${fix}`, { file })
  }
  return new Uint8Array(bytes)
}

export function ephemeralKey(): KeyIdentity {
  return keyOf(privateKeyToProto(generateEd25519()), null)
}

export async function ephemeralIdentity(): Promise<HubIdentity> {
  return { ...ephemeralKey(), token: randomBytes(TOKEN_BYTES) }
}

/** Loads the Ed25519 key at `keyFile`, creating it on first use (mode 0600). */
export async function loadKey(keyFile: string): Promise<KeyIdentity & { created: boolean }> {
  let created = false
  let privateKeyProto: Uint8Array
  await checkDirectory(dirname(keyFile))
  const stored = await readPrivate(keyFile, MAX_FILE_BYTES, 'a hive key')
  if (stored === null) {
    privateKeyProto = privateKeyToProto(generateEd25519())
    const body = { kind: 'hive-identity', version: 1, privateKey: Buffer.from(privateKeyProto).toString('base64') }
    await writePrivate(keyFile, JSON.stringify(body) + '\n')
    created = true
  } else {
    let parsed
    try {
      parsed = checkKeyFile(JSON.parse(stored))
    } catch {
      throw new HiveError('IDENTITY_FILE', `${keyFile} is not a hive identity file`, { file: keyFile })
    }
    privateKeyProto = new Uint8Array(Buffer.from(parsed.privateKey, 'base64'))
  }
  try {
    return { ...keyOf(privateKeyProto, keyFile), created }
  } catch (err) {
    throw new HiveError('IDENTITY_FILE', `${keyFile} holds a key that cannot be read: ${errorMessage(err)}`, { file: keyFile })
  }
}

/**
 * Loads the hub's key and token at `keyFile`, creating either on first use (mode 0600).
 * `rotateToken` replaces the token, which invalidates every ticket issued before.
 */
export async function loadIdentity(keyFile: string, options: { rotateToken?: boolean } = {}): Promise<HubIdentity & { created: boolean; rotated: boolean }> {
  const key = await loadKey(keyFile)
  const tokenFile = tokenFileFor(keyFile)
  const storedToken = options.rotateToken ? null : await readPrivate(tokenFile, MAX_FILE_BYTES, 'a hive token')
  let token: Uint8Array
  if (storedToken !== null) {
    token = parseToken(storedToken, tokenFile)
  } else {
    token = randomBytes(TOKEN_BYTES)
    await writePrivate(tokenFile, Buffer.from(token).toString('base64url') + '\n')
  }
  return { ...key, token, rotated: options.rotateToken === true }
}
