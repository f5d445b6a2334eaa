import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { httpGet } from '../helpers/clients.js'
import { killAll, runHive, startHub, type HiveProcess } from '../helpers/hive.js'
import { freeTcpPort, startMailbox, type MailboxServer } from '../helpers/mailbox.js'
import { startPageServer } from '../helpers/services.js'
import { runStock } from '../helpers/stock-clients.js'

let mailbox: MailboxServer
let page: Awaited<ReturnType<typeof startPageServer>>

beforeAll(async () => {
  ;[mailbox, page] = await Promise.all([startMailbox(), startPageServer()])
})
afterEach(async () => {
  await killAll()
})
afterAll(async () => {
  await Promise.all([mailbox?.stop(), page?.close()])
})

async function codeHub(extra: string[] = []): Promise<{ hub: HiveProcess; ticket: string; code: (nth: number) => Promise<string> }> {
  const { hub, ticket } = await startHub([page.address, '-', '-'], ['--wormhole', '--wormhole-relay', mailbox.url, ...extra])
  return { hub, ticket, code: async (nth) => (await hub.waitEvent('join_code', 20_000, nth)).code as string }
}

function joinByCode(code: string, name: string, extra: string[] = []): HiveProcess {
  return runHive(['join', name, '--join-code', code, '--wormhole-relay', mailbox.url, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json', ...extra])
}

describe('interop with the stock Magic Wormhole clients', () => {
  it('`wormhole receive` (Python) prints exactly the hub\'s ticket', async () => {
    const { hub, ticket, code } = await codeHub()
    const first = await code(1)
    expect(first).toMatch(/^\d+-[a-z]+-[a-z]+$/)
    const result = await runStock('wormhole', ['--relay-url', mailbox.url, 'receive', first]).done
    expect(result.status, JSON.stringify(result.stderr)).toBe(0)
    expect(result.stdout).toBe(`${ticket}\n`)
    // The code was used: the hub shows a fresh one.
    expect(await code(2)).not.toBe(first)
    expect(hub.events.find((e) => e.event === 'code_used')).toMatchObject({ code: first })
  })

  it('`wormhole-william receive` (Go) prints exactly the hub\'s ticket', async () => {
    const { ticket, code } = await codeHub()
    const result = await runStock('wormhole-william', ['--relay-url', mailbox.url, 'receive', await code(1)]).done
    expect(result.status, JSON.stringify(result.stderr)).toBe(0)
    expect(result.stdout.trim()).toBe(ticket)
  })

  it('a code from `wormhole send --text TICKET` works with `hive join --join-code`', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    const code = '42-hive-interop'
    const sender = runStock('wormhole', ['--relay-url', mailbox.url, 'send', '--code', code, '--text', ticket]).done
    const peer = joinByCode(code, 'from-python')
    const ready = await peer.waitEvent('join_ready')
    const port = Number(String((ready.services as Record<string, string>).frontend).split(':').pop())
    expect((await httpGet(port, '/')).body.toString()).toContain('hello from the frontend')
    const sent = await sender
    expect(sent.status, JSON.stringify(sent.stderr)).toBe(0)
    expect(sent.stderr).toContain('text message sent')
  })
})

describe('hive share --wormhole', () => {
  it('serves peers one after another through rotated codes, each reaching the services', async () => {
    const { hub, code } = await codeHub()
    const seen = new Set<string>()
    const readyMs: number[] = []
    for (let i = 1; i <= 5; i++) {
      const current = await code(i)
      expect(seen.has(current)).toBe(false)
      seen.add(current)
      const started = Date.now()
      const peer = joinByCode(current, `peer-${i}`)
      const ready = await peer.waitEvent('join_ready')
      readyMs.push(Date.now() - started)
      const port = Number(String((ready.services as Record<string, string>).frontend).split(':').pop())
      expect((await httpGet(port, `/n/${i}`)).body.toString()).toBe(JSON.stringify({ n: i }))
    }
    expect(hub.events.filter((e) => e.event === 'peer_connected').map((e) => e.peer)).toEqual(['peer-1', 'peer-2', 'peer-3', 'peer-4', 'peer-5'])
    expect(hub.stderr).toMatch(/╭─+╮\n│ join code: {2}\d+-/)
    const sorted = [...readyMs].sort((a, b) => a - b)
    console.log(`[figures] hive join --join-code to ready, local mailbox: median ${sorted[2]} ms of 5 (${readyMs.join(', ')} ms)`)
  })

  it('a wrong code: both sides report it, and the hub shows a new code', async () => {
    const { hub, code } = await codeHub()
    const right = await code(1)
    const wrong = right.replace(/-[a-z]+$/, '-wrongword')
    const peer = joinByCode(wrong, 'guesser')
    expect(await peer.exited).toBe(14)
    expect(peer.stderr).toMatch(/hive: key confirmation failed for code .*mistyped, or someone tried to guess it/)
    const next = await code(2)
    expect(next).not.toBe(right)
    expect(hub.events.find((e) => e.event === 'wrong_code')).toMatchObject({ code: right })
    expect(hub.stderr).toContain(`wrong code attempt for ${right} (code discarded)`)
    // The discarded code is never offered again; the new one works.
    const good = joinByCode(next, 'honest')
    await good.waitEvent('join_ready')
  })

  it('--code-length sets the number of words', async () => {
    const { code } = await codeHub(['--code-length', '4'])
    expect(await code(1)).toMatch(/^\d+(-[a-z]+){4}$/)
  })

  it('an unused code expires after --code-ttl and is replaced', async () => {
    const { hub, code } = await codeHub(['--code-ttl', '10'])
    const first = await code(1)
    expect((await hub.waitEvent('join_code', 25_000, 2)).code).not.toBe(first)
    expect(hub.events.find((e) => e.event === 'code_expired')).toMatchObject({ code: first })
  })
})

describe('failures', () => {
  it('a join with nobody sharing under the code times out with that message', async () => {
    const peer = joinByCode('77-nobody-here', 'lonely', ['--join-timeout', '2'])
    expect(await peer.exited).toBe(18)
    expect(peer.stderr).toMatch(/hive: nobody is sharing under code 77-nobody-here \(waited 2 s\)/)
  })

  it('a code left by a hub that was killed: the join says the hub stopped answering', async () => {
    const { hub, code } = await codeHub()
    const stale = await code(1)
    hub.signal('SIGKILL')
    await hub.exited
    const peer = joinByCode(stale, 'late', ['--join-timeout', '3'])
    expect(await peer.exited).toBe(18)
    expect(peer.stderr).toContain(`the hub that made code ${stale} stopped answering`)
  })

  it('a malformed ticket inside the wormhole is rejected with the ticket error', async () => {
    const code = '43-not-a-ticket'
    const sender = runStock('wormhole', ['--relay-url', mailbox.url, 'send', '--code', code, '--text', 'hive1thisisnotavalidticket']).done
    const peer = joinByCode(code, 'p')
    expect(await peer.exited).toBe(3)
    expect(peer.stderr).toMatch(/hive: the ticket received for code 43-not-a-ticket is not valid: the ticket checksum does not match/)
    await sender
  })

  it('the mailbox down: the hub says so, keeps serving ticket holders and retries; a join names the URL', async () => {
    const deadUrl = `ws://127.0.0.1:${await freeTcpPort()}/v1`
    const { hub, ticket } = await startHub([page.address, '-', '-'], ['--wormhole', '--wormhole-relay', deadUrl])
    const down = await hub.waitEvent('mailbox_down')
    expect(down.message).toContain(deadUrl)
    expect(hub.stderr).toMatch(/ticket holders can still join; retrying in 1 s/)
    await hub.waitEvent('mailbox_down', 10_000, 2)
    const direct = runHive(['join', 'ticket-holder', '--ticket', ticket, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json'])
    await direct.waitEvent('join_ready')
    expect(hub.child.exitCode).toBeNull()

    const peer = joinByCode('5-any-code', 'p', ['--wormhole-relay', deadUrl])
    expect(await peer.exited).toBe(15)
    expect(peer.stderr).toContain(`cannot reach the wormhole mailbox at ${deadUrl}`)
    expect(peer.stderr).toContain('--wormhole-relay')
  })

  it('a welcome error from the server is shown as the server\'s message', async () => {
    const refusing = await startMailbox(['--signal-error=closed for maintenance'])
    try {
      const peer = runHive(['join', 'p', '--join-code', '5-a-b', '--wormhole-relay', refusing.url])
      expect(await peer.exited).toBe(16)
      expect(peer.stderr).toMatch(/refused service: closed for maintenance/)
    } finally {
      await refusing.stop()
    }
  })

  it.each([
    [['--ticket', 'hive1x', '--join-code', '5-a-b'], /cannot be used together/],
    [['--join-code', 'five-a-b'], /--join-code "five-a-b": a code starts with a number/],
    [['--join-code', '5-a-b', '--wormhole-relay', 'http://x'], /expected a ws:\/\/ or wss:\/\/ URL/],
  ])('usage: join %j', async (args, message) => {
    const peer = runHive(['join', 'p', ...args])
    expect(await peer.exited).toBe(2)
    expect(peer.stderr).toMatch(message)
  })

  it('a bad HIVE_WORMHOLE_RELAY does not affect a share without --wormhole', async () => {
    const hub = runHive(['share', page.address, '-', '-', 'plain', '--ipv4-addr', '127.0.0.1:0', '--ephemeral', '--json'], { env: { HIVE_WORMHOLE_RELAY: 'not a url' } })
    await hub.waitEvent('hub_ready')
    const bad = runHive(['share', page.address, '-', '-', 'coded', '--ipv4-addr', '127.0.0.1:0', '--ephemeral', '--wormhole'], { env: { HIVE_WORMHOLE_RELAY: 'not a url' } })
    expect(await bad.exited).toBe(2)
    expect(bad.stderr).toMatch(/--wormhole-relay "not a url": not a URL/)
  })

  it('reads the relay from HIVE_WORMHOLE_RELAY', async () => {
    const peer = runHive(['join', 'p', '--join-code', '913-unused-code', '--join-timeout', '1'], { env: { HIVE_WORMHOLE_RELAY: mailbox.url } })
    expect(await peer.exited).toBe(18)
    expect(peer.stderr).toContain(`from ${mailbox.url}`)
  })
})
