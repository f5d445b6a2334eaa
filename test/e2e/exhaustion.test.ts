import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import { connectHub } from '../../src/peer/connect.js'
import { decodeTicket } from '../../src/protocol/ticket.js'
import { QuicDialer } from '../../src/transport/index.js'
import { httpGet, tcpConnect } from '../helpers/clients.js'
import { killAll, startHub, startPeer } from '../helpers/hive.js'
import { startPageServer } from '../helpers/services.js'
import { hubPort } from '../helpers/tickets.js'

/** What anyone who can send UDP to a hub, ticket or not, can make it spend. */
let page: Awaited<ReturnType<typeof startPageServer>>
const floods = new Set<ChildProcess>()

beforeAll(async () => {
  page = await startPageServer()
})
afterEach(async () => {
  for (const f of floods) f.kill('SIGKILL')
  floods.clear()
  await killAll()
})
afterAll(async () => {
  await page?.close()
})

function flood(...args: string[]): { child: ChildProcess; report: Promise<Record<string, number>> } {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'helpers', 'quic-flood.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  floods.add(child)
  const report = new Promise<Record<string, number>>((resolve, reject) => {
    child.stdout!.once('data', (c: Buffer) => resolve(JSON.parse(c.toString())))
    child.once('error', (err) => reject(new Error(`cannot start the QUIC flood: ${err.message}`)))
  })
  return { child, report }
}

function peakRss(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
}

/** A join as a peer makes it (dial, hello, welcome), timed from the test process. */
async function timedJoin(ticket: string): Promise<number> {
  const dialer = await QuicDialer.create(await ephemeralIdentity())
  const started = performance.now()
  try {
    const { link } = await connectHub({ quic: dialer }, decodeTicket(ticket), 'timed-peer', 10_000, pino({ level: 'silent' }))
    const ms = performance.now() - started
    link.close()
    return ms
  } finally {
    dialer.close()
  }
}

describe('handshakes that never finish', () => {
  it('with one junk handshake per second arriving, every legitimate join completes in under 1 s', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    const junk = flood('junk', String(hubPort(ticket)), '1', '30')
    await junk.report
    // Let junk pile up to its steady state: each holds an accept for QUIC's 15 s idle timeout.
    await new Promise((r) => setTimeout(r, 16_000))
    const times: number[] = []
    for (let i = 0; i < 10; i++) {
      times.push(await timedJoin(ticket))
      await new Promise((r) => setTimeout(r, 500))
    }
    console.log(`[figures] joins during 1 junk handshake/s: ${times.map((t) => t.toFixed(0)).join(', ')} ms`)
    for (const t of times) expect(t).toBeLessThan(1000)
  }, 60_000)
})

describe('a burst of unauthenticated connections', () => {
  it('2000 at once raise peak RSS by less than 64 MiB, and a ticket holder joins and is served during and after', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'])
    const pid = hub.child.pid!
    await new Promise((r) => setTimeout(r, 500))
    const before = peakRss(pid)
    const burst = flood('burst', String(hubPort(ticket)), '2000', '15000')
    // A ticket holder joins while the burst is under way. Its handshake waits in line with the
    // burst's (2 to 5 s here, over 10 s on a loaded CI machine): what counts is that it gets in.
    await new Promise((r) => setTimeout(r, 300))
    const during = await startPeer(ticket, 'during-burst', ['--connect-timeout', '40'])
    expect((await httpGet(during.ports.frontend!, '/')).status).toBe(200)
    const result = await burst.report
    const after = await startPeer(ticket, 'after-burst')
    expect((await httpGet(after.ports.frontend!, '/')).status).toBe(200)
    expect((await httpGet(during.ports.frontend!, '/')).status).toBe(200)
    const grew = peakRss(pid) - before
    console.log(`[figures] 2000-connection burst (${result.ok} handshakes completed, ${result.failed} failed): hub peak RSS +${(grew / 1048576).toFixed(1)} MiB; during-burst join took ${during.readyMs} ms`)
    expect(grew).toBeLessThan(64 * 1024 * 1024)
    expect(hub.child.exitCode).toBeNull()
  }, 90_000)
})

describe('one peer cannot starve another', () => {
  it('a peer holding its --max-streams leaves a second peer served with 0 failures and near-normal latency', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'], ['--max-streams', '64'])
    const greedy = await startPeer(ticket, 'greedy')
    const other = await startPeer(ticket, 'other')
    const requests = async (n: number): Promise<{ failures: number; p50: number; p99: number }> => {
      const times: number[] = []
      let failures = 0
      for (let i = 0; i < n; i++) {
        const res = await httpGet(other.ports.frontend!, `/n/${i}`).catch(() => null)
        if (res?.status === 200) times.push(res.ms)
        else failures++
      }
      times.sort((a, b) => a - b)
      const at = (q: number): number => times[Math.floor(q * (times.length - 1))] ?? Infinity
      return { failures, p50: at(0.5), p99: at(0.99) }
    }
    const baseline = await requests(100)
    // 100 open connections through one peer: 64 get streams, the rest wait for one to close.
    const held = await Promise.all(Array.from({ length: 100 }, () => tcpConnect(greedy.ports.frontend!)))
    for (const s of held) {
      s.on('error', () => undefined)
      s.write('GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\n')
    }
    const answered = (): number => held.filter((s) => s.bytesRead > 0).length
    await expect.poll(answered, { timeout: 10_000 }).toBe(64)
    const during = await requests(100)
    console.log(`[figures] beside a peer at its 64 streams: p50 ${during.p50.toFixed(2)} ms, p99 ${during.p99.toFixed(2)} ms (alone ${baseline.p50.toFixed(2)} and ${baseline.p99.toFixed(2)} ms), ${during.failures} failures`)
    // A starved peer's requests would wait for the greedy one's streams, which never close
    // here: seconds, then failures. p99 of 100 is their second-slowest, which one pause of a
    // loaded CI machine decides, so its slack is wide; p50 watches the typical request.
    expect(during.failures).toBe(0)
    expect(during.p50).toBeLessThan(2 * baseline.p50 + 5)
    expect(during.p99).toBeLessThan(2 * baseline.p99 + 100)
    // The waiting connections go through as others close: they wait, they do not fail.
    expect(answered()).toBe(64)
    const served = held.filter((s) => s.bytesRead > 0)
    const waiting = held.filter((s) => s.bytesRead === 0)
    const goneThrough = (): number => waiting.filter((s) => s.bytesRead > 0).length
    // A few closes first: quinn hands stream credit back only in batches of more than an
    // eighth of its limit, so waiting on QUIC alone, these 5 would free nobody, ever.
    for (const s of served.slice(0, 5)) s.destroy()
    await expect.poll(goneThrough, { timeout: 10_000 }).toBe(5)
    for (const s of served.slice(5, 40)) s.destroy()
    await expect.poll(goneThrough, { timeout: 10_000 }).toBe(36)
    for (const s of held) s.destroy()
    expect(hub.child.exitCode).toBeNull()
  }, 60_000)
})
