import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, runHive, startHub } from '../helpers/hive.js'
import { rawHub } from '../helpers/raw-hub.js'
import { startFakeMailbox } from '../helpers/fake-mailbox.js'
import { rawFrame, rawPeer, ticketToken } from '../helpers/raw-peer.js'
import { startPageServer } from '../helpers/services.js'

/** Text from the other side must never drive the operator's terminal. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/
const EVIL = '\u001b[2J\u001b[H\r+ peer `admin` joined (trusted)\u001b]0;owned\u0007'

let page: Awaited<ReturnType<typeof startPageServer>>
beforeAll(async () => {
  page = await startPageServer()
})
afterEach(async () => {
  await killAll()
})
afterAll(async () => {
  await page?.close()
})

describe("remote text on the hub operator's terminal", () => {
  it('a bye reason from a ticket holder is shown without its control characters', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'])
    const peer = await rawPeer(ticket)
    await peer.send(rawFrame({ type: 'hello', version: 1, token: ticketToken(ticket), peer: 'evil', alpn: 'HIVEMIND/1.0.0' }))
    await expect.poll(() => hub.events.find((e) => e.event === 'peer_connected')).toBeDefined()
    await peer.send(rawFrame({ type: 'bye', reason: EVIL }))
    await expect.poll(() => hub.events.find((e) => e.event === 'peer_left')).toBeDefined()
    peer.close()
    expect(hub.stderr).toMatch(/- peer `evil` left \(\?\[2J\?\[H\?\+ peer `admin` joined/)
    expect(hub.stderr).not.toMatch(CONTROL)
    // The JSON event carries the same cleaned text.
    expect(hub.events.find((e) => e.event === 'peer_left')).toMatchObject({ reason: expect.stringMatching(/^\?\[2J\?\[H\?\+ peer `admin`/) })
  })

  it('an unknown hello key from anyone (no ticket needed) is not echoed raw', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'])
    const peer = await rawPeer(ticket)
    await peer.send(rawFrame({ type: 'hello', version: 1, token: 'x'.repeat(43), peer: 'p', alpn: 'HIVEMIND/1.0.0', [EVIL + 'k'.repeat(3000)]: 1 }))
    await expect.poll(() => hub.events.find((e) => e.event === 'peer_refused')).toBeDefined()
    peer.close()
    expect(hub.stderr).toMatch(/refused/)
    expect(hub.stderr).not.toMatch(CONTROL)
    // Cut to a sane length: no line of the hub's grows by the attacker's 3000 characters.
    for (const line of hub.stderr.split('\n')) expect(line.length).toBeLessThan(600)
  })
})

describe("remote text on the peer's terminal", () => {
  it("a hub's refusal text is shown without its control characters", async () => {
    const hub = await rawHub()
    try {
      const peer = runHive(['join', 'p', '--ticket', hub.ticket, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-'])
      const { control } = await hub.nextPeer()
      await control.write(rawFrame({ type: 'refused', code: 'token', message: EVIL }))
      expect(await peer.exited).toBe(6)
      expect(peer.stderr).toMatch(/refused the access token: \?\[2J/)
      expect(peer.stderr).not.toMatch(CONTROL)
    } finally {
      hub.close()
    }
  })

  it("a hub's bye reason is shown without its control characters", async () => {
    const hub = await rawHub()
    try {
      const { peer, link, control } = await (async () => {
        const peer = runHive(['join', 'p', '--ticket', hub.ticket, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json'])
        const { link, control } = await hub.nextPeer()
        await control.write(rawFrame({ type: 'welcome', hub: 'raw-hub' }))
        await peer.waitEvent('join_ready')
        return { peer, link, control }
      })()
      await control.write(rawFrame({ type: 'bye', reason: EVIL }))
      await control.finish()
      expect(await peer.exited).toBe(9)
      link.close()
      expect(peer.stderr).toMatch(/hub stopped \(\?\[2J/)
      expect(peer.stderr).not.toMatch(CONTROL)
    } finally {
      hub.close()
    }
  })
})

describe("a mailbox server's text", () => {
  it('a MOTD with control characters, 16 KiB long, reaches the terminal as one clean, cut line', async () => {
    // Longer frames than 64 KiB are refused outright (wormhole-hostile.test.ts).
    const mailbox = await startFakeMailbox({ welcome: { motd: EVIL + 'm'.repeat(16 * 1024) } })
    try {
      const peer = runHive(['join', 'p', '--join-code', '7-guitarist-revenge', '--wormhole-relay', mailbox.url, '--join-timeout', '2', '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-'])
      expect(await peer.exited).toBe(18)
      const motd = peer.stderr.split('\n').filter((l) => l.startsWith('mailbox server says: '))
      expect(motd).toHaveLength(1)
      expect(motd[0]!.length).toBeLessThan(300)
      expect(peer.stderr).not.toMatch(CONTROL)
    } finally {
      await mailbox.close()
    }
  })

  it("the mailbox's error text is shown without control characters", async () => {
    const mailbox = await startFakeMailbox({ welcome: { error: EVIL } })
    try {
      const peer = runHive(['join', 'p', '--join-code', '7-guitarist-revenge', '--wormhole-relay', mailbox.url, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-'])
      expect(await peer.exited).toBe(16)
      expect(peer.stderr).toMatch(/refused service: \?\[2J/)
      expect(peer.stderr).not.toMatch(CONTROL)
    } finally {
      await mailbox.close()
    }
  })
})
