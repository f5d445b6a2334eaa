import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
    writeFileSync(file, 'not json')
    await expect(loadIdentity(file)).rejects.toMatchObject({ code: 'IDENTITY_FILE', message: expect.stringContaining('not a hive identity file') })
  })
})
