import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { z } from 'zod'
import { HiveError, errorMessage } from '../errors.js'
import { peerIdOfPublicKey } from '../protocol/ticket.js'

/** The hub's long-lived Ed25519 key and the access token that tickets carry. */
export interface HubIdentity {
  privateKeyProto: Uint8Array
  publicKey: Uint8Array
  peerId: string
  token: Uint8Array
  /** Where the key lives, or null for --ephemeral. */
  keyFile: string | null
}

export const TOKEN_BYTES = 32

const KeyFileSchema = z.strictObject({
  kind: z.literal('hive-identity'),
  version: z.literal(1),
  privateKey: z.string().regex(/^[A-Za-z0-9+/]+=*$/),
})

export function defaultIdentityFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(base, 'hive', 'hub.key')
}

/** The token lives beside the key, so `--identity FILE` keeps `FILE.token`. */
export function tokenFileFor(keyFile: string): string {
  return `${keyFile}.token`
}

function fileError(file: string, action: string, err: unknown): HiveError {
  return new HiveError('IDENTITY_FILE', `cannot ${action} ${file}: ${errorMessage(err)}`, { file }, { cause: err })
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw fileError(file, 'read', err)
  }
}

/** Writes via a private temp file and a rename, so a crash never leaves half a key. */
async function writePrivate(file: string, contents: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
    const temp = `${file}.${process.pid}.tmp`
    await rm(temp, { force: true })
    await writeFile(temp, contents, { mode: 0o600, flag: 'wx' })
    await rename(temp, file)
  } catch (err) {
    throw fileError(file, 'write', err)
  }
}

async function fromPrivateKeyProto(privateKeyProto: Uint8Array, token: Uint8Array, keyFile: string | null): Promise<HubIdentity> {
  const key = privateKeyFromProtobuf(privateKeyProto)
  if (key.type !== 'Ed25519') throw new HiveError('IDENTITY_FILE', `${keyFile}: the key is ${key.type}, not Ed25519`)
  const publicKey = key.publicKey.raw
  return { privateKeyProto, publicKey, peerId: peerIdOfPublicKey(publicKey), token, keyFile }
}

export async function ephemeralIdentity(): Promise<HubIdentity> {
  const key = await generateKeyPair('Ed25519')
  return fromPrivateKeyProto(privateKeyToProtobuf(key), randomBytes(TOKEN_BYTES), null)
}

/**
 * Loads the key and token at `keyFile`, creating either on first use (mode 0600).
 * `rotateToken` replaces the token, which invalidates every ticket issued before.
 */
export async function loadIdentity(keyFile: string, options: { rotateToken?: boolean } = {}): Promise<HubIdentity & { created: boolean; rotated: boolean }> {
  let created = false
  let privateKeyProto: Uint8Array
  const stored = await readIfExists(keyFile)
  if (stored === null) {
    privateKeyProto = privateKeyToProtobuf(await generateKeyPair('Ed25519'))
    const body = { kind: 'hive-identity', version: 1, privateKey: Buffer.from(privateKeyProto).toString('base64') }
    await writePrivate(keyFile, JSON.stringify(body) + '\n')
    created = true
  } else {
    let parsed
    try {
      parsed = KeyFileSchema.parse(JSON.parse(stored))
    } catch {
      throw new HiveError('IDENTITY_FILE', `${keyFile} is not a hive identity file`, { file: keyFile })
    }
    privateKeyProto = new Uint8Array(Buffer.from(parsed.privateKey, 'base64'))
  }

  const tokenFile = tokenFileFor(keyFile)
  const storedToken = options.rotateToken ? null : await readIfExists(tokenFile)
  let token: Uint8Array
  if (storedToken !== null && /^[A-Za-z0-9_-]{22,}$/.test(storedToken.trim())) {
    token = new Uint8Array(Buffer.from(storedToken.trim(), 'base64url'))
  } else {
    token = randomBytes(TOKEN_BYTES)
    await writePrivate(tokenFile, Buffer.from(token).toString('base64url') + '\n')
  }
  try {
    const identity = await fromPrivateKeyProto(privateKeyProto, token, keyFile)
    return { ...identity, created, rotated: options.rotateToken === true }
  } catch (err) {
    if (err instanceof HiveError) throw err
    throw new HiveError('IDENTITY_FILE', `${keyFile} holds a key that cannot be read: ${errorMessage(err)}`, { file: keyFile })
  }
}
