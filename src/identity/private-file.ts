import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { HiveError, errorMessage } from '../errors.js'

/**
 * Files only their owner may read or replace: keys, tokens, the trust store and remembered
 * tickets. Each refuses what another local user could read or swap, the way ssh refuses an
 * unprotected private key, and is written whole or not at all.
 */

export function fileError(file: string, action: string, err: unknown): HiveError {
  return new HiveError('IDENTITY_FILE', `cannot ${action} ${file}: ${errorMessage(err)}`, { file }, { cause: err })
}

function shown(mode: number): string {
  return `mode ${(mode & 0o777).toString(8).padStart(4, '0')}`
}

/** One line naming the file and the command that fixes it. */
function refuseUnsafe(file: string, stats: { mode: number; uid: number }, kind: 'file' | 'directory'): void {
  const uid = process.getuid?.()
  if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) {
    throw new HiveError('IDENTITY_FILE', `${file} belongs to another user (uid ${stats.uid}); use a ${kind} of your own`, { file })
  }
  if (kind === 'file' && (stats.mode & 0o077) !== 0) {
    throw new HiveError('IDENTITY_FILE', `${file} is open to other users (${shown(stats.mode)}); run \`chmod 600 ${file}\``, { file })
  }
  if (kind === 'directory' && (stats.mode & 0o022) !== 0) {
    throw new HiveError('IDENTITY_FILE', `the directory ${file} is writable by other users (${shown(stats.mode)}), who could replace the files in it; run \`chmod go-w ${file}\``, { file })
  }
}

/** A directory others can write to could have our files swapped: refused, unless it does not exist yet. */
export async function checkDirectory(dir: string): Promise<void> {
  let stats
  try {
    stats = await stat(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw fileError(dir, 'read', err)
  }
  refuseUnsafe(dir, stats, 'directory')
}

/**
 * Reads a private file, or null if there is none. Anything larger than `maxBytes` is not
 * ours, and is not read whole.
 */
export async function readPrivate(file: string, maxBytes: number, what: string): Promise<string | null> {
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
    if (stats.size > maxBytes) throw new HiveError('IDENTITY_FILE', `${file} is ${stats.size} bytes, far more than ${what}`, { file })
    return await handle.readFile('utf8')
  } catch (err) {
    if (err instanceof HiveError) throw err
    throw fileError(file, 'read', err)
  } finally {
    await handle.close()
  }
}

/** Writes via a private temp file and a rename (mode 0600), so a crash never leaves half a file. */
export async function writePrivate(file: string, contents: string): Promise<void> {
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

/** Removes a private file; false if there was none. */
export async function removePrivate(file: string): Promise<boolean> {
  try {
    await rm(file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw fileError(file, 'remove', err)
  }
}
