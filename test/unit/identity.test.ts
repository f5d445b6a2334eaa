import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultIdentityFile, loadIdentity, tokenFileFor } from '../../src/identity/identity.js'

const dir = mkdtempSync(join(tmpdir(), 'hive-identity-'))

describe('hub identity', () => {
  it('lives under XDG_CONFIG_HOME, or ~/.config', () => {
    expect(defaultIdentityFile({ XDG_CONFIG_HOME: '/x' })).toBe('/x/hive/hub.key')
    expect(defaultIdentityFile({})).toMatch(/\.config\/hive\/hub\.key$/)
  })

  it('is created with mode 0600 on first use and reused after', async () => {
    const file = join(dir, 'sub', 'hub.key')
    const first = await loadIdentity(file)
    expect(first.created).toBe(true)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(tokenFileFor(file)).mode & 0o777).toBe(0o600)
    const second = await loadIdentity(file)
    expect(second.created).toBe(false)
    expect(second.peerId).toBe(first.peerId)
    expect(Buffer.from(second.token)).toEqual(Buffer.from(first.token))
  })

  it('keeps the key but replaces the token on rotation', async () => {
    const file = join(dir, 'rotate.key')
    const first = await loadIdentity(file)
    const rotated = await loadIdentity(file, { rotateToken: true })
    expect(rotated.peerId).toBe(first.peerId)
    expect(Buffer.from(rotated.token)).not.toEqual(Buffer.from(first.token))
    expect(readFileSync(tokenFileFor(file), 'utf8').trim()).toBe(Buffer.from(rotated.token).toString('base64url'))
  })

  it('refuses a file that is not a hive identity', async () => {
    const file = join(dir, 'junk.key')
    writeFileSync(file, 'not json', { mode: 0o600 })
    await expect(loadIdentity(file)).rejects.toMatchObject({ code: 'IDENTITY_FILE', message: expect.stringContaining('not a hive identity file') })
  })

  it('refuses a damaged key, naming the file, and never replaces it', async () => {
    const file = join(dir, 'damaged.key')
    const good = await loadIdentity(file)
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { privateKey: string }
    const key = Buffer.from(stored.privateKey, 'base64')
    key[10] ^= 1
    const damaged = JSON.stringify({ ...stored, privateKey: key.toString('base64') })
    writeFileSync(file, damaged, { mode: 0o600 })
    await expect(loadIdentity(file)).rejects.toMatchObject({ code: 'IDENTITY_FILE', message: `${file} holds a key that cannot be read: the public half does not match the private half: the key is damaged` })
    expect(readFileSync(file, 'utf8')).toBe(damaged)
    expect(good.peerId).toMatch(/^12D3KooW/)
  })
})

describe('identity files others could read or replace', () => {
  const fresh = async (name: string): Promise<string> => {
    const sub = mkdtempSync(join(dir, `${name}-`))
    const file = join(sub, 'hub.key')
    await loadIdentity(file)
    return file
  }

  it('refuses a key file that others can read, naming the chmod to run', async () => {
    const file = await fresh('open-key')
    chmodSync(file, 0o644)
    await expect(loadIdentity(file)).rejects.toMatchObject({ code: 'IDENTITY_FILE', message: `${file} is open to other users (mode 0644); run \`chmod 600 ${file}\`` })
  })

  it('refuses a token file that others can read', async () => {
    const file = await fresh('open-token')
    chmodSync(tokenFileFor(file), 0o640)
    await expect(loadIdentity(file)).rejects.toMatchObject({ code: 'IDENTITY_FILE', message: expect.stringContaining(`run \`chmod 600 ${tokenFileFor(file)}\``) })
  })

  it('refuses a key in a directory that others can write', async () => {
    const file = await fresh('open-dir')
    chmodSync(dirname(file), 0o777)
    await expect(loadIdentity(file)).rejects.toMatchObject({ code: 'IDENTITY_FILE', message: expect.stringContaining(`run \`chmod go-w ${dirname(file)}\``) })
  })

  it('refuses a file far larger than a key, without reading it whole', async () => {
    const file = await fresh('huge')
    writeFileSync(file, Buffer.alloc(10 * 1024 * 1024, 0x20), { mode: 0o600 })
    await expect(loadIdentity(file)).rejects.toMatchObject({ code: 'IDENTITY_FILE', message: expect.stringMatching(/is 10485760 bytes, far more than a hive key/) })
  })
})

describe('stored tokens', () => {
  it.each([
    ['more than 64 bytes', Buffer.alloc(100, 1).toString('base64url'), /holds a token of 100 bytes, and a hive token has 16 to 64/],
    ['too short', Buffer.alloc(8, 1).toString('base64url'), /holds a token of 8 bytes/],
    ['empty', '', /holds a token of 0 bytes/],
    ['not base64url', 'this is not a token!', /does not hold a hive token/],
  ])('a token file that is %s is an IDENTITY_FILE error, and is left as it was', async (_name, contents, message) => {
    const sub = mkdtempSync(join(dir, 'token-'))
    const file = join(sub, 'hub.key')
    await loadIdentity(file)
    writeFileSync(tokenFileFor(file), contents + '\n', { mode: 0o600 })
    await expect(loadIdentity(file)).rejects.toMatchObject({ code: 'IDENTITY_FILE', message: expect.stringMatching(message) })
    expect(readFileSync(tokenFileFor(file), 'utf8')).toBe(contents + '\n')
    // --rotate-token is the way to replace it on purpose.
    const rotated = await loadIdentity(file, { rotateToken: true })
    expect(rotated.token).toHaveLength(32)
  })
})
