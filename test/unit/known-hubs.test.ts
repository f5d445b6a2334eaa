import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import { KnownHubs } from '../../src/peer/known-hubs.js'
import { decodeTicket, encodeTicket, TICKET_VERSION } from '../../src/protocol/ticket.js'
import { ALPNS } from '../../src/protocol/services.js'
import { via } from '../helpers/tickets.js'

async function ticketOf(name: string, port = 4000): Promise<string> {
  const id = await ephemeralIdentity()
  return encodeTicket({ version: TICKET_VERSION, name, alpn: ALPNS.hivemind, publicKey: id.publicKey, token: id.token, addresses: [`127.0.0.1:${port}`] })
}

const hubsDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'hive-hubs-'))
  chmodSync(d, 0o700)
  return join(d, 'hubs')
}

describe('KnownHubs', () => {
  it('remembers a ticket under its hub name (0600 in a 0700 directory), says what changed, and gives it back', async () => {
    const hubs = new KnownHubs(hubsDir())
    const text = await ticketOf('office')
    expect(await hubs.remember(decodeTicket(text), text)).toBe('new')
    expect(await hubs.remember(decodeTicket(text), text)).toBe('same')
    expect(statSync(join(hubs.dir, 'office')).mode & 0o777).toBe(0o600)
    expect(statSync(hubs.dir).mode & 0o777).toBe(0o700)
    // Another hub that goes by the same name: said so, since --hub office now means it.
    const newer = await ticketOf('office', 5000)
    expect(await hubs.remember(decodeTicket(newer), newer)).toBe('replaced')
    expect((await hubs.get('office')).addresses).toEqual(['127.0.0.1:5000'])
    expect(readFileSync(join(hubs.dir, 'office'), 'utf8')).toBe(newer + '\n')
    // The same hub with another address (a restart on a random port): a newer ticket of it.
    const moved = via(newer, '127.0.0.1:6000')
    expect(await hubs.remember(decodeTicket(moved), moved)).toBe('updated')
  })

  it('lists every hub by name, a damaged file with why, and skips names hive would not write', async () => {
    const hubs = new KnownHubs(hubsDir())
    expect(await hubs.list()).toEqual([])
    for (const name of ['b-hub', 'a-hub']) {
      const t = await ticketOf(name)
      await hubs.remember(decodeTicket(t), t)
    }
    writeFileSync(join(hubs.dir, 'broken'), 'hive1nonsense', { mode: 0o600 })
    writeFileSync(join(hubs.dir, '.hidden'), 'x', { mode: 0o600 })
    const listed = await hubs.list()
    expect(listed.map((h) => h.name)).toEqual(['a-hub', 'b-hub', 'broken'])
    expect(listed[2]).toMatchObject({ name: 'broken', error: expect.any(String) })
  })

  it('forgets a hub, and says when there was none', async () => {
    const hubs = new KnownHubs(hubsDir())
    const t = await ticketOf('gone')
    await hubs.remember(decodeTicket(t), t)
    expect(await hubs.forget('gone')).toBe(true)
    expect(await hubs.forget('gone')).toBe(false)
    await expect(hubs.get('gone')).rejects.toThrow(/no remembered hub named gone/)
  })

  it('refuses names that are not hub names (no paths), damaged tickets, and files others can read', async () => {
    const hubs = new KnownHubs(hubsDir())
    await expect(hubs.get('../hub.key')).rejects.toThrow(/is not a hub name/)
    await expect(hubs.forget('a/b')).rejects.toThrow(/is not a hub name/)
    const t = await ticketOf('leaky')
    await hubs.remember(decodeTicket(t), t)
    chmodSync(join(hubs.dir, 'leaky'), 0o644)
    await expect(hubs.get('leaky')).rejects.toThrow(/open to other users/)
    writeFileSync(join(hubs.dir, 'bad'), 'garbage', { mode: 0o600 })
    await expect(hubs.get('bad')).rejects.toThrow(/does not hold a valid ticket .*hive hubs forget bad/)
  })
})
