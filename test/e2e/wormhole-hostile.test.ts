import { readFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { httpGet } from '../helpers/clients.js'
import { startFakeMailbox, type FakeMailbox } from '../helpers/fake-mailbox.js'
import { killAll, runHive, startHub, startPeer, type HiveProcess } from '../helpers/hive.js'
import { startMailbox, type MailboxServer } from '../helpers/mailbox.js'
import { startPageServer } from '../helpers/services.js'

/**
 * Join codes against people who do not know the code: a third party on the real mailbox
 * server, a guesser, and a mailbox server that is itself hostile (the fake one).
 */
const APPID = 'lothar.com/wormhole/text-or-file-xfer'
let mailbox: MailboxServer
let page: Awaited<ReturnType<typeof startPageServer>>
const fakes: FakeMailbox[] = []

beforeAll(async () => {
  ;[mailbox, page] = await Promise.all([startMailbox(), startPageServer()])
})
afterEach(async () => {
  await killAll()
  await Promise.all(fakes.splice(0).map((f) => f.close()))
})
afterAll(async () => {
  await Promise.all([mailbox?.stop(), page?.close()])
})

async function fake(options: Parameters<typeof startFakeMailbox>[0]): Promise<FakeMailbox> {
  const f = await startFakeMailbox(options)
  fakes.push(f)
  return f
}

async function codeHub(relay: string, extra: string[] = []): Promise<{ hub: HiveProcess; ticket: string }> {
  return startHub([page.address, '-', '-'], ['--wormhole', '--wormhole-relay', relay, ...extra])
}

/** A third party on the mailbox server: it never learns the code, only the nameplate. */
async function meddler(url: string): Promise<{ send(type: string, fields?: Record<string, unknown>): void; next(type: string): Promise<Record<string, unknown>>; close(): void }> {
  const ws = new WebSocket(url)
  const inbox: Record<string, unknown>[] = []
  ws.on('message', (d) => inbox.push(JSON.parse(d.toString())))
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  const send = (type: string, fields: Record<string, unknown> = {}): void => ws.send(JSON.stringify({ type, ...fields }))
  send('bind', { appid: APPID, side: 'meddler0' })
  return {
    send,
    async next(type) {
      await expect.poll(() => inbox.find((m) => m.type === type), { timeout: 10_000 }).toBeDefined()
      return inbox.splice(inbox.findIndex((m) => m.type === type), 1)[0]!
    },
    close: () => ws.close(),
  }
}

/** Claims the nameplate of `code` on the real server and adds one message to its mailbox. */
async function meddle(code: string, phase: string, body: string): Promise<void> {
  const m = await meddler(mailbox.url)
  m.send('claim', { nameplate: code.split('-')[0] })
  const { mailbox: id } = await m.next('claimed')
  m.send('open', { mailbox: id })
  m.send('add', { phase, body })
  await new Promise((r) => setTimeout(r, 300))
  m.close()
}

describe('a third party on the mailbox server', () => {
  it('an 8 MiB message in the hub\'s mailbox does not end the hub: it serves ticket holders and shows a fresh code', async () => {
    const { hub, ticket } = await codeHub(mailbox.url)
    const code = (await hub.waitEvent('join_code')).code as string
    await meddle(code, 'pake', 'ab'.repeat(4 * 1024 * 1024))
    await hub.waitEvent('join_code', 40_000, 2)
    expect(hub.child.exitCode).toBeNull()
    const { ports } = await startPeer(ticket)
    expect((await httpGet(ports.frontend!, '/')).status).toBe(200)
  }, 60_000)

  it('an 8 MiB message in the mailbox a join waits on ends that join with one line, not a crash', async () => {
    const peer = runHive(['join', 'p', '--join-code', '58-waiting-here', '--wormhole-relay', mailbox.url, '--join-timeout', '20'])
    await expect.poll(() => peer.stderr).toContain('fetching the ticket')
    await new Promise((r) => setTimeout(r, 500))
    await meddle('58-waiting-here', 'pake', 'ab'.repeat(4 * 1024 * 1024))
    const status = await peer.exited
    expect([15, 16]).toContain(status)
    expect(peer.stderr.trim().split('\n').pop()).toMatch(/^hive: .*mailbox/)
    expect(peer.stderr).not.toMatch(/\n\s+at |Maximum call stack/)
  }, 40_000)

  it('a junk message where the key exchange belongs is a failed exchange: the hub says so and shows a fresh code', async () => {
    const { hub } = await codeHub(mailbox.url)
    const code = (await hub.waitEvent('join_code')).code as string
    await meddle(code, 'junk', '00')
    const failed = await hub.waitEvent('code_failed')
    expect(failed).toMatchObject({ code, message: expect.stringMatching(/where the other side's key exchange belongs/) })
    expect(await hub.waitEvent('code_backoff')).toMatchObject({ failures: 1, wait_s: 1 })
    expect((await hub.waitEvent('join_code', 10_000, 2)).code).not.toBe(code)
    expect(hub.stderr).toMatch(/next code in 1 s, after 1 failed exchange \(the ticket still works\)/)
  })
})

describe('guessing', () => {
  it('each wrong guess in a row makes the next code wait twice as long; a join by code resets it', async () => {
    const { hub } = await codeHub(mailbox.url)
    const shownAt: number[] = []
    for (let i = 1; i <= 4; i++) {
      const code = (await hub.waitEvent('join_code', 20_000, i)).code as string
      shownAt.push(Date.now())
      if (i === 4) break
      const guesser = runHive(['join', `guess-${i}`, '--join-code', code.replace(/-[a-z]+$/, '-wrongword'), '--wormhole-relay', mailbox.url])
      expect(await guesser.exited).toBe(14)
    }
    expect(hub.events.filter((e) => e.event === 'code_backoff').map((e) => e.wait_s)).toEqual([1, 2, 4])
    // Each new code came no sooner than its wait (the guess itself takes a moment more).
    expect(shownAt[3]! - shownAt[2]!).toBeGreaterThanOrEqual(4000)
    // A successful join by code starts the count again.
    const good = runHive(['join', 'honest', '--join-code', (hub.events.filter((e) => e.event === 'join_code')[3]!.code as string), '--wormhole-relay', mailbox.url, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json'])
    await good.waitEvent('join_ready')
    const fifth = (await hub.waitEvent('join_code', 10_000, 5)).code as string
    const guesser = runHive(['join', 'guess-5', '--join-code', fifth.replace(/-[a-z]+$/, '-wrongword'), '--wormhole-relay', mailbox.url])
    expect(await guesser.exited).toBe(14)
    expect(await hub.waitEvent('code_backoff', 10_000, 4)).toMatchObject({ failures: 1, wait_s: 1 })
  }, 60_000)

  it.each([
    [['--code-length', '1'], /--code-length "1": expected a whole number of words from 2 to 8/],
    [['--code-ttl', '5'], /--code-ttl "5": expected a duration at least 10 s/],
    [['--code-ttl', '0.001'], /--code-ttl "0.001": expected a duration at least 10 s/],
  ])('refuses %j: codes that short-lived or short are guessed or burnt too fast', async (args, message) => {
    const hub = runHive(['share', page.address, '-', '-', 'h', '--wormhole', '--wormhole-relay', mailbox.url, ...args])
    expect(await hub.exited).toBe(2)
    expect(hub.stderr).toMatch(message)
  })
})

describe('a hostile mailbox server', () => {
  it('a frame far larger than an honest one is refused; the hub keeps going and retries', async () => {
    const f = await fake({
      intercept: (client, message) => {
        if (message.type !== 'allocate') return false
        client.ws.send(JSON.stringify({ type: 'allocated', nameplate: '4', pad: 'x'.repeat(8 * 1024 * 1024) }))
        return true
      },
    })
    const { hub, ticket } = await codeHub(f.url)
    await hub.waitEvent('mailbox_down', 20_000, 2)
    expect(hub.child.exitCode).toBeNull()
    const { ports } = await startPeer(ticket)
    expect((await httpGet(ports.frontend!, '/')).status).toBe(200)
  })

  it('a server that answers every claim with "crowded" is not hammered: every failure waits', async () => {
    let claims = 0
    const f = await fake({
      intercept: (client, message) => {
        if (message.type !== 'claim') return false
        claims++
        client.send({ type: 'error', error: 'crowded', orig: message })
        return true
      },
    })
    const { hub } = await codeHub(f.url)
    await new Promise((r) => setTimeout(r, 8000))
    // Waits of 1, 2 and 4 s: at most 4 claims in 8 s, where the loop once made hundreds.
    expect(claims).toBeGreaterThanOrEqual(2)
    expect(claims).toBeLessThanOrEqual(4)
    expect(hub.stderr.split('\n').length).toBeLessThan(40)
  }, 20_000)

  it('100,000 messages flooding the mailbox: the hub keeps only what an exchange needs', async () => {
    const f = await fake({
      intercept: (client, message) => {
        if (message.type !== 'open') return false
        const flood = JSON.stringify({ type: 'message', side: 'flooder', phase: 'pake', body: 'ab'.repeat(512), id: 'x' })
        for (let i = 0; i < 100_000; i++) client.ws.send(flood)
        return true
      },
    })
    const peakRss = (pid: number): number => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024
    // The baseline: a hub whose mailbox behaves, with its code out. The wormhole client loads
    // only with the first code, after hub_ready, so the hub's own figure at ready is too low.
    const calm = await codeHub((await fake({ intercept: () => false })).url)
    await calm.hub.waitEvent('join_code', 30_000)
    await new Promise((r) => setTimeout(r, 1000))
    const before = peakRss(calm.hub.child.pid!)
    const { hub } = await codeHub(f.url)
    // The exchange ends (the first message is no key exchange; the rest overflow what is kept).
    await hub.waitEvent('code_backoff', 30_000)
    await new Promise((r) => setTimeout(r, 1000))
    const peak = peakRss(hub.child.pid!)
    console.log(`[figures] 100,000 mailbox messages: hub peak RSS +${((peak - before) / 1048576).toFixed(1)} MiB over a hub with its code out`)
    expect(peak - before).toBeLessThan(64 * 1024 * 1024)
    expect(hub.child.exitCode).toBeNull()
  }, 60_000)

  it('a failed allocate leaves no WebSocket behind', async () => {
    let allocates = 0
    let mostOpen = 0
    const f = await fake({
      intercept: (client, message) => {
        mostOpen = Math.max(mostOpen, f.clients.size)
        if (message.type !== 'allocate') return false
        allocates++
        client.send({ type: 'error', error: 'no nameplates left', orig: message })
        return true
      },
    })
    await codeHub(f.url)
    await expect.poll(() => allocates, { timeout: 15_000 }).toBeGreaterThanOrEqual(3)
    // Each failed connection is closed before the next opens (allowing the server a moment to see it).
    expect(mostOpen).toBeLessThanOrEqual(2)
    await expect.poll(() => f.clients.size, { timeout: 5000 }).toBeLessThanOrEqual(1)
    // Every connection made an allocate, but for the one that may just be opening for the next.
    expect(f.opened()).toBeGreaterThanOrEqual(allocates)
    expect(f.opened()).toBeLessThanOrEqual(allocates + 1)
  }, 30_000)

  it('Ctrl+C releases the nameplate and closes the mailbox within the grace period, even on a slow server', async () => {
    const seen: string[] = []
    const f = await fake({
      intercept: (client, message) => {
        seen.push(String(message.type))
        if (message.type !== 'release') return false
        // A slow server: the answer comes after the process's 1.8 s grace would have ended.
        setTimeout(() => client.send({ type: 'released' }), 2500)
        return true
      },
    })
    const { hub } = await codeHub(f.url)
    await hub.waitEvent('join_code')
    hub.signal('SIGINT')
    expect(await hub.exited).toBe(0)
    expect(seen).toEqual(expect.arrayContaining(['release', 'close']))
  })
})
