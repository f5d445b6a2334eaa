import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { generateEd25519, privateKeyFromProto, privateKeyToProto } from './ed25519.js'
import { object, oneOf, text } from '../protocol/check.js'
import { HiveError, errorMessage } from '../errors.js'
import { MAX_TOKEN_BYTES, MIN_TOKEN_BYTES, peerIdOfPublicKey } from '../protocol/ticket.js'

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

const checkKeyFile = object(
  { kind: oneOf(['hive-identity'] as const), version: oneOf([1] as const), privateKey: text({ pattern: /^[A-Za-z0-9+/]+=*$/ }) },
  { loose: false },
)

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

/** Key and token files are small; anything larger is not ours, and is not read whole. */
const MAX_FILE_BYTES = 64 * 1024

function shown(mode: number): string {
  return `mode ${(mode & 0o777).toString(8).padStart(4, '0')}`
}

/**
 * Refuses what another local user could read or replace, the way ssh refuses an
 * unprotected private key: one line naming the file and the command that fixes it.
 */
function refuseUnsafe(file: string, stats: { mode: number; uid: number }, kind: 'file' | 'directory'): void {
  const uid = process.getuid?.()
  if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) {
    throw new HiveError('IDENTITY_FILE', `${file} belongs to another user (uid ${stats.uid}); use a ${kind} of your own`, { file })
  }
  if (kind === 'file' && (stats.mode & 0o077) !== 0) {
    throw new HiveError('IDENTITY_FILE', `${file} is open to other users (${shown(stats.mode)}); run \`chmod 600 ${file}\``, { file })
  }
  if (kind === 'directory' && (stats.mode & 0o022) !== 0) {
    throw new HiveError('IDENTITY_FILE', `the directory ${file} is writable by other users (${shown(stats.mode)}), who could replace the key in it; run \`chmod go-w ${file}\``, { file })
  }
}

async function checkDirectory(dir: string): Promise<void> {
  let stats
  try {
    stats = await stat(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw fileError(dir, 'read', err)
  }
  refuseUnsafe(dir, stats, 'directory')
}

/** Reads a private file, or null if there is none; refuses one others could read or replace. */
async function readPrivate(file: string): Promise<string | null> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw fileError(file, 'read', err)
  }
  try {
    const stats = await handle.stat()
    refuseUnsafe(file, stats, 'file')
    if (stats.size > MAX_FILE_BYTES) throw new HiveError('IDENTITY_FILE', `${file} is ${stats.size} bytes, far more than a hive key or token`, { file })
    return await handle.readFile('utf8')
  } catch (err) {
    if (err instanceof HiveError) throw err
    throw fileError(file, 'read', err)
  } finally {
    await handle.close()
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
  // Throws a plain Error for a key it cannot use; loadIdentity names the file.
  const publicKey = new Uint8Array(privateKeyFromProto(privateKeyProto).publicKey)
  return { privateKeyProto, publicKey, peerId: peerIdOfPublicKey(publicKey), token, keyFile }
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

export async function ephemeralIdentity(): Promise<HubIdentity> {
  return fromPrivateKeyProto(privateKeyToProto(generateEd25519()), randomBytes(TOKEN_BYTES), null)
}

/**
 * Loads the key and token at `keyFile`, creating either on first use (mode 0600).
 * `rotateToken` replaces the token, which invalidates every ticket issued before.
 */
export async function loadIdentity(keyFile: string, options: { rotateToken?: boolean } = {}): Promise<HubIdentity & { created: boolean; rotated: boolean }> {
  let created = false
  let privateKeyProto: Uint8Array
  await checkDirectory(dirname(keyFile))
  const stored = await readPrivate(keyFile)
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

  const tokenFile = tokenFileFor(keyFile)
  const storedToken = options.rotateToken ? null : await readPrivate(tokenFile)
  let token: Uint8Array
  if (storedToken !== null) {
    token = parseToken(storedToken, tokenFile)
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
