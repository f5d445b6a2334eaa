import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { tcpConnect } from '../helpers/clients.js'
import { killAll, startHub, startPeer } from '../helpers/hive.js'
import { startPageServer } from '../helpers/services.js'
import { hubPort, via } from '../helpers/tickets.js'
import { startUdpProxy, type UdpProxy } from '../helpers/udp-proxy.js'

/** What a new connection costs across a slow link: the header and the client's first bytes travel together. */
let page: Awaited<ReturnType<typeof startPageServer>>
let proxy: UdpProxy | undefined

beforeAll(async () => {
  page = await startPageServer()
})
afterEach(async () => {
  proxy?.close()
  proxy = undefined
  await killAll()
})
afterAll(async () => {
  await page?.close()
})

/** From connect to the first byte of the answer, for a request sent as soon as the connection is up. */
async function firstByteMs(port: number): Promise<number> {
  const started = performance.now()
  const socket = await tcpConnect(port)
  const first = new Promise<number>((resolve, reject) => {
    socket.once('data', () => resolve(performance.now() - started))
    socket.once('error', reject)
  })
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const ms = await first
  socket.destroy()
  return ms
}

describe('one round trip per new connection', () => {
  it('a request on a fresh connection costs one round trip across a 200 ms link, not two', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    proxy = await startUdpProxy(hubPort(ticket))
    const { ports } = await startPeer(via(ticket, proxy.address))
    proxy.impair({ delayMs: 100 })
    const times: number[] = []
    for (let i = 0; i < 9; i++) times.push(await firstByteMs(ports.frontend!))
    times.sort((a, b) => a - b)
    const median = times[4]!
    console.log(`[figures] fresh connection to first byte across a 200 ms RTT link: median ${median.toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(', ')})`)
    // One round trip is 200 ms, two are 400: the bound sits halfway, which leaves a loaded
    // machine 100 ms for its own share of each of the median's requests.
    expect(median).toBeGreaterThanOrEqual(200)
    expect(median).toBeLessThan(300)
  }, 60_000)
})
