import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { httpGet } from '../helpers/clients.js'
import { killAll, runHive, startHub, type HiveProcess } from '../helpers/hive.js'
import { rawHub, type RawHub } from '../helpers/raw-hub.js'
import { rawFrame, rawPeer } from '../helpers/raw-peer.js'
import { startPageServer } from '../helpers/services.js'
import { resign } from '../helpers/tickets.js'

/** The built peer against a hand-written hub, and the built hub against hand-written peers. */
let page: Awaited<ReturnType<typeof startPageServer>>
let hub: RawHub | undefined
beforeAll(async () => {
  page = await startPageServer()
})
afterEach(async () => {
  hub?.close()
  hub = undefined
  await killAll()
})
afterAll(async () => {
  await page?.close()
})

function join(ticket: string, extra: string[] = []): HiveProcess {
  return runHive(['join', 'p', '--ticket', ticket, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json', ...extra])
}

describe('a hub that breaks the protocol', () => {
  it.each([
    ['garbage', Buffer.from('\u0000\u0005hello')],
    ['a frame longer than the protocol allows', (() => {
      const b = Buffer.alloc(2 + 8000, 0x7b)
      b.writeUInt16BE(8000, 0)
      return b
    })()],
    ['a message that is not an answer to hello', rawFrame({ type: 'abort', stream: 4 })],
  ])('an answer of %s to the hello exits 13 (protocol violation), not 4 (unreachable)', async (_name, answer) => {
    hub = await rawHub()
    const peer = join(hub.ticket)
    const { control } = await hub.nextPeer()
    await control.write(answer)
    expect(await peer.exited).toBe(13)
    const last = peer.stderr.trim().split('\n').pop()!
    expect(last).toMatch(/^hive: hub `raw-hub` (broke the protocol|answered the hello)/)
    expect(peer.stderr).not.toMatch(/\n\s+at /)
  })

  it('a version 1 hub, which answers a version 2 hello with a bye, is joined again in version 1', async () => {
    hub = await rawHub()
    const peer = join(hub.ticket)
    const first = await hub.nextPeer()
    expect(JSON.parse(first.hello.toString())).toMatchObject({ type: 'hello', version: 2 })
    // What a version 1 hub says to a hello it cannot parse.
    await first.control.write(rawFrame({ type: 'bye', reason: 'refused' }))
    await first.control.finish()
    // The peer, having read the bye, closes this link itself. (Closing it here at once raced the
    // bye: a close can overtake stream data still in flight, and the peer then saw a hub that
    // closed without a word, and tried version 2 again.)
    await first.link.closed
    const second = await hub.nextPeer()
    expect(JSON.parse(second.hello.toString())).toEqual({ type: 'hello', version: 1, token: expect.any(String), peer: 'p', alpn: 'HIVEMIND/1.0.0' })
    await second.control.write(rawFrame({ type: 'welcome', hub: 'raw-hub' }))
    await peer.waitEvent('join_ready')
  })
})

describe('a flood of bad hellos', () => {
  it('wrong-token hellos are reported once, then summed up, in the terminal and in JSON', async () => {
    const { hub: built, ticket } = await startHub([page.address, '-', '-'])
    const forged = resign(ticket, { token: new Uint8Array(32).fill(9) })
    const hello = rawFrame({ type: 'hello', version: 2, token: Buffer.alloc(32, 9).toString('base64url'), peer: 'guesser', alpn: 'HIVEMIND/1.0.0' })
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const p = await rawPeer(forged)
          await p.send(hello).catch(() => undefined)
          await p.link.closed
          p.close()
        }),
      )
    }
    const refusedLines = built.stderr.split('\n').filter((l) => l.startsWith('! refused'))
    expect(refusedLines).toHaveLength(1)
    expect(built.events.filter((e) => e.event === 'peer_refused')).toHaveLength(1)
    // The rest are counted, and the count is reported when the 10 s window closes.
    const summary = await built.waitEvent('refusals', 15_000)
    expect(summary).toMatchObject({ kind: 'token', host: '127.0.0.1', count: 119, window_s: 10 })
    await expect.poll(() => built.stderr).toMatch(/! refused 119 more hellos with a wrong token from 127\.0\.0\.1 in the last 10 s/)
    // Ticket holders were never affected.
    const ok = runHive(['join', 'ok', '--ticket', ticket, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '-', '--ws-addr', '-', '--json'])
    const ready = await ok.waitEvent('join_ready')
    const port = Number(String((ready.services as Record<string, string>).frontend).split(':').pop())
    expect((await httpGet(port, '/')).status).toBe(200)
  }, 60_000)
})
