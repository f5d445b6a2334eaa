import { createConnection } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { httpDownloadSha, httpGet } from '../helpers/clients.js'
import { killAll, runHive, startHub, startPeer } from '../helpers/hive.js'
import { freeTcpPort } from '../helpers/mailbox.js'
import { sha256, startBackend, startPageServer } from '../helpers/services.js'
import { hubPort, via } from '../helpers/tickets.js'
import { startUdpProxy, type UdpProxy } from '../helpers/udp-proxy.js'

/** The tunnel on a bad path: a UDP relay between peer and hub that loses, delays and cuts packets. */
let page: Awaited<ReturnType<typeof startPageServer>>
let backend: Awaited<ReturnType<typeof startBackend>>
let proxy: UdpProxy | undefined

beforeAll(async () => {
  ;[page, backend] = await Promise.all([startPageServer(), startBackend()])
})
afterEach(async () => {
  proxy?.close()
  proxy = undefined
  await killAll()
})
afterAll(async () => {
  await Promise.all([page?.close(), backend?.close()])
})

async function impairedTunnel(): Promise<{ ports: { frontend?: number; backend?: number }; proxy: UdpProxy; peer: Awaited<ReturnType<typeof startPeer>>['peer'] }> {
  const { ticket } = await startHub([page.address, backend.address, '-'])
  proxy = await startUdpProxy(hubPort(ticket))
  const { peer, ports } = await startPeer(via(ticket, proxy.address))
  return { ports, proxy, peer }
}

describe('faults on the path', () => {
  it('a 64 MiB download keeps its sha256 at 5% loss each way', async () => {
    const { ports, proxy } = await impairedTunnel()
    proxy.impair({ loss: 0.05 })
    const result = await httpDownloadSha(ports.backend!, '/download')
    expect(result.size).toBe(backend.body.length)
    expect(result.sha).toBe(backend.bodySha)
    console.log(`[figures] 64 MiB at 5% loss: ${result.mbps.toFixed(1)} MB/s; proxy ${JSON.stringify(proxy.stats())}`)
  }, 120_000)

  it('on a bad path (2% loss, 25 ms delay, 5 ms jitter that reorders, 1% duplication, each way) a download is slow but completes intact', async () => {
    const { ports, proxy } = await impairedTunnel()
    proxy.impair({ loss: 0.02, delayMs: 25, jitterMs: 5, duplicate: 0.01 })
    const size = 1024 * 1024
    const result = await httpDownloadSha(ports.backend!, `/download/${size}`)
    expect(result.size).toBe(size)
    expect(result.sha).toBe(sha256(backend.body.subarray(0, size)))
    // QUIC's Cubic in the native layer takes reordering for loss: expect well under 1 MB/s (README, Limits).
    console.log(`[figures] 1 MiB on the bad path: ${result.mbps.toFixed(2)} MB/s; proxy ${JSON.stringify(proxy.stats())}`)
  }, 120_000)

  // After an outage quinn's retransmission backoff, and a hub blocked by its congestion window (it sends not even
  // ACKs then), can keep the link silent for up to twice the outage: the peer must not give up on it meanwhile.
  it('a 6 s blackout during a download is survived, and the download completes intact', { timeout: 60_000 }, async () => {
    const { ports, proxy, peer } = await impairedTunnel()
    let cut = false
    const download = httpDownloadSha(ports.backend!, '/download', (bytes) => {
      if (!cut && bytes > 8 * 1024 * 1024) {
        cut = true
        proxy.blackout()
        setTimeout(() => proxy.restore(), 6000)
      }
    })
    const result = await download
    expect(cut).toBe(true)
    expect(result.sha).toBe(backend.bodySha)
    expect(peer.child.exitCode).toBeNull()
    // The same link carried on: the peer did not replace it (which would have reset the download).
    expect(peer.events.filter((e) => e.event === 'reconnected' && e.resumed === false)).toEqual([])
    expect((await httpGet(ports.frontend!, '/')).status).toBe(200)
  })
})

describe('a peer that is still joining', () => {
  it('holds a client that connects before the hub link is up, and serves it once joined', async () => {
    const { ticket } = await startHub([page.address, '-', '-'])
    proxy = await startUdpProxy(hubPort(ticket))
    // A slow path makes joining take a while: about 2 s of round trips.
    proxy.impair({ delayMs: 150 })
    const port = await freeTcpPort()
    const peer = runHive(['join', 'early', '--ticket', via(ticket, proxy.address), '--frontend-addr', `127.0.0.1:${port}`, '--backend-addr', '-', '--ws-addr', '-', '--json'])
    // Connect the moment the port opens, well before the peer is ready.
    for (;;) {
      const open = await new Promise<boolean>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)))
        s.on('error', () => resolve(false))
      })
      if (open) break
      await new Promise((r) => setTimeout(r, 5))
    }
    const request = httpGet(port, '/')
    expect(peer.events.find((e) => e.event === 'join_ready')).toBeUndefined()
    expect((await request).status).toBe(200)
    await peer.waitEvent('join_ready')
  })
})
